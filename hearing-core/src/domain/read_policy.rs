//! Who reads what of a hearing: one table by role and presence, for every read path. The app
//! asks `read_access` before it hands out anything of a hearing (its state, its log, captions,
//! transcript, search hits, media files) and `watch_shows` for each event of a filtered watch.
//!
//! The rules, in order:
//! - a caller with no standing in the hearing (another hearing's invitation) reads nothing;
//! - admins administer accounts: they verify a log's integrity (no content) but read no hearing;
//! - a hearing of a sealed case is read only by clerks and its presiding judge;
//! - judges and clerks read everything else;
//! - a removed participant reads nothing;
//! - while the hearing is not over, only an admitted participant reads its content; an invited,
//!   waiting, departed or disconnected one reads only their own state (GetHearing shows them
//!   alone on the roster; WatchHearing shows the hearing's state changes, the room's lock, the
//!   court's messages to the waiting room and their own events);
//! - once it is adjourned or cancelled, every participant not removed reads it;
//! - a participant downloads the mix and their own track, never another's; an observer, as the
//!   public, the mix only; participants never verify logs.
use super::events::EventPayload;
use super::ids::ParticipantId;
use super::model::{Presence, Role, Visibility};

/// A way of reading a hearing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReadPath {
    /// GetHearing: the hearing, its state and roster.
    Hearing,
    /// WatchHearing: the log, live.
    Watch,
    /// The hearing's log on GetCaseRecord.
    CaseRecordLog,
    /// GetTranscript, and the hearing's hits in SearchTranscripts.
    Transcript,
    /// `Caption` events: what was said, as it is said.
    Captions,
    /// `/media`: a recording segment (the mix everyone hears).
    Mix,
    /// `/media`: the caller's own track.
    OwnTrack,
    /// `/media`: another participant's track.
    OtherTrack,
    /// VerifyHearingLog: the chain's integrity, no content.
    VerifyLog,
}

impl ReadPath {
    pub const ALL: [ReadPath; 9] = [
        ReadPath::Hearing,
        ReadPath::Watch,
        ReadPath::CaseRecordLog,
        ReadPath::Transcript,
        ReadPath::Captions,
        ReadPath::Mix,
        ReadPath::OwnTrack,
        ReadPath::OtherTrack,
        ReadPath::VerifyLog,
    ];
}

/// What the caller is to one hearing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// A staff account (judge, clerk, admin); `presiding` when they preside over this hearing.
    Staff { role: Role, presiding: bool },
    /// One of this hearing's invited participants, as they are now.
    Participant { role: Role, presence: Presence },
    /// Bound to another hearing: no standing here at all.
    Outsider,
}

/// The answer for one read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reading {
    /// Everything the path carries.
    All,
    /// Only the caller's own state and the hearing's state changes.
    OwnOnly,
    Denied(String),
}

/// What `standing` reads through `path` in a hearing of a case of `visibility`, in a hearing
/// that is over (`finished`: adjourned or cancelled) or not.
pub fn read_access(
    standing: Standing,
    path: ReadPath,
    visibility: Visibility,
    finished: bool,
) -> Reading {
    let denied = |why: &str| Reading::Denied(why.to_string());
    match standing {
        Standing::Outsider => denied("the invitation is for another hearing"),
        Standing::Staff { role, presiding } => match role {
            Role::Admin if path == ReadPath::VerifyLog && visibility != Visibility::Sealed => {
                Reading::All
            }
            Role::Admin => Reading::Denied(format!(
                "an admin administers accounts and may not read a {visibility} hearing"
            )),
            Role::Judge if visibility == Visibility::Sealed && !presiding => {
                denied("a sealed hearing is read only by its presiding judge and clerks")
            }
            Role::Judge | Role::Clerk => Reading::All,
            _ => Reading::Denied(format!("a {role} is not a staff role")),
        },
        Standing::Participant { role, presence } => {
            if presence == Presence::Removed {
                return denied("removed from this hearing");
            }
            if path == ReadPath::VerifyLog {
                return Reading::Denied(format!("a {role} may not verify_hearing_log"));
            }
            if presence != Presence::Admitted && !finished {
                return match path {
                    ReadPath::Hearing | ReadPath::Watch => Reading::OwnOnly,
                    _ => Reading::Denied(format!(
                        "a participant who is {presence} reads nothing of the hearing until admitted"
                    )),
                };
            }
            match path {
                ReadPath::OwnTrack | ReadPath::OtherTrack if role == Role::Observer => {
                    denied("an observer reads the mix only, as the public does")
                }
                ReadPath::OtherTrack => denied("a participant reads only their own track"),
                _ => Reading::All,
            }
        }
    }
}

/// Whether a participant `me` whose reading is `OwnOnly` is shown `event`: the hearing's state
/// changes, the room's lock, the court's messages to the waiting room and their own events;
/// nothing that anyone said, noted or did in the hearing.
pub fn own_only_shows(event: &EventPayload, me: ParticipantId) -> bool {
    use EventPayload::*;
    match event {
        // What the court tells the waiting room, and whether it may still come in.
        Scheduled { .. } | StateChanged { .. } | RoomLocked { .. } | WaitingRoomMessage { .. } => {
            true
        }
        Invited { participant_id, .. }
        | InviteRedeemed { participant_id }
        | InviteReissued { participant_id }
        | Joined { participant_id, .. }
        | Left { participant_id, .. }
        | Admitted { participant_id }
        | StoodDown { participant_id, .. }
        | Removed { participant_id, .. }
        | Muted { participant_id, .. } => *participant_id == me,
        _ => false,
    }
}

