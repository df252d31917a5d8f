//! A reference model of the hearing rules, for the state-machine proptest only. It restates the
//! design (hearing states, presence, the roles table) as plainly as it can and shares none of
//! `machine`'s or `permissions`' helpers, so a bug in one is not repeated in the other: for each
//! command it predicts the new hearing and its events, or which refusal the command gets.
use chrono::{DateTime, Utc};

use super::events::{Actor, EventPayload};
use super::ids::ParticipantId;
use super::machine::Command;
use super::model::{Hearing, HearingState, Participant, Presence, Role};
use super::permissions::Action;

/// The refusal the model expects. Messages are prose; the variant, the action and the target
/// are what callers (the API's status codes, the `Denied` event) depend on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    Denied {
        action: Action,
        target: Option<ParticipantId>,
    },
    Precondition,
    NotFound,
}

pub type Prediction = Result<(Hearing, Vec<EventPayload>), Refusal>;

use HearingState as S;
use Presence as P;

/// The design's transitions: `SCHEDULED → OPEN → ON_RECORD ⇄ OFF_RECORD`, any of the live
/// states `→ ADJOURNED`, `SCHEDULED | OPEN → CANCELLED`.
const TRANSITIONS: [(S, S); 9] = [
    (S::Scheduled, S::Open),
    (S::Open, S::OnRecord),
    (S::OnRecord, S::OffRecord),
    (S::OffRecord, S::OnRecord),
    (S::Open, S::Adjourned),
    (S::OnRecord, S::Adjourned),
    (S::OffRecord, S::Adjourned),
    (S::Scheduled, S::Cancelled),
    (S::Open, S::Cancelled),
];

/// People can be in the hearing.
const LIVE: [S; 3] = [S::Open, S::OnRecord, S::OffRecord];
/// Over: nothing but leaving (and notes in an adjourned hearing) happens any more.
const FINAL: [S; 2] = [S::Adjourned, S::Cancelled];

/// Whether `role` may take a hearing action: judge and clerk conduct the hearing; only the
/// judge keeps the record; everyone taking part (not an admin, not OpenCourt itself) joins,
/// leaves and mutes themselves, and all of them but an observer may unmute themselves.
fn allowed(action: Action, role: Role) -> bool {
    let court = role == Role::Judge || role == Role::Clerk;
    let taking_part = role != Role::Admin && role != Role::System;
    match action {
        Action::Invite
        | Action::Open
        | Action::Admit
        | Action::StandDown
        | Action::Remove
        | Action::Mute
        | Action::Cancel
        | Action::AddNote
        | Action::LockRoom
        | Action::MessageWaitingRoom => court,
        Action::GoOnRecord | Action::GoOffRecord | Action::Adjourn => role == Role::Judge,
        Action::Join | Action::Leave | Action::MuteSelf => taking_part,
        Action::UnmuteSelf => taking_part && role != Role::Observer,
        other => panic!("the model covers hearing commands only, not {other:?}"),
    }
}

fn target_of(cmd: &Command) -> Option<ParticipantId> {
    match cmd {
        Command::Admit { target }
        | Command::ReissueInvite { target }
        | Command::StandDown { target, .. }
        | Command::Remove { target, .. }
        | Command::Mute { target, .. } => Some(*target),
        _ => None,
    }
}

fn find(h: &Hearing, id: ParticipantId) -> Option<usize> {
    h.participants.iter().position(|p| p.id == id)
}

