//! Closed media files on the case record: written with the event that announces them.
use chrono::Utc;
use sqlx::{Any, Row, Transaction};

use super::{ms, rows, Store};
use crate::domain::*;
use crate::error::Result;
use crate::records::MediaFile;

impl Store {
    /// The closed media files on a hearing's record, in hearing-clock order.
    pub async fn media_files(&self, id: HearingId) -> Result<Vec<MediaFile>> {
        let rows =
            sqlx::query("SELECT * FROM media_files WHERE hearing_id = $1 ORDER BY start_ms, file")
                .bind(id.to_string())
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                Ok(MediaFile {
                    file: r.try_get("file")?,
                    kind: rows::media_kind(r, "kind")?,
                    participant_id: rows::opt_uuid(r, "participant_id")?.map(ParticipantId),
                    sha256: r.try_get("sha256")?,
                    size: r.try_get::<i64, _>("size")? as u64,
                    duration_ms: r.try_get::<i64, _>("duration_ms")? as u64,
                    start_ms: r.try_get::<i64, _>("start_ms")? as u64,
                    end_ms: r.try_get::<i64, _>("end_ms")? as u64,
                })
            })
            .collect()
    }
}

pub(super) async fn insert_media(
    tx: &mut Transaction<'_, Any>,
    hearing_id: HearingId,
    media: &MediaFile,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO media_files (hearing_id, file, kind, participant_id, sha256, size, duration_ms, start_ms, end_ms, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(hearing_id.to_string())
    .bind(&media.file)
    .bind(media.kind.as_str())
    .bind(media.participant_id.map(|p| p.to_string()))
    .bind(&media.sha256)
    .bind(media.size as i64)
    .bind(media.duration_ms as i64)
    .bind(media.start_ms as i64)
    .bind(media.end_ms as i64)
    .bind(ms(Utc::now()))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
