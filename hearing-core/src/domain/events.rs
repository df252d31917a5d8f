//! The hearing event log: typed payloads, and the hash chain that makes any edit, deletion or
//! reordering of stored events detectable offline.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ids::{CaseId, HearingId, ParticipantId, UserId};
use super::model::{named_enum, HearingState, Presence, Role};

/// The previous hash of a hearing's first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who caused an event: a participant of the hearing, a staff user, or both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub participant_id: Option<ParticipantId>,
    pub user_id: Option<UserId>,
    pub role: Role,
    pub display_name: String,
}

/// What happened. Stored as JSON (`kind` is the variant's tag); the stored text is what is hashed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventPayload {
    Scheduled {
        case_id: CaseId,
        title: String,
        starts_at_ms: i64,
        ends_at_ms: i64,
        presiding_judge_id: UserId,
    },
    Invited {
        participant_id: ParticipantId,
        display_name: String,
        role: Role,
    },
    InviteRedeemed {
        participant_id: ParticipantId,
    },
    /// The court issued a new invitation code for the participant: the old one stopped working.
    InviteReissued {
        participant_id: ParticipantId,
    },
    StateChanged {
        from: HearingState,
        to: HearingState,
        reason: Option<String>,
    },
    Joined {
        participant_id: ParticipantId,
        presence: Presence,
    },
    Left {
        participant_id: ParticipantId,
        reason: Option<String>,
        disconnected: bool,
    },
    Admitted {
        participant_id: ParticipantId,
    },
    StoodDown {
        participant_id: ParticipantId,
        reason: Option<String>,
    },
    Removed {
        participant_id: ParticipantId,
        reason: String,
    },
    Muted {
        participant_id: ParticipantId,
        muted: bool,
    },
    Note {
        text: String,
    },
    Denied {
        action: String,
        reason: String,
        target_participant_id: Option<ParticipantId>,
    },
    /// A recording segment or a participant's track was closed and hashed.
    MediaClosed {
        kind: MediaKind,
        /// Relative to the hearing's media directory.
        file: String,
        participant_id: Option<ParticipantId>,
        sha256: String,
        size: u64,
        duration_ms: u64,
        start_ms: u64,
        end_ms: u64,
    },
    /// Nothing was recorded between these hearing-clock times (off the record, a crash).
    RecordingGap {
        from_ms: u64,
        to_ms: u64,
        reason: String,
        /// The participant whose own track has the gap (muted, for instance); `None`: the
        /// whole recording. Absent from events stored before it existed, so their hashes hold.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        participant_id: Option<ParticipantId>,
    },
    /// No media has arrived from a present participant who had been sending since `since_ms`
    /// (hearing clock): the recording holds silence for them until [`EventPayload::MediaResumed`].
    /// `participant_id` is `None` for staff without a participant entry; `media_id` is the
    /// media node's name for the input either way.
    MediaStalled {
        participant_id: Option<ParticipantId>,
        media_id: String,
        since_ms: u64,
    },
    /// Media arrives again, from `at_ms`, from an input reported stalled.
    MediaResumed {
        participant_id: Option<ParticipantId>,
        media_id: String,
        at_ms: u64,
    },
    /// A live caption: what a participant said on the record, transcribed as the hearing goes.
    Caption {
        participant_id: Option<ParticipantId>,
        speaker: String,
        start_ms: u64,
        end_ms: u64,
        text: String,
    },
    /// The machine transcript was stored on the case record; `sha256` is over its JSON.
    TranscriptStored {
        transcript_id: String,
        sha256: String,
        segments: u64,
    },
    /// Writing recording file `file` failed at `at_ms` (hearing clock): disk full, an I/O or
    /// encoder error. Logged at once, so the presiding judge sees it while the hearing goes
    /// on; the media lost is a [`EventPayload::RecordingGap`] once a new file takes over.
    /// `participant_id`: the file was that participant's own track (else the mixed recording).
    RecordingFault {
        file: String,
        at_ms: u64,
        message: String,
        participant_id: Option<ParticipantId>,
    },
    /// The court locked the room (`locked`) or unlocked it: while locked, a participant who
    /// was never admitted cannot join.
    RoomLocked {
        locked: bool,
        reason: Option<String>,
    },
    /// The court's message to everyone in the waiting room.
    WaitingRoomMessage {
        text: String,
    },
}

