//! Media leases: which node runs a hearing's room. Taking a lease is one statement (an upsert
//! that only overwrites a row that is this node's or has expired), so two nodes racing for the
//! same hearing cannot both win.
use chrono::{Duration, Utc};
use sqlx::Row;

use super::{ms, Store};
use crate::domain::HearingId;
use crate::error::Result;
use crate::records::{LeaseOutcome, MediaLease};

impl Store {
    /// Takes (or renews) `hearing`'s media lease for `node` for `ttl`, unless another node holds
    /// an unexpired one.
    pub async fn acquire_media_lease(
        &self,
        hearing: HearingId,
        node: &str,
        address: &str,
        ttl: Duration,
    ) -> Result<LeaseOutcome> {
        let _w = self.write_guard().await;
        let now = Utc::now();
        let before = self.media_lease(hearing).await?;
        let won = sqlx::query(
            "INSERT INTO media_leases (hearing_id, node, address, expires_at, acquired_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (hearing_id) DO UPDATE SET node = $2, address = $3, expires_at = $4, \
               acquired_at = CASE WHEN media_leases.node = $2 THEN media_leases.acquired_at ELSE $5 END \
             WHERE media_leases.node = $2 OR media_leases.expires_at < $5 \
             RETURNING node",
        )
        .bind(hearing.to_string())
        .bind(node)
        .bind(address)
        .bind(ms(now + ttl))
        .bind(ms(now))
        .fetch_optional(&self.pool)
        .await?;
        if won.is_some() {
            let from = before.filter(|b| b.node != node);
            return Ok(LeaseOutcome::Held { from });
        }
        let holder = self.media_lease(hearing).await?;
        Ok(match holder {
            Some(l) => LeaseOutcome::Elsewhere(l),
            // released in between: the next attempt takes it
            None => LeaseOutcome::Elsewhere(MediaLease {
                node: String::new(),
                address: String::new(),
                expires_at: 0,
            }),
        })
    }

    /// The lease on `hearing`'s media, if any (expired or not).
    pub async fn media_lease(&self, hearing: HearingId) -> Result<Option<MediaLease>> {
        let row =
            sqlx::query("SELECT node, address, expires_at FROM media_leases WHERE hearing_id = $1")
                .bind(hearing.to_string())
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|r| MediaLease {
            node: r.get("node"),
            address: r.get("address"),
            expires_at: r.get("expires_at"),
        }))
    }

    /// Gives up `node`'s lease on `hearing` (the room stopped).
    pub async fn release_media_lease(&self, hearing: HearingId, node: &str) -> Result<()> {
        let _w = self.write_guard().await;
        sqlx::query("DELETE FROM media_leases WHERE hearing_id = $1 AND node = $2")
            .bind(hearing.to_string())
            .bind(node)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
