//! Durable jobs and the transcripts they produce. A job is claimed with a lease (one statement:
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite writers take turns), its lease is renewed while
//! it runs, and a job whose worker died is claimed again when the lease runs out. Completing a
//! job stores its result in the same transaction that marks it done, and only while the lease is
//! still the worker's: a retried job never duplicates a transcript.
use chrono::{DateTime, Duration, Utc};
use sqlx::Row;

use super::{ms, rows, Backend, Store};
use crate::domain::*;
use crate::error::{CoreError, Result};
use crate::records::Job;

fn job(row: &sqlx::any::AnyRow) -> Result<Job> {
    Ok(Job {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        hearing_id: HearingId(rows::uuid(row, "hearing_id")?),
        spec: row.try_get("spec")?,
        state: row.try_get("state")?,
        attempts: row.try_get("attempts")?,
        lease_owner: row.try_get("lease_owner")?,
        error: row.try_get("error")?,
    })
}

impl Store {
    pub async fn enqueue_job(
        &self,
        kind: &str,
        hearing: HearingId,
        spec: &str,
        max_attempts: i64,
    ) -> Result<String> {
        let _w = self.write_guard().await;
        insert_job(&self.pool, kind, hearing, spec, max_attempts).await
    }

    /// Claims the oldest runnable job of `kind` (queued, or running with an expired lease).
    /// A job whose worker stopped during its last attempt (running, lease expired, no attempts
    /// left) is marked failed first, with the reason, so it does not stay `running` forever.
    pub async fn claim_job(&self, kind: &str, owner: &str, lease: Duration) -> Result<Option<Job>> {
        let _w = self.write_guard().await;
        let now = Utc::now();
        sqlx::query(
            "UPDATE jobs SET state = 'failed', lease_owner = NULL, lease_expires_at = NULL, \
             error = 'its worker stopped during the last attempt (the lease ran out)', updated_at = $2 \
             WHERE kind = $1 AND state = 'running' AND lease_expires_at < $2 AND attempts >= max_attempts",
        )
        .bind(kind)
        .bind(ms(now))
        .execute(&self.pool)
        .await?;
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let row = sqlx::query(&format!(
            "UPDATE jobs SET state = 'running', lease_owner = $1, lease_expires_at = $2, \
             attempts = attempts + 1, updated_at = $3 \
             WHERE id = (SELECT id FROM jobs WHERE kind = $4 AND attempts < max_attempts \
               AND (state = 'queued' OR (state = 'running' AND lease_expires_at < $3)) \
               ORDER BY created_at, id LIMIT 1{lock}) \
             RETURNING *"
        ))
        .bind(owner)
        .bind(ms(now + lease))
        .bind(ms(now))
        .bind(kind)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| job(&r)).transpose()
    }

    /// Extends a running job's lease; `false` when the lease is no longer this worker's.
    pub async fn renew_lease(
        &self,
        job_id: &str,
        owner: &str,
        until: DateTime<Utc>,
    ) -> Result<bool> {
        let _w = self.write_guard().await;
        let r = sqlx::query(
            "UPDATE jobs SET lease_expires_at = $3, updated_at = $4 WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
        )
        .bind(job_id)
        .bind(owner)
        .bind(ms(until))
        .bind(ms(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Marks a job failed for this attempt; it is queued again while attempts remain.
    pub async fn fail_job(&self, job_id: &str, owner: &str, error: &str) -> Result<()> {
        let _w = self.write_guard().await;
        sqlx::query(
            "UPDATE jobs SET state = CASE WHEN attempts < max_attempts THEN 'queued' ELSE 'failed' END, \
             lease_owner = NULL, lease_expires_at = NULL, error = $3, updated_at = $4 \
             WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
        )
        .bind(job_id)
        .bind(owner)
        .bind(error)
        .bind(ms(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn job(&self, job_id: &str) -> Result<Option<Job>> {
        let row = sqlx::query("SELECT * FROM jobs WHERE id = $1")
            .bind(job_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| job(&r)).transpose()
    }

    /// The hearing's latest job of `kind`, if it has one.
    pub async fn latest_job(&self, hearing: HearingId, kind: &str) -> Result<Option<Job>> {
        let row = sqlx::query(
            "SELECT * FROM jobs WHERE hearing_id = $1 AND kind = $2 \
             ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .bind(hearing.to_string())
        .bind(kind)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| job(&r)).transpose()
    }
}

pub(super) async fn complete_job(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    job_id: &str,
    owner: &str,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE jobs SET state = 'done', lease_owner = NULL, lease_expires_at = NULL, error = NULL, updated_at = $3 \
         WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
    )
    .bind(job_id)
    .bind(owner)
    .bind(ms(Utc::now()))
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(CoreError::FailedPrecondition(format!(
            "job {job_id} is no longer leased to {owner}"
        )));
    }
    Ok(())
}

/// Inserts a queued job of `kind` for `hearing`; returns its id.
pub(super) async fn insert_job<'e>(
    db: impl sqlx::Executor<'e, Database = sqlx::Any>,
    kind: &str,
    hearing: HearingId,
    spec: &str,
    max_attempts: i64,
) -> Result<String> {
    let id = uuid::Uuid::now_v7().to_string();
    let now = ms(Utc::now());
    sqlx::query(
        "INSERT INTO jobs (id, kind, hearing_id, spec, state, attempts, max_attempts, lease_owner, \
         lease_expires_at, error, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'queued', 0, $5, NULL, NULL, NULL, $6, $6)",
    )
    .bind(&id)
    .bind(kind)
    .bind(hearing.to_string())
    .bind(spec)
    .bind(max_attempts)
    .bind(now)
    .execute(db)
    .await?;
    Ok(id)
}