/// `me`'s presence after `event`, if it changes it.
pub fn presence_after(event: &EventPayload, me: ParticipantId) -> Option<Presence> {
    use EventPayload::*;
    match event {
        Joined {
            participant_id,
            presence,
        } if *participant_id == me => Some(*presence),
        Admitted { participant_id } if *participant_id == me => Some(Presence::Admitted),
        StoodDown { participant_id, .. } if *participant_id == me => Some(Presence::Waiting),
        Left {
            participant_id,
            disconnected,
            ..
        } if *participant_id == me => Some(if *disconnected {
            Presence::Disconnected
        } else {
            Presence::Left
        }),
        Removed { participant_id, .. } if *participant_id == me => Some(Presence::Removed),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Presence::*;

    fn ok(r: Reading) -> &'static str {
        match r {
            Reading::All => "all",
            Reading::OwnOnly => "own",
            Reading::Denied(_) => "no",
        }
    }

    fn p(role: Role, presence: Presence) -> Standing {
        Standing::Participant { role, presence }
    }

    /// The table, row by row: (standing, visibility, finished, what each path in
    /// `ReadPath::ALL` order gives).
    #[test]
    fn the_read_table() {
        let judge = Standing::Staff {
            role: Role::Judge,
            presiding: false,
        };
        let presiding = Standing::Staff {
            role: Role::Judge,
            presiding: true,
        };
        let clerk = Standing::Staff {
            role: Role::Clerk,
            presiding: false,
        };
        let admin = Standing::Staff {
            role: Role::Admin,
            presiding: false,
        };
        let pb = Visibility::Public;
        let sealed = Visibility::Sealed;
        //            Hearing Watch Record Transcript Captions Mix OwnTrack OtherTrack Verify
        let table = [
            (judge, pb, false, ["all"; 9]),
            (presiding, sealed, false, ["all"; 9]),
            (clerk, sealed, false, ["all"; 9]),
            (judge, sealed, false, ["no"; 9]),
            (
                admin,
                Visibility::Restricted,
                false,
                ["no", "no", "no", "no", "no", "no", "no", "no", "all"],
            ),
            (admin, sealed, true, ["no"; 9]),
            (Standing::Outsider, pb, true, ["no"; 9]),
            (
                p(Role::Witness, Waiting),
                pb,
                false,
                ["own", "own", "no", "no", "no", "no", "no", "no", "no"],
            ),
            (
                p(Role::Counsel, Invited),
                pb,
                false,
                ["own", "own", "no", "no", "no", "no", "no", "no", "no"],
            ),
            (
                p(Role::Party, Left),
                pb,
                false,
                ["own", "own", "no", "no", "no", "no", "no", "no", "no"],
            ),
            (
                p(Role::Counsel, Admitted),
                sealed,
                false,
                ["all", "all", "all", "all", "all", "all", "all", "no", "no"],
            ),
            (
                p(Role::Witness, Waiting),
                pb,
                true,
                ["all", "all", "all", "all", "all", "all", "all", "no", "no"],
            ),
            (
                p(Role::Observer, Admitted),
                pb,
                false,
                ["all", "all", "all", "all", "all", "all", "no", "no", "no"],
            ),
            (p(Role::Party, Removed), pb, true, ["no"; 9]),
        ];
        for (standing, vis, finished, row) in table {
            for (path, want) in ReadPath::ALL.into_iter().zip(row) {
                assert_eq!(
                    ok(read_access(standing, path, vis, finished)),
                    want,
                    "{standing:?} {vis} finished={finished} {path:?}"
                );
            }
        }
    }

    #[test]
    fn a_waiting_participant_sees_their_own_events_and_the_hearings_state_only() {
        let me = ParticipantId::new();
        let other = ParticipantId::new();
        let shown = |e: EventPayload| own_only_shows(&e, me);
        assert!(shown(EventPayload::Admitted { participant_id: me }));
        assert!(!shown(EventPayload::Admitted {
            participant_id: other
        }));
        assert!(shown(EventPayload::StateChanged {
            from: super::super::model::HearingState::Open,
            to: super::super::model::HearingState::OnRecord,
            reason: None,
        }));
        assert!(!shown(EventPayload::Note { text: "n".into() }));
        assert!(shown(EventPayload::WaitingRoomMessage {
            text: "we start at 10:15".into()
        }));
        assert!(shown(EventPayload::RoomLocked {
            locked: true,
            reason: None
        }));
        assert!(!shown(EventPayload::Caption {
            participant_id: Some(me),
            speaker: "me".into(),
            start_ms: 0,
            end_ms: 1,
            text: "said".into(),
        }));
        assert_eq!(
            presence_after(&EventPayload::Admitted { participant_id: me }, me),
            Some(Admitted)
        );
        assert_eq!(
            presence_after(
                &EventPayload::StoodDown {
                    participant_id: me,
                    reason: None
                },
                me
            ),
            Some(Waiting)
        );
        assert_eq!(
            presence_after(
                &EventPayload::Admitted {
                    participant_id: other
                },
                me
            ),
            None
        );
    }
}
