//! The outbox: writes into the record that must not be lost when they fail (a closed file's
//! hash into the log, a hearing's transcription job). A row is added first; the write that
//! carries it out deletes the row in its own transaction, so it happens once, and a row still
//! there is tried again at `next_at`, across restarts.
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{ms, rows, Store};
use crate::domain::HearingId;
use crate::error::Result;
use crate::records::OutboxItem;

fn item(row: &sqlx::any::AnyRow) -> Result<OutboxItem> {
    Ok(OutboxItem {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        hearing_id: HearingId(rows::uuid(row, "hearing_id")?),
        payload: row.try_get("payload")?,
        attempts: row.try_get("attempts")?,
        last_error: row.try_get("last_error")?,
    })
}

impl Store {
    /// Adds a write of `kind` for `hearing`, due now; returns its id.
    pub async fn add_outbox(
        &self,
        kind: &str,
        hearing: HearingId,
        payload: &str,
    ) -> Result<String> {
        let _w = self.write_guard().await;
        let id = uuid::Uuid::now_v7().to_string();
        let now = ms(Utc::now());
        sqlx::query(
            "INSERT INTO outbox (id, kind, hearing_id, payload, attempts, next_at, last_error, created_at) \
             VALUES ($1, $2, $3, $4, 0, $5, NULL, $5)",
        )
        .bind(&id)
        .bind(kind)
        .bind(hearing.to_string())
        .bind(payload)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// The writes due at `now` (oldest first), at most `limit`.
    pub async fn due_outbox(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<OutboxItem>> {
        let rows = sqlx::query(
            "SELECT * FROM outbox WHERE next_at <= $1 ORDER BY created_at, id LIMIT $2",
        )
        .bind(ms(now))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(item).collect()
    }

    /// A write that failed with `error`: tried again at `next_at`.
    pub async fn retry_outbox(&self, id: &str, next_at: DateTime<Utc>, error: &str) -> Result<()> {
        let _w = self.write_guard().await;
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, next_at = $2, last_error = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(ms(next_at))
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Queues a job of `kind` for `hearing` and deletes outbox row `outbox_id` in one
    /// transaction: the job is queued once however often this is retried. Returns the job's
    /// id (none: the row was gone, the job was queued already).
    pub async fn enqueue_job_from_outbox(
        &self,
        outbox_id: &str,
        kind: &str,
        hearing: HearingId,
        spec: &str,
        max_attempts: i64,
    ) -> Result<Option<String>> {
        let _w = self.write_guard().await;
        let mut tx = self.begin_write().await?;
        let gone = sqlx::query("DELETE FROM outbox WHERE id = $1")
            .bind(outbox_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 0;
        if gone {
            return Ok(None);
        }
        let id = super::jobs::insert_job(&mut *tx, kind, hearing, spec, max_attempts).await?;
        tx.commit().await?;
        Ok(Some(id))
    }
}

/// Deletes outbox row `id` inside a hearing's append (its write is that append); fails the
/// whole append if the row is gone (the write was done already).
pub(super) async fn take(tx: &mut sqlx::Transaction<'_, sqlx::Any>, id: &str) -> Result<()> {
    let n = sqlx::query("DELETE FROM outbox WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(crate::error::CoreError::FailedPrecondition(format!(
            "outbox entry {id} was delivered already"
        )));
    }
    Ok(())
}
