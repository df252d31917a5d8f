//! The application: every use case of the control plane, on domain types. The gRPC layer
//! authenticates, converts and calls in here; so do the CLI, the demo seeding and the tests.
//! `App` is the only door to the store. One file per concern:
//!
//! - `accounts`: staff accounts, login, redeeming invitations, resolving a bearer token;
//! - `access`: who may read what, and logging denials;
//! - `cases`: creating, reading and listing cases, and a case's whole record;
//! - `hearings`: scheduling, reading and listing hearings, and running hearing commands;
//! - `watch`: following a hearing's log live;
//! - `tail`: one reader of the log per watched hearing, for what other nodes append;
//! - `limits`: the operator's limits against abuse (sign-in backoff, hashing, watch streams);
//! - `transcripts`: reading, searching and storing transcripts;
//! - `record`: what the media node writes to the record (files, gaps, captions) and verifying it;
//! - `media`: who may connect their media to a hearing;
//! - `system`: the server's own machinery (`App::system()`).
use std::time::Duration;

use chrono::Utc;

use crate::domain::machine::Rejection;
use crate::domain::*;
use crate::error::{CoreError, Result};
use crate::hub::Hub;
use crate::store::{Decision, SideWrite, Store};

mod access;
mod accounts;
mod cases;
mod hearings;
mod limits;
mod media;
mod record;
mod system;
mod tail;
mod transcripts;
mod watch;

pub use accounts::WhoAmI;
pub use cases::HearingRecord;
pub use hearings::HearingPlan;
pub use limits::Limits;
pub use media::{mute_reason, MediaPeer};
pub use system::System;
pub use transcripts::{snippet, TRANSCRIBE_JOB};

pub const STAFF_TOKEN_TTL: Duration = Duration::from_secs(12 * 3600);
pub const PARTICIPANT_TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);
/// How often a watched hearing's log is read for events another node appended (once per
/// hearing, by its tail; this node's own appends reach watchers at once through the hub).
pub const WATCH_POLL: Duration = Duration::from_secs(2);
/// How often each watcher reads the log itself, as a safety net should the tail's relay be
/// missed (a lagging channel is caught up at once anyway).
pub const WATCHER_FALLBACK_POLL: Duration = Duration::from_secs(300);

/// An invitation code is redeemable until its hearing's scheduled end plus this grace (a hearing
/// that runs late, a witness called at the end of the day).
pub const INVITE_GRACE: Duration = Duration::from_secs(12 * 3600);

/// How long a participant whose media connection failed or closed has to offer a new one
/// before the server records that they left, disconnected (a closed tab must not stay admitted).
pub const RECONNECT_GRACE: Duration = Duration::from_secs(30);

/// How many denials outside a hearing's log (the access log) one caller may cause per minute;
/// further ones are only counted (`opencourt_denials_unlogged_total`).
pub const DENIAL_ROWS_PER_MINUTE: u32 = 60;

/// Who is calling, as established from their bearer token.
#[derive(Clone, Debug)]
pub enum Caller {
    Staff(User),
    /// An invited participant: bound to one hearing, participant and role.
    Participant {
        hearing_id: HearingId,
        participant_id: ParticipantId,
        role: Role,
    },
}

impl Caller {
    pub fn role(&self) -> Role {
        match self {
            Caller::Staff(u) => u.role,
            Caller::Participant { role, .. } => *role,
        }
    }

    fn ids(&self) -> (Option<UserId>, Option<ParticipantId>, Role) {
        match self {
            Caller::Staff(u) => (Some(u.id), None, u.role),
            Caller::Participant {
                participant_id,
                role,
                ..
            } => (None, Some(*participant_id), *role),
        }
    }
}

#[derive(Clone)]
pub struct App {
    store: Store,
    system: System,
    pub hub: Hub,
    staff_token_ttl: Duration,
    participant_token_ttl: Duration,
    /// Each watcher's own fallback read of the log.
    watch_poll: Duration,
    denials: access::DenialLimiter,
    invite_grace: Duration,
    reconnect_grace: Duration,
    /// Each watched hearing's tail read (`tail`).
    tail_poll: Duration,
    tails: tail::Tails,
    guards: std::sync::Arc<limits::Guards>,
}

