//! The application: every use case of the control plane, on domain types. The gRPC layer
//! authenticates, converts and calls in here; so do the CLI, the demo seeding and the tests.
//! `App` is the only door to the store. One file per concern:
//!
//! - `accounts`: staff accounts, login, redeeming invitations, resolving a bearer token;
//! - `access`: who may read what, and logging denials;
//! - `cases`: creating, reading and listing cases, and a case's whole record;
//! - `hearings`: scheduling, reading and listing hearings, and running hearing commands;
//! - `watch`: following a hearing's log live;
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
mod media;
mod record;
mod system;
mod transcripts;
mod watch;

pub use cases::HearingRecord;
pub use media::{mute_reason, MediaPeer};
pub use system::System;
pub use transcripts::{snippet, TRANSCRIBE_JOB};

pub const STAFF_TOKEN_TTL: Duration = Duration::from_secs(12 * 3600);
pub const PARTICIPANT_TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);
/// How often a watcher reads the log for events another node appended (this node's own
/// appends reach it at once through the hub).
pub const WATCH_POLL: Duration = Duration::from_secs(2);

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
    watch_poll: Duration,
}

fn rejection(r: Rejection) -> CoreError {
    match r {
        Rejection::Denied { reason, .. } => CoreError::PermissionDenied(reason),
        Rejection::Precondition(m) => CoreError::FailedPrecondition(m),
        Rejection::NotFound(m) => CoreError::NotFound(m),
    }
}

impl App {
    pub fn new(store: Store) -> Self {
        App {
            system: System::new(store.clone()),
            store,
            hub: Hub::default(),
            staff_token_ttl: STAFF_TOKEN_TTL,
            participant_token_ttl: PARTICIPANT_TOKEN_TTL,
            watch_poll: WATCH_POLL,
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

    /// `WatchHearing` reads the log every `poll` instead of `WATCH_POLL` (a long one leaves the
    /// hub as the only way an event reaches a watcher, so tests can tell the two apart).
    pub fn with_watch_poll(mut self, poll: Duration) -> Self {
        self.watch_poll = poll;
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