named_enum!(
    /// What a closed media file holds.
    MediaKind {
        /// A closed file of the mixed recording.
        Segment = "segment",
        /// A participant's own audio track.
        Track = "track",
    }
);

impl EventPayload {
    /// The stored `kind` column: the serde tag.
    pub fn kind(&self) -> &'static str {
        match self {
            EventPayload::Scheduled { .. } => "scheduled",
            EventPayload::Invited { .. } => "invited",
            EventPayload::InviteRedeemed { .. } => "invite_redeemed",
            EventPayload::InviteReissued { .. } => "invite_reissued",
            EventPayload::StateChanged { .. } => "state_changed",
            EventPayload::Joined { .. } => "joined",
            EventPayload::Left { .. } => "left",
            EventPayload::Admitted { .. } => "admitted",
            EventPayload::StoodDown { .. } => "stood_down",
            EventPayload::Removed { .. } => "removed",
            EventPayload::Muted { .. } => "muted",
            EventPayload::Note { .. } => "note",
            EventPayload::Denied { .. } => "denied",
            EventPayload::MediaClosed { .. } => "media_closed",
            EventPayload::RecordingGap { .. } => "recording_gap",
            EventPayload::MediaStalled { .. } => "media_stalled",
            EventPayload::MediaResumed { .. } => "media_resumed",
            EventPayload::TranscriptStored { .. } => "transcript_stored",
            EventPayload::Caption { .. } => "caption",
            EventPayload::RecordingFault { .. } => "recording_fault",
            EventPayload::RoomLocked { .. } => "room_locked",
            EventPayload::WaitingRoomMessage { .. } => "waiting_room_message",
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("event payloads always serialize")
    }
}

/// An event as stored: every column that the hash covers, in the form it is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    pub hearing_id: HearingId,
    pub seq: u64,
    pub clock_ms: i64,
    pub at: DateTime<Utc>,
    pub actor_participant_id: String,
    pub actor_user_id: String,
    pub actor_role: String,
    pub actor_name: String,
    pub kind: String,
    pub payload: String,
    pub prev_hash: String,
    pub hash: String,
}

impl StoredEvent {
    /// Seals a new event onto the chain after `prev_hash`.
    #[allow(clippy::too_many_arguments)]
    pub fn seal(
        hearing_id: HearingId,
        seq: u64,
        clock_ms: i64,
        at: DateTime<Utc>,
        actor: &Actor,
        payload: &EventPayload,
        prev_hash: &str,
    ) -> Self {
        let mut e = StoredEvent {
            hearing_id,
            seq,
            clock_ms,
            at,
            actor_participant_id: actor
                .participant_id
                .map(|p| p.to_string())
                .unwrap_or_default(),
            actor_user_id: actor.user_id.map(|u| u.to_string()).unwrap_or_default(),
            actor_role: actor.role.as_str().to_string(),
            actor_name: actor.display_name.clone(),
            kind: payload.kind().to_string(),
            payload: payload.to_json(),
            prev_hash: prev_hash.to_string(),
            hash: String::new(),
        };
        e.hash = e.compute_hash();
        e
    }

    /// SHA-256 over the canonical encoding: a version tag, then every stored column as a
    /// length-prefixed byte string, so no two different events encode alike.
    pub fn compute_hash(&self) -> String {
        let at_ms = self.at.timestamp_millis().to_string();
        let hearing_id = self.hearing_id.to_string();
        let seq = self.seq.to_string();
        let clock_ms = self.clock_ms.to_string();
        let fields: [&[u8]; 12] = [
            b"opencourt.event.v1",
            hearing_id.as_bytes(),
            seq.as_bytes(),
            clock_ms.as_bytes(),
            at_ms.as_bytes(),
            self.actor_participant_id.as_bytes(),
            self.actor_user_id.as_bytes(),
            self.actor_role.as_bytes(),
            self.actor_name.as_bytes(),
            self.kind.as_bytes(),
            self.payload.as_bytes(),
            self.prev_hash.as_bytes(),
        ];
        let mut h = Sha256::new();
        for f in fields {
            h.update((f.len() as u64).to_be_bytes());
            h.update(f);
        }
        hex::encode(h.finalize())
    }

    pub fn payload(&self) -> Option<EventPayload> {
        serde_json::from_str(&self.payload).ok()
    }
}

