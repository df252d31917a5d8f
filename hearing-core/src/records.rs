//! Plain records the application hands out that are neither domain rules nor storage rows: a
//! page of a list, a closed media file on the case record, a durable job, a search hit, a media
//! lease. They live here rather than in `store` so that `App`'s API names no storage type.
use chrono::{DateTime, Utc};

use crate::domain::events::MediaKind;
use crate::domain::{CaseId, HearingId, ParticipantId, UserId};

/// One page of a list, and where the next one starts (`None` on the last page).
pub struct ListPage<T> {
    pub items: Vec<T>,
    pub next: Option<(i64, String)>,
}

/// Which hearings a docket lists, and in which order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HearingFilter {
    pub case_id: Option<CaseId>,
    pub judge: Option<UserId>,
    /// Hearings that start at or after this time.
    pub starts_after: Option<DateTime<Utc>>,
    /// Hearings that start before this time.
    pub starts_before: Option<DateTime<Utc>>,
    /// Latest start first (else earliest first); ties by id, in the same direction.
    pub newest_first: bool,
}

/// A closed media file as the case record lists it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MediaFile {
    pub file: String,
    pub kind: MediaKind,
    pub participant_id: Option<ParticipantId>,
    pub sha256: String,
    pub size: u64,
    pub duration_ms: u64,
    pub start_ms: u64,
    pub end_ms: u64,
}

/// A durable job (for now: transcribing a hearing) and who holds its lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    pub id: String,
    pub kind: String,
    pub hearing_id: HearingId,
    /// The job's input as JSON (for transcription: tracks, language).
    pub spec: String,
    pub state: String,
    pub attempts: i64,
    pub lease_owner: Option<String>,
    /// Why its last attempt failed (kept when it failed for good).
    pub error: Option<String>,
}

/// A segment found by full-text search.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchHit {
    pub hearing_id: HearingId,
    pub case_id: CaseId,
    pub case_number: String,
    pub start_ms: u64,
    pub end_ms: u64,
    pub speaker: String,
    pub text: String,
}

/// Who holds a hearing's media lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaLease {
    pub node: String,
    /// Where clients reach that node.
    pub address: String,
    /// Milliseconds since the epoch.
    pub expires_at: i64,
}

/// The outcome of trying to take a lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeaseOutcome {
    /// This node holds it now; `from` is the node whose expired lease it took over, if any.
    Held { from: Option<MediaLease> },
    /// Another node holds it, and its lease has not expired.
    Elsewhere(MediaLease),
}

/// A write into the record kept in the outbox until it succeeds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxItem {
    pub id: String,
    /// What to write (the server that delivers it knows the kinds).
    pub kind: String,
    pub hearing_id: HearingId,
    /// The write's input as JSON.
    pub payload: String,
    /// Failed tries so far.
    pub attempts: i64,
    pub last_error: Option<String>,
}
