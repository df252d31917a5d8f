//! Hearings: scheduling, reading and listing them, and running hearing commands (each one
//! permission, state rules, then one durable commit).
use chrono::{DateTime, Utc};

use super::{rejection, App, Caller};
use crate::auth;
use crate::domain::machine::{self, Command, Rejection};
use crate::domain::permissions::role_may;
use crate::domain::read_policy::{ReadPath, Reading};
use crate::domain::*;
use crate::error::{CoreError, Result};
use crate::records::{HearingFilter, ListPage};
use crate::store::{Decision, SideWrite};

/// A hearing to schedule, as checked at the edge.
#[derive(Clone, Debug)]
pub struct HearingPlan {
    pub case_id: CaseId,
    pub title: Title,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The presiding judge: required when a clerk schedules; the caller when a judge does.
    pub judge_id: Option<UserId>,
}

impl App {
    pub async fn schedule_hearing(
        &self,
        caller: &Caller,
        case_id: CaseId,
        title: Title,
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
        judge_id: Option<UserId>,
    ) -> Result<Hearing> {
        let plan = HearingPlan {
            case_id,
            title,
            starts_at,
            ends_at,
            judge_id,
        };
        self.schedule(caller, plan, false).await
    }

    /// Schedules `plan` after every check (the caller's permission, the judge, the case, the
    /// judge's other hearings at an overlapping time). With `validate_only` the same checks run
    /// and refuse alike, but nothing is stored: the answer is the hearing as it would be.
    pub async fn schedule(
        &self,
        caller: &Caller,
        plan: HearingPlan,
        validate_only: bool,
    ) -> Result<Hearing> {
        let HearingPlan {
            case_id,
            title,
            starts_at,
            ends_at,
            judge_id,
        } = plan;
        let Caller::Staff(user) = caller else {
            let why = format!("a {} may not schedule hearings", caller.role());
            return Err(self
                .deny_outside_hearing(caller, Action::ScheduleHearing, &case_id.to_string(), why)
                .await);
        };
        if !role_may(user.role, Action::ScheduleHearing) {
            let why = format!("a {} may not schedule hearings", user.role);
            return Err(self
                .deny_outside_hearing(caller, Action::ScheduleHearing, &case_id.to_string(), why)
                .await);
        }
        let judge = match (user.role, judge_id) {
            (Role::Judge, None) => user.clone(),
            (Role::Judge, Some(j)) if j == user.id => user.clone(),
            (Role::Judge, Some(_)) => {
                let why = "a judge schedules hearings over which they preside; a clerk may name another judge".to_string();
                return Err(self
                    .deny_outside_hearing(
                        caller,
                        Action::ScheduleHearing,
                        &case_id.to_string(),
                        why,
                    )
                    .await);
            }
            (_, None) => {
                return Err(CoreError::invalid(
                    "judge_id",
                    "is required when a clerk schedules a hearing",
                ))
            }
            (_, Some(j)) => {
                let judge = self
                    .store
                    .user(j)
                    .await?
                    .ok_or_else(|| CoreError::NotFound(format!("judge {j} not found")))?;
                if judge.role != Role::Judge {
                    return Err(CoreError::invalid(
                        "judge_id",
                        format!("user {j} is not a judge"),
                    ));
                }
                judge
            }
        };
        let case = self.get_case(caller, case_id).await?;
        let presiding = Participant {
            id: ParticipantId::new(),
            display_name: judge.display_name.clone(),
            role: Role::Judge,
            presence: Presence::Invited,
            muted: false,
            court_muted: false,
            user_id: Some(judge.id),
            admitted_before: false,
        };
        let hearing = Hearing {
            id: HearingId::new(),
            case_id,
            title,
            starts_at,
            ends_at,
            state: HearingState::Scheduled,
            presiding_judge: judge.id,
            presiding_participant: presiding.id,
            opened_at: None,
            locked: false,
            participants: vec![presiding],
            labels: HearingLabels {
                case_number: case.case_number.as_str().to_string(),
                presiding_judge_name: judge.display_name.to_string(),
            },
        };
        let actor = Actor {
            participant_id: None,
            user_id: Some(user.id),
            role: user.role,
            display_name: user.display_name.to_string(),
        };
        let event = EventPayload::Scheduled {
            case_id,
            title: hearing.title.to_string(),
            starts_at_ms: starts_at.timestamp_millis(),
            ends_at_ms: ends_at.timestamp_millis(),
            presiding_judge_id: judge.id,
        };
        self.store
            .schedule_hearing(&hearing, &actor, &event, validate_only)
            .await?;
        Ok(hearing)
    }

    /// The hearing as the caller may read it: a participant not yet admitted sees the hearing's
    /// state and only themselves on the roster.
    pub async fn get_hearing(
        &self,
        caller: &Caller,
        id: HearingId,
    ) -> Result<(Hearing, u64, String)> {
        let read = self.read_hearing(caller, id, ReadPath::Hearing).await?;
        let mut h = read.hearing;
        if read.reading == Reading::OwnOnly {
            if let Caller::Participant { participant_id, .. } = caller {
                h.participants.retain(|p| p.id == *participant_id);
            }
        }
        Ok((h, read.last_seq, read.head_hash))
    }