/// The outcome of recomputing a hearing's chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verification {
    pub ok: bool,
    pub events_checked: u64,
    /// The first sequence number that is missing, altered or out of place.
    pub first_bad_seq: Option<u64>,
    /// The hash of the last event that verified.
    pub head_hash: String,
    pub problem: Option<String>,
}

/// Recomputes the chain of `events` (ordered as stored, by seq) against the head the hearing
/// row records (`expected_last_seq`, `expected_head`), which catches a deleted last event.
pub fn verify_chain(
    events: &[StoredEvent],
    expected_last_seq: u64,
    expected_head: &str,
) -> Verification {
    let mut prev = GENESIS_HASH.to_string();
    let bad = |seq: u64, head: &str, checked: u64, why: String| Verification {
        ok: false,
        events_checked: checked,
        first_bad_seq: Some(seq),
        head_hash: head.to_string(),
        problem: Some(why),
    };
    for (i, e) in events.iter().enumerate() {
        let want = i as u64 + 1;
        let checked = i as u64;
        if e.seq != want {
            return bad(
                want,
                &prev,
                checked,
                format!("event {want} is missing (found {} in its place)", e.seq),
            );
        }
        if e.prev_hash != prev {
            return bad(
                want,
                &prev,
                checked,
                format!("event {want} does not follow event {}", want - 1),
            );
        }
        if e.compute_hash() != e.hash {
            return bad(
                want,
                &prev,
                checked,
                format!("event {want} was altered: its hash does not match its contents"),
            );
        }
        if e.payload().is_none() {
            return bad(
                want,
                &prev,
                checked,
                format!("event {want} has an unreadable payload"),
            );
        }
        prev = e.hash.clone();
    }
    let n = events.len() as u64;
    if n != expected_last_seq {
        // Missing events at the end, or events beyond the recorded head: the first bad one is
        // the first past the shorter of the two.
        return bad(
            n.min(expected_last_seq) + 1,
            &prev,
            n,
            format!("the log ends at event {n} but the hearing records {expected_last_seq} events"),
        );
    }
    if prev != expected_head {
        // As many events as recorded, each following the one before, but not ending where the
        // hearing says: the chain was rewritten, and the last event is not the recorded one.
        return bad(
            n,
            &prev,
            n,
            format!("event {n} is not the last event the hearing records"),
        );
    }
    Verification {
        ok: true,
        events_checked: n,
        first_bad_seq: None,
        head_hash: prev,
        problem: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u64) -> Vec<StoredEvent> {
        let h = HearingId::new();
        let actor = Actor {
            participant_id: None,
            user_id: Some(UserId::new()),
            role: Role::Clerk,
            display_name: "Clerk Li".into(),
        };
        let mut prev = GENESIS_HASH.to_string();
        (1..=n)
            .map(|seq| {
                let e = StoredEvent::seal(
                    h,
                    seq,
                    seq as i64 * 10,
                    Utc::now(),
                    &actor,
                    &EventPayload::Note {
                        text: format!("note {seq}"),
                    },
                    &prev,
                );
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    fn head(c: &[StoredEvent]) -> (u64, String) {
        (c.len() as u64, c.last().unwrap().hash.clone())
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let c = chain(5);
        let (n, h) = head(&c);
        let v = verify_chain(&c, n, &h);
        assert!(v.ok, "{v:?}");
        assert_eq!(v.events_checked, 5);
        assert_eq!(v.head_hash, h);
    }

    #[test]
    fn edits_deletions_and_reorderings_name_the_first_bad_seq() {
        let c = chain(5);
        let (n, h) = head(&c);

        let mut edited = c.clone();
        edited[2].payload = edited[2].payload.replace("note 3", "note X");
        assert_eq!(verify_chain(&edited, n, &h).first_bad_seq, Some(3));

        let mut deleted = c.clone();
        deleted.remove(1);
        assert_eq!(verify_chain(&deleted, n, &h).first_bad_seq, Some(2));

        let mut truncated = c.clone();
        truncated.pop();
        assert_eq!(verify_chain(&truncated, n, &h).first_bad_seq, Some(5));

        let mut swapped = c.clone();
        swapped.swap(1, 3);
        (swapped[1].seq, swapped[3].seq) = (2, 4);
        assert_eq!(verify_chain(&swapped, n, &h).first_bad_seq, Some(2));

        let mut clock = c.clone();
        clock[3].clock_ms += 1;
        assert_eq!(verify_chain(&clock, n, &h).first_bad_seq, Some(4));
    }

    /// Events beyond the recorded head, and a chain rewritten from its last event (each hash
    /// recomputed), are named at an event that exists: they used to be named one past the end
    /// (a rewritten last event as event 6 of 5, two extra events as the second of them).
    #[test]
    fn a_log_that_does_not_end_at_the_recorded_head_names_an_event_of_it() {
        let c = chain(7);
        let (_, h5) = head(&c[..5]);
        let v = verify_chain(&c, 5, &h5);
        assert_eq!(
            (v.ok, v.first_bad_seq, v.problem.as_deref()),
            (
                false,
                Some(6),
                Some("the log ends at event 7 but the hearing records 5 events")
            )
        );

        let mut rewritten = c[..5].to_vec();
        rewritten[4] = StoredEvent::seal(
            rewritten[4].hearing_id,
            5,
            rewritten[4].clock_ms,
            rewritten[4].at,
            &Actor {
                participant_id: None,
                user_id: None,
                role: Role::System,
                display_name: "forger".into(),
            },
            &EventPayload::Note {
                text: "note 5, rewritten".into(),
            },
            &rewritten[3].hash,
        );
        let v = verify_chain(&rewritten, 5, &h5);
        assert_eq!(
            (
                v.ok,
                v.first_bad_seq,
                v.events_checked,
                v.problem.as_deref()
            ),
            (
                false,
                Some(5),
                5,
                Some("event 5 is not the last event the hearing records")
            )
        );
    }

    /// The stored `kind` column is the payload's serde tag, for every kind of event.
    #[test]
    fn kind_is_the_serde_tag() {
        let p = ParticipantId::new();
        let all = [
            EventPayload::Scheduled {
                case_id: CaseId::new(),
                title: "t".into(),
                starts_at_ms: 0,
                ends_at_ms: 1,
                presiding_judge_id: UserId::new(),
            },
            EventPayload::Invited {
                participant_id: p,
                display_name: "d".into(),
                role: Role::Witness,
            },
            EventPayload::InviteRedeemed { participant_id: p },
            EventPayload::InviteReissued { participant_id: p },
            EventPayload::StateChanged {
                from: HearingState::Open,
                to: HearingState::OnRecord,
                reason: None,
            },
            EventPayload::Joined {
                participant_id: p,
                presence: Presence::Waiting,
            },
            EventPayload::Left {
                participant_id: p,
                reason: None,
                disconnected: true,
            },
            EventPayload::Admitted { participant_id: p },
            EventPayload::StoodDown {
                participant_id: p,
                reason: None,
            },
            EventPayload::Removed {
                participant_id: p,
                reason: "r".into(),
            },
            EventPayload::Muted {
                participant_id: p,
                muted: true,
            },
            EventPayload::Note { text: "n".into() },
            EventPayload::Denied {
                action: "a".into(),
                reason: "r".into(),
                target_participant_id: None,
            },
            EventPayload::MediaClosed {
                kind: MediaKind::Track,
                file: "f".into(),
                participant_id: Some(p),
                sha256: "00".into(),
                size: 1,
                duration_ms: 1,
                start_ms: 0,
                end_ms: 1,
            },
            EventPayload::RecordingGap {
                from_ms: 0,
                to_ms: 1,
                reason: "r".into(),
                participant_id: None,
            },
            EventPayload::RecordingGap {
                from_ms: 0,
                to_ms: 1,
                reason: "r".into(),
                participant_id: Some(p),
            },
            EventPayload::RecordingFault {
                file: "f".into(),
                at_ms: 1,
                message: "m".into(),
                participant_id: Some(p),
            },
            EventPayload::Caption {
                participant_id: None,
                speaker: "s".into(),
                start_ms: 0,
                end_ms: 1,
                text: "t".into(),
            },
            EventPayload::TranscriptStored {
                transcript_id: "t".into(),
                sha256: "00".into(),
                segments: 1,
            },
            EventPayload::RoomLocked {
                locked: true,
                reason: Some("r".into()),
            },
            EventPayload::WaitingRoomMessage { text: "t".into() },
        ];
        for e in all {
            let json: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
            assert_eq!(json["type"], e.kind(), "{e:?}");
        }
    }
}