/// What `actor` doing `cmd` to `h` at `now` must come to.
pub fn predict(h: &Hearing, actor: &Actor, cmd: &Command, now: DateTime<Utc>) -> Prediction {
    let target = target_of(cmd);
    let t = match target {
        Some(id) => Some(find(h, id).ok_or(Refusal::NotFound)?),
        None => None,
    };
    let own = t.is_some() && actor.participant_id == target;

    // Which permission the command needs.
    let action = match cmd {
        Command::Invite { .. } | Command::ReissueInvite { .. } => Action::Invite,
        Command::RedeemInvite | Command::Join { .. } => Action::Join,
        Command::Open => Action::Open,
        Command::Leave { .. } => Action::Leave,
        Command::Admit { .. } => Action::Admit,
        Command::StandDown { .. } => Action::StandDown,
        Command::Remove { .. } => Action::Remove,
        Command::Mute { muted: true, .. } if own => Action::MuteSelf,
        // Unmuting oneself is one's own call unless the court muted one.
        Command::Mute { muted: false, .. } if own && !h.participants[t.unwrap()].court_muted => {
            Action::UnmuteSelf
        }
        Command::Mute { .. } => Action::Mute,
        Command::GoOnRecord => Action::GoOnRecord,
        Command::GoOffRecord { .. } => Action::GoOffRecord,
        Command::Adjourn { .. } => Action::Adjourn,
        Command::Cancel { .. } => Action::Cancel,
        Command::AddNote { .. } => Action::AddNote,
        Command::Lock { .. } => Action::LockRoom,
        Command::MessageWaitingRoom { .. } => Action::MessageWaitingRoom,
    };
    let denied = |target| Err(Refusal::Denied { action, target });
    if !allowed(action, actor.role) {
        return denied(target);
    }
    // Every hearing command a judge gives needs the judge to preside over this hearing.
    if actor.role == Role::Judge && actor.user_id != Some(h.presiding_judge) {
        return denied(target);
    }
    // Nobody mutes, removes or stands down the presiding judge.
    if target == Some(h.presiding_participant)
        && [Action::Mute, Action::Remove, Action::StandDown].contains(&action)
    {
        return denied(target);
    }
    if let (Command::Mute { muted: false, .. }, Some(i)) = (cmd, t) {
        if h.participants[i].role == Role::Observer {
            return denied(target);
        }
    }

    let live = LIVE.contains(&h.state);
    let over = FINAL.contains(&h.state);
    let mut next = h.clone();
    let mut events = Vec::new();
    match cmd {
        Command::Open => {
            move_to(&mut next, &mut events, S::Open, None)?;
            next.opened_at = Some(now);
        }
        Command::GoOnRecord => move_to(&mut next, &mut events, S::OnRecord, None)?,
        Command::GoOffRecord { reason } => move_to(
            &mut next,
            &mut events,
            S::OffRecord,
            Some(reason.to_string()),
        )?,
        Command::Adjourn { reason } => move_to(
            &mut next,
            &mut events,
            S::Adjourned,
            reason.as_ref().map(|r| r.to_string()),
        )?,
        Command::Cancel { reason } => move_to(
            &mut next,
            &mut events,
            S::Cancelled,
            Some(reason.to_string()),
        )?,
        Command::AddNote { text } => {
            if h.state == S::Cancelled {
                return Err(Refusal::Precondition);
            }
            events.push(EventPayload::Note {
                text: text.to_string(),
            });
        }
        Command::Invite {
            participant_id,
            display_name,
            role,
        } => {
            if over {
                return Err(Refusal::Precondition);
            }
            // An observer is muted by the court from the start, for good.
            let observer = *role == Role::Observer;
            next.participants.push(Participant {
                id: *participant_id,
                display_name: display_name.clone(),
                role: *role,
                presence: P::Invited,
                muted: observer,
                court_muted: observer,
                user_id: None,
                admitted_before: false,
            });
            events.push(EventPayload::Invited {
                participant_id: *participant_id,
                display_name: display_name.to_string(),
                role: *role,
            });
        }
        Command::ReissueInvite { target } => {
            if over {
                return Err(Refusal::Precondition);
            }
            let i = find(h, *target).ok_or(Refusal::NotFound)?;
            if h.participants[i].presence == P::Removed || h.participants[i].user_id.is_some() {
                return Err(Refusal::Precondition);
            }
            events.push(EventPayload::InviteReissued {
                participant_id: *target,
            });
        }
        Command::RedeemInvite => {
            if over {
                return Err(Refusal::Precondition);
            }
            let participant_id = actor.participant_id.ok_or(Refusal::NotFound)?;
            // Removal withdraws the invitation.
            let i = find(h, participant_id).ok_or(Refusal::NotFound)?;
            if h.participants[i].presence == P::Removed {
                return denied(None);
            }
            events.push(EventPayload::InviteRedeemed { participant_id });
        }
        Command::Join {
            staff_participant_id,
        } => {
            if !live {
                return Err(Refusal::Precondition);
            }
            let i = match actor.participant_id {
                Some(id) => find(h, id).ok_or(Refusal::NotFound)?,
                // A clerk without a participant becomes one on joining.
                None if actor.role == Role::Clerk => {
                    next.participants.push(Participant {
                        id: *staff_participant_id,
                        display_name: super::values::DisplayName::parse(
                            "display_name",
                            &actor.display_name,
                        )
                        .expect("the proptest's clerk has a valid name"),
                        role: Role::Clerk,
                        presence: P::Invited,
                        muted: false,
                        court_muted: false,
                        user_id: actor.user_id,
                        admitted_before: false,
                    });
                    next.participants.len() - 1
                }
                None => return denied(None),
            };
            let locked = next.locked;
            let p = &mut next.participants[i];
            let court = matches!(p.role, Role::Judge | Role::Clerk);
            match p.presence {
                P::Removed => return denied(None),
                P::Waiting | P::Admitted => {}
                // The locked room: only the court and those it admitted before come in.
                P::Invited | P::Left | P::Disconnected
                    if locked && !court && !p.admitted_before =>
                {
                    return Err(Refusal::Precondition)
                }
                P::Invited | P::Left | P::Disconnected => {
                    p.presence = if court { P::Admitted } else { P::Waiting };
                    p.admitted_before |= court;
                    events.push(EventPayload::Joined {
                        participant_id: p.id,
                        presence: p.presence,
                    });
                }
            }
        }
        Command::Leave {
            reason,
            disconnected,
        } => {
            let id = actor.participant_id.ok_or(Refusal::Precondition)?;
            let p = &mut next.participants[find(h, id).ok_or(Refusal::NotFound)?];
            if !matches!(p.presence, P::Waiting | P::Admitted) {
                return Err(Refusal::Precondition);
            }
            p.presence = if *disconnected {
                P::Disconnected
            } else {
                P::Left
            };
            events.push(EventPayload::Left {
                participant_id: id,
                reason: reason.as_ref().map(|r| r.to_string()),
                disconnected: *disconnected,
            });
        }
        Command::Admit { target } => {
            let p = &mut next.participants[t.unwrap()];
            if !live || p.presence != P::Waiting {
                return Err(Refusal::Precondition);
            }
            p.presence = P::Admitted;
            p.admitted_before = true;
            events.push(EventPayload::Admitted {
                participant_id: *target,
            });
        }
        Command::StandDown { target, reason } => {
            let p = &mut next.participants[t.unwrap()];
            if !live || p.presence != P::Admitted {
                return Err(Refusal::Precondition);
            }
            p.presence = P::Waiting;
            events.push(EventPayload::StoodDown {
                participant_id: *target,
                reason: reason.as_ref().map(|r| r.to_string()),
            });
        }
        Command::Remove { target, reason } => {
            let p = &mut next.participants[t.unwrap()];
            if over || p.presence == P::Removed {
                return Err(Refusal::Precondition);
            }
            p.presence = P::Removed;
            events.push(EventPayload::Removed {
                participant_id: *target,
                reason: reason.to_string(),
            });
        }
        Command::Mute { target, muted } => {
            let p = &mut next.participants[t.unwrap()];
            if over || p.presence == P::Removed {
                return Err(Refusal::Precondition);
            }
            if p.muted != *muted {
                events.push(EventPayload::Muted {
                    participant_id: *target,
                    muted: *muted,
                });
            }
            p.muted = *muted;
            // Unmuting clears the court's mute; the court muting sets it; muting oneself keeps
            // whatever the court had decided. An observer stays court-muted whatever happens.
            p.court_muted = if !*muted {
                false
            } else {
                action == Action::Mute || p.court_muted
            } || p.role == Role::Observer;
        }
        Command::Lock { locked, reason } => {
            if over || h.locked == *locked {
                return Err(Refusal::Precondition);
            }
            next.locked = *locked;
            events.push(EventPayload::RoomLocked {
                locked: *locked,
                reason: reason.as_ref().map(|r| r.to_string()),
            });
        }
        Command::MessageWaitingRoom { text } => {
            if over {
                return Err(Refusal::Precondition);
            }
            events.push(EventPayload::WaitingRoomMessage {
                text: text.to_string(),
            });
        }
    }
    Ok((next, events))
}

fn move_to(
    h: &mut Hearing,
    events: &mut Vec<EventPayload>,
    to: S,
    reason: Option<String>,
) -> Result<(), Refusal> {
    let from = h.state;
    if !TRANSITIONS.contains(&(from, to)) {
        return Err(Refusal::Precondition);
    }
    events.push(EventPayload::StateChanged { from, to, reason });
    h.state = to;
    Ok(())
}