fn rejection(r: Rejection) -> CoreError {
    match r {
        Rejection::Denied { reason, .. } => CoreError::PermissionDenied(reason),
        Rejection::Precondition(m) => CoreError::FailedPrecondition(m),
        Rejection::NotFound(m) => CoreError::NotFound(m),
    }
}

impl App {
    /// Opens the database at `url` (`sqlite://PATH`, created if missing, or `postgres://…`),
    /// runs its migrations, and the application on it: how binaries and tests start one
    /// without reaching for the store.
    pub async fn connect(url: &str) -> Result<App> {
        Ok(App::new(Store::connect(url).await?))
    }

    pub fn new(store: Store) -> Self {
        App {
            system: System::new(store.clone()),
            store,
            hub: Hub::default(),
            staff_token_ttl: STAFF_TOKEN_TTL,
            participant_token_ttl: PARTICIPANT_TOKEN_TTL,
            denials: access::DenialLimiter::new(DENIAL_ROWS_PER_MINUTE),
            invite_grace: INVITE_GRACE,
            reconnect_grace: RECONNECT_GRACE,
            watch_poll: WATCHER_FALLBACK_POLL,
            tail_poll: WATCH_POLL,
            tails: tail::Tails::default(),
            guards: std::sync::Arc::new(limits::Guards::new(Limits::default())),
        }
    }

    /// The server's own machinery (leases, jobs, settings, the log without a permission
    /// check): for the media node, the worker, demo seeding and tests, never for a client.
    pub fn system(&self) -> &System {
        &self.system
    }

    /// Tokens issued from now on last `staff` (login) and `participant` (redeemed invitation)
    /// instead of the defaults; a zero lifetime issues tokens that have already expired.
    pub fn with_token_ttls(mut self, staff: Duration, participant: Duration) -> Self {
        self.staff_token_ttl = staff;
        self.participant_token_ttl = participant;
        self
    }

    /// Invitation codes stay redeemable until their hearing's scheduled end plus `grace`
    /// instead of `INVITE_GRACE`.
    pub fn with_invite_grace(mut self, grace: Duration) -> Self {
        self.invite_grace = grace;
        self
    }

    /// A participant whose media connection failed or closed is recorded as gone after
    /// `grace` without a new offer, instead of `RECONNECT_GRACE`.
    pub fn with_reconnect_grace(mut self, grace: Duration) -> Self {
        self.reconnect_grace = grace;
        self
    }

    pub fn reconnect_grace(&self) -> Duration {
        self.reconnect_grace
    }

    /// At most `n` access-log rows per caller per minute instead of `DENIAL_ROWS_PER_MINUTE`.
    pub fn with_denial_rows_per_minute(mut self, n: u32) -> Self {
        self.denials = access::DenialLimiter::new(n);
        self
    }

    /// A watched hearing's log is read every `poll` instead of `WATCH_POLL` (a long one leaves
    /// the hub as the only way an event reaches a watcher, so tests can tell the two apart).
    pub fn with_watch_poll(mut self, poll: Duration) -> Self {
        self.tail_poll = poll;
        self.watch_poll = poll.max(WATCHER_FALLBACK_POLL);
        self
    }

    /// Appends `events` (with `side` writes, in the same transaction) to hearing `id`'s log as
    /// `actor`, leaving the hearing as it is, and hands them to this node's watchers.
    #[tracing::instrument(name = "hearing", skip_all, fields(hearing = %id, actor = %actor.display_name))]
    pub(super) async fn append_events(
        &self,
        id: HearingId,
        actor: Actor,
        events: Vec<EventPayload>,
        side: Vec<SideWrite>,
    ) -> Result<Vec<StoredEvent>> {
        let (_, _, stored) = self
            .store
            .append(id, |h| {
                Ok(Decision {
                    now: Utc::now(),
                    actor: actor.clone(),
                    hearing: h.clone(),
                    events: events.clone(),
                    side: side.clone(),
                    value: (),
                })
            })
            .await?;
        self.hub.publish(id, &stored);
        Ok(stored)
    }
}

fn actor_of_participant(p: &Participant) -> Actor {
    Actor {
        participant_id: Some(p.id),
        user_id: p.user_id,
        role: p.role,
        display_name: p.display_name.to_string(),
    }
}

/// OpenCourt itself as an event's actor (the recorder, the transcription worker).
pub fn system_actor(name: &str) -> Actor {
    Actor {
        participant_id: None,
        user_id: None,
        role: Role::System,
        display_name: name.to_string(),
    }
}
