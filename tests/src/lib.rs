//! Helpers for the end-to-end tests, all re-exported here: the `TestApp` and its scenes
//! (`app`), the databases and `both_dbs!` (`db`), client calls (`client`), the real binary as a
//! process (`process`), test audio (`audio`), a WebRTC bot offering its connection (`media`).
mod app;
mod audio;
mod client;
mod db;
mod media;
mod process;
pub mod speech;

pub use app::*;
pub use audio::*;
pub use client::*;
pub use db::*;
pub use media::*;
pub use process::*;

/// Waits until `cond` holds, checking every 50 ms; panics naming `what` after `patience`. The
/// patience is generous (a loaded machine is slow) and is never what a test asserts.
pub async fn wait_until<F, Fut>(what: &str, patience: std::time::Duration, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let waited = tokio::time::timeout(patience, async {
        while !cond().await {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "waited {patience:?} for {what}");
}

/// Each recording gap among `events` (a hearing's log): (whose track, `None`: the whole mixed
/// recording; from ms; to ms; reason).
pub fn recording_gaps(
    events: &[hearing_core::domain::StoredEvent],
) -> Vec<(
    Option<hearing_core::domain::ParticipantId>,
    u64,
    u64,
    String,
)> {
    events
        .iter()
        .filter_map(|e| match e.payload() {
            Some(hearing_core::domain::EventPayload::RecordingGap {
                from_ms,
                to_ms,
                reason,
                participant_id,
            }) => Some((participant_id, from_ms, to_ms, reason)),
            _ => None,
        })
        .collect()
}

/// The gaps of the whole (mixed) recording among `events`: (from ms, to ms, reason).
pub fn mix_gaps(events: &[hearing_core::domain::StoredEvent]) -> Vec<(u64, u64, String)> {
    recording_gaps(events)
        .into_iter()
        .filter_map(|(p, from, to, reason)| p.is_none().then_some((from, to, reason)))
        .collect()
}