    pub async fn list_hearings(
        &self,
        caller: &Caller,
        filter: &HearingFilter,
        limit: u32,
        after: Option<(i64, String)>,
    ) -> Result<ListPage<Hearing>> {
        if !matches!(caller, Caller::Staff(_)) || !role_may(caller.role(), Action::ListHearings) {
            let why = format!("a {} may not list hearings", caller.role());
            return Err(self
                .deny_outside_hearing(caller, Action::ListHearings, "", why)
                .await);
        }
        self.store.list_hearings(filter, after, limit).await
    }

    /// Runs a hearing command for `caller`: permission, state rules, then one durable commit.
    /// Returns the hearing after the change and the events appended.
    pub async fn command(
        &self,
        caller: &Caller,
        id: HearingId,
        make: impl Fn(&Hearing) -> Command,
    ) -> Result<(Hearing, Vec<StoredEvent>)> {
        self.command_with(caller, id, make, Vec::new()).await
    }

    /// `command`, with `extra` writes committed in the same transaction.
    #[tracing::instrument(name = "hearing", skip_all, fields(hearing = %id))]
    pub(super) async fn command_with(
        &self,
        caller: &Caller,
        id: HearingId,
        make: impl Fn(&Hearing) -> Command,
        extra: Vec<SideWrite>,
    ) -> Result<(Hearing, Vec<StoredEvent>)> {
        let mut denied: Option<(Action, String, Option<ParticipantId>, Hearing)> = None;
        let res = self
            .store
            .append(id, |h| {
                let actor = match self.actor_in(caller, h) {
                    Ok(a) => a,
                    Err(reason) => {
                        denied = Some((Action::Join, reason.clone(), None, h.clone()));
                        return Err(CoreError::PermissionDenied(reason));
                    }
                };
                let now = Utc::now();
                match machine::apply(h, &actor, make(h), now) {
                    Ok(out) => {
                        let mut side = extra.clone();
                        for e in &out.events {
                            if let EventPayload::Removed { participant_id, .. } = e {
                                side.push(SideWrite::RevokeSessions {
                                    participant_id: *participant_id,
                                });
                            }
                        }
                        Ok(Decision {
                            now,
                            actor,
                            hearing: out.hearing,
                            events: out.events,
                            side,
                            value: (),
                        })
                    }
                    Err(Rejection::Denied {
                        action,
                        reason,
                        target,
                    }) => {
                        denied = Some((action, reason.clone(), target, h.clone()));
                        Err(CoreError::PermissionDenied(reason))
                    }
                    Err(r) => Err(rejection(r)),
                }
            })
            .await;
        match res {
            Ok(((), hearing, events)) => {
                self.hub.publish(id, &events);
                Ok((hearing, events))
            }
            Err(CoreError::PermissionDenied(_)) if denied.is_some() => {
                let (action, reason, target, h) = denied.expect("checked");
                Err(self.log_denial(caller, &h, action, reason, target).await)
            }
            Err(e) => Err(e),
        }
    }

    pub async fn invite(
        &self,
        caller: &Caller,
        id: HearingId,
        display_name: DisplayName,
        role: Role,
    ) -> Result<(Participant, String)> {
        if role.is_staff() {
            return Err(CoreError::invalid(
                "role",
                "judges and clerks take part with their own accounts; invite another role",
            ));
        }
        let pid = ParticipantId::new();
        self.with_new_code(caller, id, pid, |_| Command::Invite {
            participant_id: pid,
            display_name: display_name.clone(),
            role,
        })
        .await
    }

    /// A new invitation code for participant `pid`: the old one stops working at once, and the
    /// log records that the court reissued it.
    pub async fn reissue_invite(
        &self,
        caller: &Caller,
        id: HearingId,
        pid: ParticipantId,
    ) -> Result<(Participant, String)> {
        self.with_new_code(caller, id, pid, |_| Command::ReissueInvite { target: pid })
            .await
    }

    /// Runs `make`'s command and, in the same commit, gives participant `pid` a new invitation
    /// code (only its hash is stored). Returns the participant and the code.
    async fn with_new_code(
        &self,
        caller: &Caller,
        id: HearingId,
        pid: ParticipantId,
        make: impl Fn(&Hearing) -> Command,
    ) -> Result<(Participant, String)> {
        let code = auth::new_invite_code();
        let code_hash = auth::secret_hash(&code);
        let side = vec![SideWrite::SetInviteCode {
            participant_id: pid,
            code_hash,
        }];
        let (hearing, _) = self.command_with(caller, id, make, side).await?;
        let p = hearing
            .participant(pid)
            .cloned()
            .ok_or_else(|| CoreError::Internal("invited participant missing".into()))?;
        Ok((p, code))
    }

    pub async fn verify_log(&self, caller: &Caller, id: HearingId) -> Result<Verification> {
        self.read_hearing(caller, id, ReadPath::VerifyLog).await?;
        self.store.verify_log(id).await
    }
}
