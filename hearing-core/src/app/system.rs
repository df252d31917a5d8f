//! The server's own machinery, behind `App::system()`: what the media node, the transcription
//! worker, demo seeding and the tests need that is no caller's use case — the log read without
//! a permission check, job and media leases, settings. Nothing here checks who is asking: only
//! the server itself holds a `System`, never a request handler on a client's behalf.
use chrono::{DateTime, Duration, Utc};

use crate::domain::transcript::Transcript;
use crate::domain::*;
use crate::error::Result;
use crate::records::{Job, LeaseOutcome, MediaLease, OutboxItem};
use crate::store::Store;

#[derive(Clone)]
pub struct System {
    store: Store,
}

impl System {
    pub(crate) fn new(store: Store) -> Self {
        System { store }
    }

    /// A hearing, its last seq and its head hash.
    pub async fn hearing(&self, id: HearingId) -> Result<Option<(Hearing, u64, String)>> {
        self.store.hearing(id).await
    }

    /// Up to `limit` events of hearing `id` after `after_seq`, in order.
    pub async fn events_after(
        &self,
        id: HearingId,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>> {
        self.store.events_after(id, after_seq, limit).await
    }

    /// Recomputes the hearing's hash chain from the database.
    pub async fn verify_log(&self, id: HearingId) -> Result<Verification> {
        self.store.verify_log(id).await
    }

    /// The hearing's stored transcript, if the worker has stored one.
    pub async fn transcript(&self, hearing: HearingId) -> Result<Option<Transcript>> {
        self.store.transcript(hearing).await
    }

    // ---- jobs ----

    /// Queues a job of `kind` for `hearing`, tried at most `max_attempts` times; returns its id.
    pub async fn enqueue_job(
        &self,
        kind: &str,
        hearing: HearingId,
        spec: &str,
        max_attempts: i64,
    ) -> Result<String> {
        self.store
            .enqueue_job(kind, hearing, spec, max_attempts)
            .await
    }

    /// Claims the oldest runnable job of `kind` for `owner`, leased for `lease`.
    pub async fn claim_job(&self, kind: &str, owner: &str, lease: Duration) -> Result<Option<Job>> {
        self.store.claim_job(kind, owner, lease).await
    }

    /// Extends a running job's lease; `false` when the lease is no longer `owner`'s.
    pub async fn renew_lease(
        &self,
        job_id: &str,
        owner: &str,
        until: DateTime<Utc>,
    ) -> Result<bool> {
        self.store.renew_lease(job_id, owner, until).await
    }

    /// Marks a job failed for this attempt; it is queued again while attempts remain.
    pub async fn fail_job(&self, job_id: &str, owner: &str, error: &str) -> Result<()> {
        self.store.fail_job(job_id, owner, error).await
    }

    pub async fn job(&self, job_id: &str) -> Result<Option<Job>> {
        self.store.job(job_id).await
    }

    // ---- media leases ----

    /// Takes (or renews) `hearing`'s media lease for `node` for `ttl`, unless another node holds
    /// an unexpired one.
    pub async fn acquire_media_lease(
        &self,
        hearing: HearingId,
        node: &str,
        address: &str,
        ttl: Duration,
    ) -> Result<LeaseOutcome> {
        self.store
            .acquire_media_lease(hearing, node, address, ttl)
            .await
    }

    /// The lease on `hearing`'s media, if any (expired or not).
    pub async fn media_lease(&self, hearing: HearingId) -> Result<Option<MediaLease>> {
        self.store.media_lease(hearing).await
    }

    /// Gives up `node`'s lease on `hearing` (the room stopped).
    pub async fn release_media_lease(&self, hearing: HearingId, node: &str) -> Result<()> {
        self.store.release_media_lease(hearing, node).await
    }

    // ---- settings ----

    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        self.store.setting(key).await
    }

    /// Sets `key` if it has no value yet; returns whether this call set it.
    pub async fn set_setting_once(&self, key: &str, value: &str) -> Result<bool> {
        self.store.set_setting_once(key, value).await
    }

    // ---- the outbox: writes into the record retried until they succeed ----

    /// Keeps a write of `kind` for `hearing` (`payload`: its input as JSON) until it is done.
    pub async fn add_outbox(
        &self,
        kind: &str,
        hearing: HearingId,
        payload: &str,
    ) -> Result<String> {
        self.store.add_outbox(kind, hearing, payload).await
    }

    /// The kept writes due at `now`, oldest first, at most `limit`.
    pub async fn due_outbox(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<OutboxItem>> {
        self.store.due_outbox(now, limit).await
    }

    /// A kept write failed with `error`: it is tried again at `next_at`.
    pub async fn retry_outbox(&self, id: &str, next_at: DateTime<Utc>, error: &str) -> Result<()> {
        self.store.retry_outbox(id, next_at, error).await
    }

    /// Does kept write `outbox_id`, a job of `kind` to queue, and forgets it, at once; `None`
    /// when it was done already.
    pub async fn enqueue_job_from_outbox(
        &self,
        outbox_id: &str,
        kind: &str,
        hearing: HearingId,
        spec: &str,
        max_attempts: i64,
    ) -> Result<Option<String>> {
        self.store
            .enqueue_job_from_outbox(outbox_id, kind, hearing, spec, max_attempts)
            .await
    }

    /// The database itself, for tools and tests that inspect (or deliberately tamper with) it
    /// underneath the application.
    pub fn pool(&self) -> &sqlx::AnyPool {
        self.store.pool()
    }
}
