//! The supervisor: follows one hearing's log into its room. [`room_actions`] is the mapping
//! (hearing event → room actions), pure and unit-tested; [`apply`] and [`run`] only do the IO.
//!
//! It never gives up: whatever error reading the log returns (a database restart, a pool
//! timeout), it waits (0.2 s, doubling, at most 5 s) and follows again from the last event it
//! applied, so no switch is missed or applied twice. Meanwhile the room goes on as it was
//! (recording, if it was on the record: nothing is lost). Once the log can be written again, a
//! note from the "media node" in the hearing's log tells the judge for how long commands could
//! not reach the room. A command the room refuses (or fails to carry out, such as saving its
//! manifest when going on the record) is written to the log as a recording gap of no length
//! with the reason, so the judge sees it.
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use hearing_core::app::{mute_reason, App};
use hearing_core::domain::{EventPayload, HearingId, HearingState, Presence};
use opencourt_media::Rooms;

/// What the room does about one event of the hearing's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoomAction {
    /// The peer is in the hearing (true) or in the waiting room, as the log said at `seq`.
    Admit {
        peer: String,
        admitted: bool,
        seq: u64,
    },
    /// The peer is muted or not, as the log said at `seq`.
    Mute {
        peer: String,
        muted: bool,
        seq: u64,
        /// Why, as the cut in their own track is logged.
        reason: &'static str,
    },
    /// Go on or off the record, for this reason.
    Record { on: bool, reason: String },
    /// End the peer's connection; `last` when they leave the room for good (removed).
    ClosePeer {
        peer: String,
        reason: &'static str,
        last: bool,
    },
    /// End every connection and stop the room: the hearing is over, and so is the supervisor.
    CloseHearing { reason: &'static str },
}

/// The room actions event `e` (at log position `seq`, taken by the participant whose id is
/// `actor_participant`, empty for staff without one) calls for, in order. Every event kind is
/// named, so a new one needs a decision here.
pub fn room_actions(e: &EventPayload, seq: u64, actor_participant: &str) -> Vec<RoomAction> {
    use RoomAction::*;
    match e {
        EventPayload::Admitted { participant_id } => vec![Admit {
            peer: participant_id.to_string(),
            admitted: true,
            seq,
        }],
        EventPayload::StoodDown { participant_id, .. } => vec![Admit {
            peer: participant_id.to_string(),
            admitted: false,
            seq,
        }],
        EventPayload::Muted {
            participant_id,
            muted,
        } => vec![Mute {
            peer: participant_id.to_string(),
            muted: *muted,
            seq,
            // muting oneself is private; anyone else's mute is the court's
            reason: mute_reason(actor_participant != participant_id.to_string()),
        }],
        EventPayload::StateChanged { to, reason, .. }
            if matches!(to, HearingState::OnRecord | HearingState::OffRecord) =>
        {
            let on = *to == HearingState::OnRecord;
            let default = if on {
                "on the record"
            } else {
                "off the record"
            };
            vec![Record {
                on,
                reason: reason.clone().unwrap_or_else(|| default.into()),
            }]
        }
        EventPayload::StateChanged { to, .. } if to.is_final() => vec![CloseHearing {
            reason: if *to == HearingState::Adjourned {
                "the hearing was adjourned"
            } else {
                "the hearing was cancelled"
            },
        }],
        // (Re)joining puts them where the hearing has them (waiting, unless the court);
        // leaving takes them out of what is heard and kept at once.
        EventPayload::Joined {
            participant_id,
            presence,
        } => vec![Admit {
            peer: participant_id.to_string(),
            admitted: *presence == Presence::Admitted,
            seq,
        }],
        EventPayload::Left { participant_id, .. } => vec![
            Admit {
                peer: participant_id.to_string(),
                admitted: false,
                seq,
            },
            ClosePeer {
                peer: participant_id.to_string(),
                reason: "left the hearing",
                last: false,
            },
        ],
        EventPayload::Removed { participant_id, .. } => vec![ClosePeer {
            peer: participant_id.to_string(),
            reason: "removed from the hearing",
            last: true,
        }],
        // Opening (the room opens with it, elsewhere) and every other state change.
        EventPayload::StateChanged { .. } => vec![],
        // What the room itself wrote, and what does not change what is heard or kept.
        EventPayload::Scheduled { .. }
        | EventPayload::Invited { .. }
        | EventPayload::InviteRedeemed { .. }
        | EventPayload::InviteReissued { .. }
        | EventPayload::Note { .. }
        | EventPayload::RoomLocked { .. }
        | EventPayload::WaitingRoomMessage { .. }
        | EventPayload::Denied { .. }
        | EventPayload::MediaClosed { .. }
        | EventPayload::RecordingGap { .. }
        | EventPayload::RecordingFault { .. }
        | EventPayload::MediaStalled { .. }
        | EventPayload::MediaResumed { .. }
        | EventPayload::Caption { .. }
        | EventPayload::TranscriptStored { .. } => vec![],
    }
}

