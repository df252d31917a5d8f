//! Writes into the record that must not be lost: a closed file's hash into the hearing's log,
//! what the room reports (a recording gap or fault, an input that stalled or resumed), and once
//! the room stops the transcription of the participants' tracks. Each
//! is kept in the database's outbox first, then done; a write that fails (the database
//! restarting, a pool timeout) stays there and a drainer does it later, with backoff, across
//! restarts. Doing a write deletes its outbox entry in the same transaction, so it happens once.
use std::time::Duration;

use chrono::{DateTime, Utc};
use hearing_core::app::App;
use hearing_core::domain::{EventPayload, HearingId};
use hearing_core::records::{MediaFile, OutboxItem};
use transcriber::worker::JobSpec;

/// A closed file's hash, for the hearing's log (payload: the `MediaFile`).
pub const MEDIA_CLOSED: &str = "media_closed";
/// A hearing's transcription job, to queue (payload: the `JobSpec`).
pub const TRANSCRIBE: &str = "transcribe";
/// A recorder's event for the hearing's log: a gap, a fault, a stall or a resumption
/// (payload: the `EventPayload`).
pub const RECORDER_EVENT: &str = "recorder_event";

/// How often the drainer looks for writes that are due.
pub const DRAIN_EVERY: Duration = Duration::from_secs(2);

/// How long after its `attempts`-th failure a write is tried again: 2, 4, 8 … s, at most 5 min.
pub fn backoff(attempts: i64) -> Duration {
    Duration::from_secs(1u64 << attempts.clamp(1, 8)).min(Duration::from_secs(300))
}

/// Logs `file`'s hash in `hearing`'s log, through the outbox.
pub async fn media_closed(app: &App, hearing: HearingId, file: &MediaFile) {
    let payload = serde_json::to_string(file).expect("media files serialise");
    keep_and_do(app, MEDIA_CLOSED, hearing, payload).await;
}

/// Logs `event` (a recording gap or fault, a stall or resumption) in `hearing`'s log, through
/// the outbox.
pub async fn recorder_event(app: &App, hearing: HearingId, event: &EventPayload) {
    let payload = serde_json::to_string(event).expect("events serialise");
    keep_and_do(app, RECORDER_EVENT, hearing, payload).await;
}

/// Queues `hearing`'s transcription, through the outbox.
pub async fn transcription(app: &App, hearing: HearingId, spec: &JobSpec) {
    if spec.tracks.is_empty() {
        return;
    }
    let payload = serde_json::to_string(spec).expect("job specs serialise");
    keep_and_do(app, TRANSCRIBE, hearing, payload).await;
}

/// Keeps the write (retrying until the database takes it: the room's manifest holds the
/// hash meanwhile), then tries it once; a failure is left to the drainer.
async fn keep_and_do(app: &App, kind: &str, hearing: HearingId, payload: String) {
    let mut tries = 0;
    let id = loop {
        match app.system().add_outbox(kind, hearing, &payload).await {
            Ok(id) => break id,
            Err(e) => {
                tries += 1;
                tracing::error!(hearing = %hearing, kind, error = %e, "keeping a write for the record: retrying");
                tokio::time::sleep(backoff(tries).min(Duration::from_secs(30))).await;
            }
        }
    };
    let item = OutboxItem {
        id,
        kind: kind.to_string(),
        hearing_id: hearing,
        payload,
        attempts: 0,
        last_error: None,
    };
    attempt(app, &item, Utc::now()).await;
}

/// Does every write due at `now`; returns how many were done.
pub async fn drain_once(app: &App, now: DateTime<Utc>) -> hearing_core::error::Result<usize> {
    let mut done = 0;
    for item in app.system().due_outbox(now, 100).await? {
        done += usize::from(attempt(app, &item, now).await);
    }
    Ok(done)
}

/// Drains the outbox every [`DRAIN_EVERY`] while `alive` does.
pub fn spawn_drainer<T: Send + Sync + 'static>(app: App, alive: std::sync::Weak<T>) {
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        return;
    };
    rt.spawn(async move {
        loop {
            tokio::time::sleep(DRAIN_EVERY).await;
            if alive.strong_count() == 0 {
                return;
            }
            if let Err(e) = drain_once(&app, Utc::now()).await {
                tracing::warn!(error = %e, "draining the outbox");
            }
        }
    });
}

/// Tries `item` once; on failure it is due again after [`backoff`]. Whether it was done.
async fn attempt(app: &App, item: &OutboxItem, now: DateTime<Utc>) -> bool {
    let result = match item.kind.as_str() {
        MEDIA_CLOSED => match serde_json::from_str::<MediaFile>(&item.payload) {
            Ok(f) => app
                .record_media_from_outbox(item.hearing_id, &[f], &item.id)
                .await
                .map(|_| ()),
            Err(e) => Err(hearing_core::error::CoreError::Internal(format!(
                "outbox entry {}: {e}",
                item.id
            ))),
        },
        RECORDER_EVENT => match serde_json::from_str::<EventPayload>(&item.payload) {
            Ok(event) => app
                .record_event_from_outbox(item.hearing_id, event, &item.id)
                .await
                .map(|_| ()),
            Err(e) => Err(hearing_core::error::CoreError::Internal(format!(
                "outbox entry {}: {e}",
                item.id
            ))),
        },
        TRANSCRIBE => app
            .system()
            .enqueue_job_from_outbox(
                &item.id,
                transcriber::worker::JOB_KIND,
                item.hearing_id,
                &item.payload,
                transcriber::worker::MAX_ATTEMPTS,
            )
            .await
            .map(|job| {
                if let Some(job) = job {
                    tracing::info!(hearing = %item.hearing_id, %job, "transcription queued");
                }
            }),
        other => Err(hearing_core::error::CoreError::Internal(format!(
            "outbox entry {}: unknown kind {other}",
            item.id
        ))),
    };
    let Err(e) = result else {
        return true;
    };
    let next = now + chrono::Duration::from_std(backoff(item.attempts + 1)).unwrap_or_default();
    tracing::error!(hearing = %item.hearing_id, kind = %item.kind, attempts = item.attempts + 1, error = %e, "a write for the record failed: retried later");
    if let Err(e) = app
        .system()
        .retry_outbox(&item.id, next, &e.to_string())
        .await
    {
        tracing::error!(hearing = %item.hearing_id, error = %e, "noting a failed write for the record");
    }
    false
}
