//! The hearing state machine: one pure function from (hearing, actor, command) to the new
//! hearing and the events that record the change. No IO; the caller commits both in one
//! transaction, or on a rejection commits nothing (a denial is logged separately).
use chrono::{DateTime, Utc};

use super::events::{Actor, EventPayload};
use super::ids::ParticipantId;
use super::model::{Hearing, HearingState, Participant, Presence, Role};
use super::permissions::{role_may, Action};
use super::values::{DisplayName, NoteText, Reason, WaitingRoomText};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Invite {
        participant_id: ParticipantId,
        display_name: DisplayName,
        role: Role,
    },
    RedeemInvite,
    /// A new invitation code for `target` (the old one stops working).
    ReissueInvite {
        target: ParticipantId,
    },
    Open,
    /// `staff_participant_id` is the id a staff member's participant gets if they have none yet.
    Join {
        staff_participant_id: ParticipantId,
    },
    Leave {
        reason: Option<Reason>,
        disconnected: bool,
    },
    Admit {
        target: ParticipantId,
    },
    StandDown {
        target: ParticipantId,
        reason: Option<Reason>,
    },
    Remove {
        target: ParticipantId,
        reason: Reason,
    },
    Mute {
        target: ParticipantId,
        muted: bool,
    },
    GoOnRecord,
    GoOffRecord {
        reason: Reason,
    },
    Adjourn {
        reason: Option<Reason>,
    },
    Cancel {
        reason: Reason,
    },
    AddNote {
        text: NoteText,
    },
    /// Lock the room (or unlock it): while locked, only participants admitted before join.
    Lock {
        locked: bool,
        reason: Option<Reason>,
    },
    MessageWaitingRoom {
        text: WaitingRoomText,
    },
}

/// Why a command was refused. Nothing changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// PERMISSION_DENIED; logged as an `ActionDenied` event.
    Denied {
        action: Action,
        reason: String,
        target: Option<ParticipantId>,
    },
    /// FAILED_PRECONDITION: illegal in the current state.
    Precondition(String),
    NotFound(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub hearing: Hearing,
    pub events: Vec<EventPayload>,
}

/// The only legal moves between hearing states.
pub fn transition_allowed(from: HearingState, to: HearingState) -> bool {
    use HearingState::*;
    matches!(
        (from, to),
        (Scheduled, Open)
            | (Open, OnRecord)
            | (OnRecord, OffRecord)
            | (OffRecord, OnRecord)
            | (Open | OnRecord | OffRecord, Adjourned)
            | (Scheduled | Open, Cancelled)
    )
}

impl Command {
    /// The permission this command needs from `actor`.
    fn action(&self, actor: &Actor, h: &Hearing) -> Action {
        match self {
            Command::Invite { .. } | Command::ReissueInvite { .. } => Action::Invite,
            Command::RedeemInvite | Command::Join { .. } => Action::Join,
            Command::Open => Action::Open,
            Command::Leave { .. } => Action::Leave,
            Command::Admit { .. } => Action::Admit,
            Command::StandDown { .. } => Action::StandDown,
            Command::Remove { .. } => Action::Remove,
            Command::Mute { target, muted } => {
                let own = actor.participant_id == Some(*target);
                let court_muted = h.participant(*target).is_some_and(|p| p.court_muted);
                match (own, muted) {
                    (true, true) => Action::MuteSelf,
                    (true, false) if !court_muted => Action::UnmuteSelf,
                    _ => Action::Mute,
                }
            }
            Command::GoOnRecord => Action::GoOnRecord,
            Command::GoOffRecord { .. } => Action::GoOffRecord,
            Command::Adjourn { .. } => Action::Adjourn,
            Command::Cancel { .. } => Action::Cancel,
            Command::AddNote { .. } => Action::AddNote,
            Command::Lock { .. } => Action::LockRoom,
            Command::MessageWaitingRoom { .. } => Action::MessageWaitingRoom,
        }
    }