/// Carries out one action on hearing `id`'s room (blocking: GStreamer state changes). Returns
/// what the hearing's log must say when the room refused it. Refusals of admission and mute
/// changes the room is in already (after a reconnection took the state) are expected and not
/// returned; any other failure is.
pub fn apply(rooms: &Rooms, id: HearingId, action: RoomAction) -> Option<String> {
    let h = id.0;
    let refused = |what: &str, e: recorder::Error| {
        tracing::error!(hearing = %id, error = %e, what, "the room refused");
        Some(format!("the media room could not {what}: {e}"))
    };
    let expected = |e: &recorder::Error| matches!(e, recorder::Error::Invalid(_));
    match action {
        RoomAction::Admit {
            peer,
            admitted,
            seq,
        } => match rooms.set_admitted(h, &peer, admitted, seq) {
            Err(e) if !expected(&e) => {
                let what = if admitted { "admit" } else { "stand down" };
                refused(&format!("{what} participant {peer}"), e)
            }
            _ => None,
        },
        RoomAction::Mute {
            peer,
            muted,
            seq,
            reason,
        } => match rooms.set_muted(h, &peer, muted, seq, reason) {
            Err(e) if !expected(&e) => {
                let what = if muted { "mute" } else { "unmute" };
                refused(&format!("{what} participant {peer}"), e)
            }
            _ => None,
        },
        RoomAction::Record { on, reason } => match rooms.set_record(h, on, &reason) {
            Err(e) => {
                let what = if on { "go on" } else { "go off" };
                refused(&format!("{what} the record ({reason})"), e)
            }
            Ok(()) => None,
        },
        RoomAction::ClosePeer { peer, reason, last } => {
            rooms.close_peer(h, &peer, reason, last);
            None
        }
        RoomAction::CloseHearing { reason } => {
            rooms.close_hearing(h, reason);
            None
        }
    }
}

/// Waits between attempts to read the log: 0.2 s, doubling, at most 5 s; back to 0.2 s once a
/// read succeeds.
#[derive(Debug)]
pub struct Backoff {
    next: Duration,
}

impl Backoff {
    pub const FIRST: Duration = Duration::from_millis(200);
    pub const MAX: Duration = Duration::from_secs(5);

    pub fn new() -> Self {
        Backoff { next: Self::FIRST }
    }

