//! Settings: keys set once (such as "the demo data is seeded").
use sqlx::Row;

use super::{is_unique_violation, Store};
use crate::error::Result;

impl Store {
    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("value")).transpose()?)
    }

    /// Sets `key` if it has no value yet; returns whether this call set it.
    pub async fn set_setting_once(&self, key: &str, value: &str) -> Result<bool> {
        let _w = self.write_guard().await;
        match sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2)")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}