    fn target(&self) -> Option<ParticipantId> {
        match self {
            Command::Admit { target }
            | Command::ReissueInvite { target }
            | Command::StandDown { target, .. }
            | Command::Remove { target, .. }
            | Command::Mute { target, .. } => Some(*target),
            _ => None,
        }
    }
}

/// Checks the permission table and the hearing-specific rules.
pub fn authorize(
    h: &Hearing,
    actor: &Actor,
    action: Action,
    target: Option<ParticipantId>,
) -> Result<(), Rejection> {
    let deny = |reason: String| {
        Err(Rejection::Denied {
            action,
            reason,
            target,
        })
    };
    if !role_may(actor.role, action) {
        return deny(format!("a {} may not {}", actor.role, action.as_str()));
    }
    if actor.role == Role::Judge
        && action.needs_presiding_judge()
        && actor.user_id != Some(h.presiding_judge)
    {
        return deny(format!(
            "only the presiding judge may {} in this hearing",
            action.as_str()
        ));
    }
    if let Some(t) = target {
        if t == h.presiding_participant
            && matches!(action, Action::Mute | Action::Remove | Action::StandDown)
        {
            return deny(format!(
                "nobody may {} the presiding judge",
                action.as_str()
            ));
        }
    }
    Ok(())
}

/// Applies `cmd` by `actor` to `h` at `now`.
pub fn apply(
    h: &Hearing,
    actor: &Actor,
    cmd: Command,
    now: DateTime<Utc>,
) -> Result<Outcome, Rejection> {
    let action = cmd.action(actor, h);
    let target = cmd.target();
    if let Some(t) = target {
        if h.participant(t).is_none() {
            return Err(Rejection::NotFound(format!(
                "participant {t} is not in hearing {}",
                h.id
            )));
        }
    }
    authorize(h, actor, action, target)?;
    if let Command::Mute {
        target,
        muted: false,
    } = &cmd
    {
        if h.participant(*target).map(|p| p.role) == Some(Role::Observer) {
            return Err(Rejection::Denied {
                action,
                reason: "an observer can never be unmuted".into(),
                target: Some(*target),
            });
        }
    }

    let mut next = h.clone();
    let mut events = Vec::new();
    let state = h.state;
    let precondition = |what: &str| {
        Err(Rejection::Precondition(format!(
            "hearing is {state}: cannot {what}"
        )))
    };
    let self_id = actor.participant_id;

    match cmd {
        Command::Invite {
            participant_id,
            display_name,
            role,
        } => {
            if state.is_final() {
                return precondition("invite participants");
            }
            let observer = role == Role::Observer;
            events.push(EventPayload::Invited {
                participant_id,
                display_name: display_name.to_string(),
                role,
            });
            next.participants.push(Participant {
                id: participant_id,
                display_name,
                role,
                presence: Presence::Invited,
                muted: observer,
                court_muted: observer,
                user_id: None,
                admitted_before: false,
            });
        }
        Command::RedeemInvite => {
            if state.is_final() {
                return precondition("redeem an invitation");
            }
            let pid = self_id
                .ok_or_else(|| Rejection::NotFound("no participant to redeem for".into()))?;
            // Removal withdraws the invitation, redeemed or not.
            if participant_mut(&mut next, pid)?.presence == Presence::Removed {
                return Err(Rejection::Denied {
                    action,
                    reason: "removed from this hearing: the invitation was withdrawn".into(),
                    target: None,
                });
            }
            events.push(EventPayload::InviteRedeemed {
                participant_id: pid,
            });
        }
        Command::ReissueInvite { target } => {
            if state.is_final() {
                return precondition("reissue an invitation");
            }
            let p = participant_mut(&mut next, target)?;
            if p.presence == Presence::Removed {
                return Err(Rejection::Precondition(
                    "the participant was removed: invite them again instead".into(),
                ));
            }
            // A judge or clerk takes part with their own account: a code would give them a
            // participant session that disabling the account does not end.
            if p.user_id.is_some() {
                return Err(Rejection::Precondition(
                    "judges and clerks take part with their own accounts and have no invitation"
                        .into(),
                ));
            }
            events.push(EventPayload::InviteReissued {
                participant_id: target,
            });
        }
        Command::Open => {
            change_state(&mut next, &mut events, HearingState::Open, None)?;
            next.opened_at = Some(now);
        }
        Command::Join {
            staff_participant_id,
        } => {
            if !state.is_live() {
                return precondition("join (the hearing is not open)");
            }
            let pid = match self_id {
                Some(pid) => pid,
                None if actor.role == Role::Clerk => {
                    next.participants.push(Participant {
                        id: staff_participant_id,
                        display_name: DisplayName::parse("display_name", &actor.display_name)
                            .unwrap_or_else(|_| {
                                DisplayName::parse("display_name", "Clerk").expect("valid")
                            }),
                        role: Role::Clerk,
                        presence: Presence::Invited,
                        muted: false,
                        court_muted: false,
                        user_id: actor.user_id,
                        admitted_before: false,
                    });
                    staff_participant_id
                }
                None => {
                    return Err(Rejection::Denied {
                        action,
                        reason:
                            "only the presiding judge, clerks and invited participants may join"
                                .into(),
                        target: None,
                    })
                }
            };
            let locked = next.locked;
            let p = participant_mut(&mut next, pid)?;
            match p.presence {
                Presence::Removed => {
                    return Err(Rejection::Denied {
                        action,
                        reason: "removed from this hearing".into(),
                        target: None,
                    })
                }
                // Already in: joining again (a second tab, a reconnect) changes nothing.
                Presence::Waiting | Presence::Admitted => {}
                // A locked room keeps out whoever the court has not admitted before; those it
                // has (a dropped connection, a new device) come back to the waiting room.
                Presence::Invited | Presence::Left | Presence::Disconnected
                    if locked && !p.role.is_court() && !p.admitted_before =>
                {
                    return Err(Rejection::Precondition(
                        "the court has locked the room: only participants admitted before may join"
                            .into(),
                    ));
                }
                Presence::Invited | Presence::Left | Presence::Disconnected => {
                    // Judge and clerk go straight in; everyone else waits to be admitted.
                    p.presence = if p.role.is_court() {
                        p.admitted_before = true;
                        Presence::Admitted
                    } else {
                        Presence::Waiting
                    };
                    events.push(EventPayload::Joined {
                        participant_id: pid,
                        presence: p.presence,
                    });
                }
            }
        }
        Command::Leave {
            reason,
            disconnected,
        } => {
            let pid = self_id.ok_or_else(|| {
                Rejection::Precondition("not a participant of this hearing".into())
            })?;
            let p = participant_mut(&mut next, pid)?;
            if !matches!(p.presence, Presence::Waiting | Presence::Admitted) {
                return Err(Rejection::Precondition(format!(
                    "participant is {}: cannot leave",
                    p.presence
                )));
            }
            p.presence = if disconnected {
                Presence::Disconnected
            } else {
                Presence::Left
            };
            events.push(EventPayload::Left {
                participant_id: pid,
                reason: reason.map(|r| r.to_string()),
                disconnected,
            });
        }
        Command::Admit { target } => {
            if !state.is_live() {
                return precondition("admit participants");
            }
            let p = participant_mut(&mut next, target)?;
            if p.presence != Presence::Waiting {
                return Err(Rejection::Precondition(format!(
                    "participant is {}: only someone in the waiting room can be admitted",
                    p.presence
                )));
            }
            p.presence = Presence::Admitted;
            p.admitted_before = true;
            events.push(EventPayload::Admitted {
                participant_id: target,
            });
        }
        Command::StandDown { target, reason } => {
            if !state.is_live() {
                return precondition("stand down participants");
            }
            let p = participant_mut(&mut next, target)?;
            if p.presence != Presence::Admitted {
                return Err(Rejection::Precondition(format!(
                    "participant is {}: only an admitted participant can be stood down",
                    p.presence
                )));
            }
            p.presence = Presence::Waiting;
            events.push(EventPayload::StoodDown {
                participant_id: target,
                reason: reason.map(|r| r.to_string()),
            });
        }
        Command::Remove { target, reason } => {
            if state.is_final() {
                return precondition("remove participants");
            }
            let p = participant_mut(&mut next, target)?;
            if p.presence == Presence::Removed {
                return Err(Rejection::Precondition(
                    "participant is already removed".into(),
                ));
            }
            p.presence = Presence::Removed;
            events.push(EventPayload::Removed {
                participant_id: target,
                reason: reason.to_string(),
            });
        }
        Command::Mute { target, muted } => {
            if state.is_final() {
                return precondition("mute participants");
            }
            let by_court = action == Action::Mute;
            let p = participant_mut(&mut next, target)?;
            if p.presence == Presence::Removed {
                return Err(Rejection::Precondition("participant is removed".into()));
            }
            if p.muted != muted {
                p.muted = muted;
                events.push(EventPayload::Muted {
                    participant_id: target,
                    muted,
                });
            }
            p.court_muted = muted && (by_court || p.court_muted) || p.role == Role::Observer;
        }
        Command::GoOnRecord => change_state(&mut next, &mut events, HearingState::OnRecord, None)?,
        Command::GoOffRecord { reason } => change_state(
            &mut next,
            &mut events,
            HearingState::OffRecord,
            Some(reason),
        )?,
        Command::Adjourn { reason } => {
            change_state(&mut next, &mut events, HearingState::Adjourned, reason)?
        }
        Command::Cancel { reason } => change_state(
            &mut next,
            &mut events,
            HearingState::Cancelled,
            Some(reason),
        )?,
        Command::AddNote { text } => {
            if state == HearingState::Cancelled {
                return precondition("add notes");
            }
            events.push(EventPayload::Note {
                text: text.to_string(),
            });
        }
        Command::Lock { locked, reason } => {
            if state.is_final() {
                return precondition(if locked {
                    "lock the room"
                } else {
                    "unlock the room"
                });
            }
            if h.locked == locked {
                let now = if locked { "locked" } else { "unlocked" };
                return Err(Rejection::Precondition(format!(
                    "the room is {now} already"
                )));
            }
            next.locked = locked;
            events.push(EventPayload::RoomLocked {
                locked,
                reason: reason.map(|r| r.to_string()),
            });
        }
        Command::MessageWaitingRoom { text } => {
            if state.is_final() {
                return precondition("message the waiting room");
            }
            events.push(EventPayload::WaitingRoomMessage {
                text: text.to_string(),
            });
        }
    }
    Ok(Outcome {
        hearing: next,
        events,
    })
}

fn participant_mut(h: &mut Hearing, id: ParticipantId) -> Result<&mut Participant, Rejection> {
    let hid = h.id;
    h.participants
        .iter_mut()
        .find(|p| p.id == id)
        .ok_or_else(|| Rejection::NotFound(format!("participant {id} is not in hearing {hid}")))
}

fn change_state(
    h: &mut Hearing,
    events: &mut Vec<EventPayload>,
    to: HearingState,
    reason: Option<Reason>,
) -> Result<(), Rejection> {
    let from = h.state;
    if !transition_allowed(from, to) {
        return Err(Rejection::Precondition(format!(
            "hearing is {from}: cannot move to {to}"
        )));
    }
    h.state = to;
    events.push(EventPayload::StateChanged {
        from,
        to,
        reason: reason.map(|r| r.to_string()),
    });
    Ok(())
}