    /// How long to wait now; the wait after it is twice as long, up to [`Backoff::MAX`].
    pub fn next_wait(&mut self) -> Duration {
        let now = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        now
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

/// Follows hearing `id`'s log after `after_seq` into its room until the hearing ends.
/// `opened` is the hearing clock's zero (for the time of a refusal).
pub async fn run(
    app: App,
    rooms: Rooms,
    id: HearingId,
    after_seq: u64,
    opened: DateTime<Utc>,
    poll: Duration,
) {
    let mut last = after_seq;
    let mut backoff = Backoff::new();
    // since when, and why, the log could not be read
    let mut outage: Option<(DateTime<Utc>, String)> = None;
    loop {
        if let Some((since, error)) = &outage {
            // The note is both the judge's warning and the proof the log is usable again.
            let text = format!(
                "the media node could not read the hearing's log from {} to {} UTC ({error}): \
                 commands taken in between reached the room late; the room went on as it was",
                since.format("%H:%M:%S"),
                Utc::now().format("%H:%M:%S"),
            );
            match app.record_media_notice(id, text).await {
                Ok(_) => outage = None,
                Err(e) => {
                    tracing::warn!(error = %e, "media supervisor: the log is still unavailable");
                    tokio::time::sleep(backoff.next_wait()).await;
                    continue;
                }
            }
        }
        let events = app.follow(id, last, None, poll);
        tokio::pin!(events);
        while let Some(e) = events.next().await {
            let e = match e {
                Ok(e) => e,
                Err(err) => {
                    tracing::error!(error = %err, after_seq = last, "media supervisor: reading the log; following again");
                    outage.get_or_insert_with(|| (Utc::now(), err.to_string()));
                    break;
                }
            };
            backoff = Backoff::new();
            last = e.seq;
            let Some(payload) = e.payload() else { continue };
            let mut end = false;
            for action in room_actions(&payload, e.seq, &e.actor_participant_id) {
                end |= matches!(action, RoomAction::CloseHearing { .. });
                let rooms = rooms.clone();
                let refusal = tokio::task::spawn_blocking(move || apply(&rooms, id, action)).await;
                match refusal {
                    Ok(Some(reason)) => record_refusal(&app, id, opened, reason).await,
                    Ok(None) => {}
                    Err(e) => {
                        tracing::error!(error = %e, "media supervisor task failed")
                    }
                }
            }
            if end {
                return;
            }
        }
        tokio::time::sleep(backoff.next_wait()).await;
    }
}

/// Puts a refused room command in the hearing's log: a recording gap of no length at the
/// moment of the refusal, with the reason.
async fn record_refusal(app: &App, id: HearingId, opened: DateTime<Utc>, reason: String) {
    let at = (Utc::now() - opened).num_milliseconds().max(0) as u64;
    if let Err(e) = app.record_media(id, &[], &[(at, at, reason)]).await {
        tracing::error!(error = %e, "logging a refused room command");
    }
}

#[cfg(test)]
mod tests {
    use hearing_core::domain::{ParticipantId, Role};

    use super::*;
    use RoomAction::*;

    fn pid() -> ParticipantId {
        ParticipantId::parse("p", "0b5c1a36-5d2f-4c1e-9f5e-3f9a2d6b7c80").unwrap()
    }

    fn peer() -> String {
        pid().to_string()
    }

    fn state(from: HearingState, to: HearingState, reason: Option<&str>) -> EventPayload {
        EventPayload::StateChanged {
            from,
            to,
            reason: reason.map(Into::into),
        }
    }

    #[test]
    fn admission_and_stand_down_set_admitted_at_their_seq() {
        assert_eq!(
            room_actions(
                &EventPayload::Admitted {
                    participant_id: pid()
                },
                7,
                ""
            ),
            vec![Admit {
                peer: peer(),
                admitted: true,
                seq: 7
            }]
        );
        assert_eq!(
            room_actions(
                &EventPayload::StoodDown {
                    participant_id: pid(),
                    reason: Some("done".into())
                },
                8,
                ""
            ),
            vec![Admit {
                peer: peer(),
                admitted: false,
                seq: 8
            }]
        );
    }

    #[test]
    fn mute_and_unmute_follow_the_event() {
        for muted in [true, false] {
            assert_eq!(
                room_actions(
                    &EventPayload::Muted {
                        participant_id: pid(),
                        muted
                    },
                    3,
                    ""
                ),
                vec![Mute {
                    peer: peer(),
                    muted,
                    seq: 3,
                    reason: "muted by the court"
                }]
            );
        }
    }

    #[test]
    fn a_participant_who_mutes_themselves_is_cut_for_that_reason() {
        let own = peer();
        assert_eq!(
            room_actions(
                &EventPayload::Muted {
                    participant_id: pid(),
                    muted: true
                },
                4,
                &own
            ),
            vec![Mute {
                peer: peer(),
                muted: true,
                seq: 4,
                reason: "muted themselves"
            }]
        );
    }

    #[test]
    fn going_on_and_off_the_record_switches_the_recording_with_the_reason() {
        use HearingState::*;
        assert_eq!(
            room_actions(&state(Open, OnRecord, None), 1, ""),
            vec![Record {
                on: true,
                reason: "on the record".into()
            }]
        );
        assert_eq!(
            room_actions(&state(OnRecord, OffRecord, Some("lunch")), 2, ""),
            vec![Record {
                on: false,
                reason: "lunch".into()
            }]
        );
        assert_eq!(
            room_actions(&state(OnRecord, OffRecord, None), 2, ""),
            vec![Record {
                on: false,
                reason: "off the record".into()
            }]
        );
        assert_eq!(
            room_actions(&state(OffRecord, OnRecord, Some("back")), 3, ""),
            vec![Record {
                on: true,
                reason: "back".into()
            }]
        );
    }

    #[test]
    fn adjournment_and_cancellation_close_the_hearing() {
        use HearingState::*;
        assert_eq!(
            room_actions(&state(OnRecord, Adjourned, None), 9, ""),
            vec![CloseHearing {
                reason: "the hearing was adjourned"
            }]
        );
        assert_eq!(
            room_actions(&state(Open, Cancelled, Some("ill")), 9, ""),
            vec![CloseHearing {
                reason: "the hearing was cancelled"
            }]
        );
    }

    #[test]
    fn opening_and_scheduling_do_nothing_to_the_room() {
        use HearingState::*;
        assert_eq!(room_actions(&state(Scheduled, Open, None), 1, ""), vec![]);
    }

    #[test]
    fn joining_takes_the_presence_the_hearing_gives() {
        for (presence, admitted) in [
            (Presence::Admitted, true),
            (Presence::Waiting, false),
            (Presence::Invited, false),
        ] {
            assert_eq!(
                room_actions(
                    &EventPayload::Joined {
                        participant_id: pid(),
                        presence
                    },
                    4,
                    ""
                ),
                vec![Admit {
                    peer: peer(),
                    admitted,
                    seq: 4
                }],
                "{presence:?}"
            );
        }
    }

    #[test]
    fn leaving_stands_down_then_ends_the_connection_but_not_the_place() {
        assert_eq!(
            room_actions(
                &EventPayload::Left {
                    participant_id: pid(),
                    reason: None,
                    disconnected: true
                },
                5,
                ""
            ),
            vec![
                Admit {
                    peer: peer(),
                    admitted: false,
                    seq: 5
                },
                ClosePeer {
                    peer: peer(),
                    reason: "left the hearing",
                    last: false
                }
            ]
        );
    }

    #[test]
    fn removal_ends_the_connection_for_good() {
        assert_eq!(
            room_actions(
                &EventPayload::Removed {
                    participant_id: pid(),
                    reason: "disruptive".into()
                },
                6,
                ""
            ),
            vec![ClosePeer {
                peer: peer(),
                reason: "removed from the hearing",
                last: true
            }]
        );
    }

    #[test]
    fn record_keeping_and_paperwork_events_do_nothing_to_the_room() {
        let p = Some(pid());
        for e in [
            EventPayload::Scheduled {
                case_id: hearing_core::domain::CaseId::new(),
                title: "t".into(),
                starts_at_ms: 0,
                ends_at_ms: 1,
                presiding_judge_id: hearing_core::domain::UserId::new(),
            },
            EventPayload::Invited {
                participant_id: pid(),
                display_name: "Ann".into(),
                role: Role::Witness,
            },
            EventPayload::InviteRedeemed {
                participant_id: pid(),
            },
            EventPayload::InviteReissued {
                participant_id: pid(),
            },
            EventPayload::Note { text: "n".into() },
            EventPayload::Denied {
                action: "mute".into(),
                reason: "no".into(),
                target_participant_id: p,
            },
            EventPayload::MediaClosed {
                kind: hearing_core::domain::events::MediaKind::Track,
                file: "f".into(),
                participant_id: p,
                sha256: "s".into(),
                size: 1,
                duration_ms: 1,
                start_ms: 0,
                end_ms: 1,
            },
            EventPayload::RecordingGap {
                from_ms: 0,
                to_ms: 1,
                reason: "r".into(),
                participant_id: p,
            },
            EventPayload::RecordingFault {
                file: "f".into(),
                at_ms: 0,
                message: "m".into(),
                participant_id: p,
            },
            EventPayload::MediaStalled {
                participant_id: p,
                media_id: "m".into(),
                since_ms: 0,
            },
            EventPayload::MediaResumed {
                participant_id: p,
                media_id: "m".into(),
                at_ms: 0,
            },
            EventPayload::Caption {
                participant_id: p,
                speaker: "s".into(),
                start_ms: 0,
                end_ms: 1,
                text: "t".into(),
            },
            EventPayload::TranscriptStored {
                transcript_id: "t".into(),
                sha256: "s".into(),
                segments: 1,
            },
        ] {
            assert_eq!(room_actions(&e, 1, ""), vec![], "{}", e.kind());
        }
    }

    #[test]
    fn backoff_doubles_from_a_fifth_of_a_second_to_at_most_five_seconds() {
        let mut b = Backoff::new();
        let waits: Vec<u64> = (0..8).map(|_| b.next_wait().as_millis() as u64).collect();
        assert_eq!(waits, vec![200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
    }
}
