//! HearingService: scheduling, reading and listing hearings, the hearing and participant
//! commands, notes, watching the log and verifying it. Every request is checked once, by its
//! `TryFrom` conversion; the commands go through one table per answer (the hearing, one event,
//! a participant, the caller's own participant) and one handler path each.
use std::pin::Pin;

use chrono::NaiveDate;
use futures::{Stream, StreamExt};
use opencourt_proto::v1 as pb;
use pb::hearing_service_server::HearingService;
use tonic::{Request, Response, Status};

use super::convert::{self, hearing_id, participant_id};
use super::{in_hearing, to_status, Res, Services};
use crate::app::{Caller, HearingPlan};
use crate::domain::machine::Command;
use crate::domain::*;
use crate::error::{CoreError, Result};
use crate::records::HearingFilter;

type EventStream = Pin<Box<dyn Stream<Item = Result<pb::HearingEvent, Status>> + Send>>;

/// A command on a hearing as a whole, checked; answered with the hearing after it.
struct HearingCommand {
    id: HearingId,
    command: Command,
}

/// A command that writes one event, checked; answered with that event.
struct EventCommand {
    id: HearingId,
    command: Command,
}

/// A command on one participant, checked; answered with that participant after it.
struct ParticipantCommand {
    id: HearingId,
    target: ParticipantId,
    command: Command,
}

/// A command the caller runs on themselves, checked; answered with their own participant.
struct OwnCommand {
    id: HearingId,
    command: Command,
}

/// A table of commands on a hearing: request → `$into` (the hearing and the command).
macro_rules! commands_on_a_hearing {
    ($into:ident: $($req:ident($r:ident) => $command:expr;)+) => {$(
        impl TryFrom<pb::$req> for $into {
            type Error = CoreError;

            fn try_from($r: pb::$req) -> Result<Self> {
                Ok($into { id: hearing_id(&$r.hearing_id)?, command: $command })
            }
        }
    )+};
}

// The court's commands on the hearing itself.
commands_on_a_hearing! {
    HearingCommand:
    OpenHearingRequest(r) => Command::Open;
    GoOnRecordRequest(r) => Command::GoOnRecord;
    GoOffRecordRequest(r) => Command::GoOffRecord { reason: Reason::parse("reason", &r.reason)? };
    AdjournHearingRequest(r) => Command::Adjourn {
        reason: Reason::parse_optional("reason", &r.reason)?,
    };
    CancelHearingRequest(r) => Command::Cancel { reason: Reason::parse("reason", &r.reason)? };
    LockHearingRequest(r) => Command::Lock {
        locked: r.locked,
        reason: Reason::parse_optional("reason", &r.reason)?,
    };
}

// The court's commands that write one event and change nothing else.
commands_on_a_hearing! {
    EventCommand:
    AddNoteRequest(r) => Command::AddNote { text: NoteText::parse("text", &r.text)? };
    MessageWaitingRoomRequest(r) => Command::MessageWaitingRoom {
        text: WaitingRoomText::parse("text", &r.text)?,
    };
}

/// The table of participant commands: request (with its checked target) → command.
macro_rules! participant_commands {
    ($($req:ident($r:ident, $target:ident) => $command:expr;)+) => {$(
        impl TryFrom<pb::$req> for ParticipantCommand {
            type Error = CoreError;

            fn try_from($r: pb::$req) -> Result<Self> {
                let id = hearing_id(&$r.hearing_id)?;
                let $target = participant_id(&$r.participant_id)?;
                Ok(ParticipantCommand { id, target: $target, command: $command })
            }
        }
    )+};
}

participant_commands! {
    AdmitParticipantRequest(r, target) => Command::Admit { target };
    StandDownParticipantRequest(r, target) => Command::StandDown {
        target,
        reason: Reason::parse_optional("reason", &r.reason)?,
    };
    RemoveParticipantRequest(r, target) => Command::Remove {
        target,
        reason: Reason::parse("reason", &r.reason)?,
    };
    MuteParticipantRequest(r, target) => Command::Mute { target, muted: r.muted };
    ReissueInviteRequest(r, target) => Command::ReissueInvite { target };
}

// The commands a caller runs on themselves.
commands_on_a_hearing! {
    OwnCommand:
    JoinHearingRequest(r) => Command::Join { staff_participant_id: ParticipantId::new() };
    LeaveHearingRequest(r) => Command::Leave {
        reason: Reason::parse_optional("reason", &r.reason)?,
        disconnected: r.disconnected,
    };
}

/// A ScheduleHearing request, checked.
struct NewHearing {
    plan: HearingPlan,
    validate_only: bool,
}

impl TryFrom<pb::ScheduleHearingRequest> for NewHearing {
    type Error = CoreError;

    fn try_from(r: pb::ScheduleHearingRequest) -> Result<Self> {
        let case_id = CaseId::parse("case_id", &r.case_id)?;
        let title = Title::parse("title", &r.title)?;
        let starts = convert::from_ts("starts_at", r.starts_at)?;
        let ends = convert::from_ts("ends_at", r.ends_at)?;
        if ends <= starts {
            return Err(CoreError::invalid("ends_at", "must be after starts_at"));
        }
        if ends - starts > chrono::Duration::days(7) {
            return Err(CoreError::invalid(
                "ends_at",
                "a hearing lasts at most 7 days",
            ));
        }
        let judge = (!r.judge_id.is_empty())
            .then(|| UserId::parse("judge_id", &r.judge_id))
            .transpose()?;
        Ok(NewHearing {
            plan: HearingPlan {
                case_id,
                title,
                starts_at: starts,
                ends_at: ends,
                judge_id: judge,
            },
            validate_only: r.validate_only,
        })
    }
}

/// A ListHearings request, checked.
struct HearingQuery {
    filter: HearingFilter,
    size: u32,
    after: Option<(i64, String)>,
}

impl TryFrom<pb::ListHearingsRequest> for HearingQuery {
    type Error = CoreError;

    fn try_from(r: pb::ListHearingsRequest) -> Result<Self> {
        let case_id = (!r.case_id.is_empty())
            .then(|| CaseId::parse("case_id", &r.case_id))
            .transpose()?;
        let judge = (!r.judge_id.is_empty())
            .then(|| UserId::parse("judge_id", &r.judge_id))
            .transpose()?;
        let mut starts_after = r
            .starts_after
            .map(|t| convert::from_ts("starts_after", Some(t)))
            .transpose()?;
        let mut starts_before = r
            .starts_before
            .map(|t| convert::from_ts("starts_before", Some(t)))
            .transpose()?;
        if let (Some(a), Some(b)) = (starts_after, starts_before) {
            if b <= a {
                return Err(CoreError::invalid(
                    "starts_before",
                    "must be after starts_after",
                ));
            }
        }
        // A day narrows the range further.
        if !r.day.is_empty() {
            let d = NaiveDate::parse_from_str(&r.day, "%Y-%m-%d").map_err(|_| {
                CoreError::invalid("day", format!("{:?} is not a date like 2026-11-28", r.day))
            })?;
            let start = d.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
            let end = start + chrono::Duration::days(1);
            starts_after = Some(starts_after.map_or(start, |a| a.max(start)));
            starts_before = Some(starts_before.map_or(end, |b| b.min(end)));
        }
        Ok(HearingQuery {
            filter: HearingFilter {
                case_id,
                judge,
                starts_after,
                starts_before,
                newest_first: r.newest_first,
            },
            size: convert::page_size(r.page_size)?,
            after: convert::parse_page_token(&r.page_token)?,
        })
    }
}

/// An InviteParticipant request, checked.
struct Invitation {
    id: HearingId,
    name: DisplayName,
    role: Role,
}

impl TryFrom<pb::InviteParticipantRequest> for Invitation {
    type Error = CoreError;

    fn try_from(r: pb::InviteParticipantRequest) -> Result<Self> {
        Ok(Invitation {
            id: hearing_id(&r.hearing_id)?,
            name: DisplayName::parse("display_name", &r.display_name)?,
            role: convert::role_from("role", r.role)?,
        })
    }
}

impl Services {
    /// The hearing as it stands, with its last seq and head hash.
    async fn answer_hearing(&self, id: HearingId) -> Res<pb::Hearing> {
        let (h, last, head) = self
            .app
            .system()
            .hearing(id)
            .await?
            .ok_or_else(|| Status::not_found("hearing not found"))?;
        Ok(Response::new(convert::hearing(&h, last, &head)))
    }

    /// Runs a hearing command and answers with the hearing after it.
    async fn hearing_command<R>(&self, req: Request<R>) -> Res<pb::Hearing>
    where
        R: TryInto<HearingCommand, Error = CoreError>,
    {
        let caller = self.caller(&req).await?;
        let c = req.into_inner().try_into()?;
        let HearingCommand { id, command } = c;
        in_hearing(id);
        self.app.command(&caller, id, |_| command.clone()).await?;
        self.answer_hearing(id).await
    }

    /// Runs a command that writes one event and answers with that event.
    async fn event_command<R>(&self, req: Request<R>) -> Res<pb::HearingEvent>
    where
        R: TryInto<EventCommand, Error = CoreError>,
    {
        let caller = self.caller(&req).await?;
        let EventCommand { id, command } = req.into_inner().try_into()?;
        in_hearing(id);
        let (_, events) = self.app.command(&caller, id, |_| command.clone()).await?;
        let e = events
            .first()
            .ok_or_else(|| Status::internal("internal error"))?;
        Ok(Response::new(convert::event(e)))
    }

    /// Runs a command on one participant and answers with that participant after it.
    async fn participant_command<R>(&self, req: Request<R>) -> Res<pb::Participant>
    where
        R: TryInto<ParticipantCommand, Error = CoreError>,
    {
        let caller = self.caller(&req).await?;
        let ParticipantCommand {
            id,
            target,
            command,
        } = req.into_inner().try_into()?;
        in_hearing(id);
        let (h, _) = self.app.command(&caller, id, |_| command.clone()).await?;
        let p = h
            .participant(target)
            .ok_or_else(|| Status::not_found(format!("participant {target} not found")))?;
        Ok(Response::new(convert::participant(id, p)))
    }

    /// Runs a command the caller runs on themselves and answers with their own participant.
    async fn own_command<R>(&self, req: Request<R>) -> Res<pb::Participant>
    where
        R: TryInto<OwnCommand, Error = CoreError>,
    {
        let caller = self.caller(&req).await?;
        let OwnCommand { id, command } = req.into_inner().try_into()?;
        in_hearing(id);
        let (h, _) = self.app.command(&caller, id, |_| command.clone()).await?;
        let me = match &caller {
            Caller::Participant { participant_id, .. } => h.participant(*participant_id),
            Caller::Staff(u) => h.participant_of_user(u.id),
        };
        let me = me.ok_or_else(|| Status::internal("internal error"))?;
        Ok(Response::new(convert::participant(id, me)))
    }
}

// Every command RPC is its request converted and handed to one of the three command shapes
// above: one line each, and one span per call carrying the hearing.
delegating_service! {
    impl HearingService for Services;
    delegate {
        "OpenHearing" open_hearing(pb::OpenHearingRequest) -> pb::Hearing => hearing_command;
        "JoinHearing" join_hearing(pb::JoinHearingRequest) -> pb::Participant => own_command;
        "LeaveHearing" leave_hearing(pb::LeaveHearingRequest) -> pb::Participant => own_command;
        "AdmitParticipant" admit_participant(pb::AdmitParticipantRequest) -> pb::Participant => participant_command;
        "StandDownParticipant" stand_down_participant(pb::StandDownParticipantRequest) -> pb::Participant => participant_command;
        "RemoveParticipant" remove_participant(pb::RemoveParticipantRequest) -> pb::Participant => participant_command;
        "MuteParticipant" mute_participant(pb::MuteParticipantRequest) -> pb::Participant => participant_command;
        "GoOnRecord" go_on_record(pb::GoOnRecordRequest) -> pb::Hearing => hearing_command;
        "GoOffRecord" go_off_record(pb::GoOffRecordRequest) -> pb::Hearing => hearing_command;
        "AdjournHearing" adjourn_hearing(pb::AdjournHearingRequest) -> pb::Hearing => hearing_command;
        "CancelHearing" cancel_hearing(pb::CancelHearingRequest) -> pb::Hearing => hearing_command;
        "LockHearing" lock_hearing(pb::LockHearingRequest) -> pb::Hearing => hearing_command;
        "AddNote" add_note(pb::AddNoteRequest) -> pb::HearingEvent => event_command;
        "MessageWaitingRoom" message_waiting_room(pb::MessageWaitingRoomRequest) -> pb::HearingEvent => event_command;
    }
    rest {
        #[tracing::instrument(name = "rpc", skip_all, fields(method = "ScheduleHearing", hearing = tracing::field::Empty))]
        async fn schedule_hearing(&self, req: Request<pb::ScheduleHearingRequest>) -> Res<pb::Hearing> {
            let caller = self.caller(&req).await?;
            let r = NewHearing::try_from(req.into_inner())?;
            let h = self.app.schedule(&caller, r.plan, r.validate_only).await?;
            if r.validate_only {
                // As it would be: nothing has an id yet, and there is no log.
                let mut would_be = convert::hearing(&h, 0, "");
                would_be.id.clear();
                would_be.presiding_participant_id.clear();
                for p in &mut would_be.participants {
                    p.id.clear();
                    p.hearing_id.clear();
                }
                return Ok(Response::new(would_be));
            }
            in_hearing(h.id);
            let (h, last, head) = self
                .app
                .system()
                .hearing(h.id)
                .await?
                .ok_or_else(|| Status::internal("internal error"))?;
            Ok(Response::new(convert::hearing(&h, last, &head)))
        }

        #[tracing::instrument(name = "rpc", skip_all, fields(method = "GetHearing", hearing = tracing::field::Empty))]
        async fn get_hearing(&self, req: Request<pb::GetHearingRequest>) -> Res<pb::Hearing> {
            let caller = self.caller(&req).await?;
            let id = hearing_id(&req.get_ref().hearing_id)?;
            in_hearing(id);
            let (h, last, head) = self.app.get_hearing(&caller, id).await?;
            Ok(Response::new(convert::hearing(&h, last, &head)))
        }

        #[tracing::instrument(name = "rpc", skip_all, fields(method = "ListHearings", hearing = tracing::field::Empty))]
        async fn list_hearings(
            &self,
            req: Request<pb::ListHearingsRequest>,
        ) -> Res<pb::ListHearingsResponse> {
            let caller = self.caller(&req).await?;
            let r = HearingQuery::try_from(req.into_inner())?;
            let page = self
                .app
                .list_hearings(&caller, &r.filter, r.size, r.after)
                .await?;
            Ok(Response::new(pb::ListHearingsResponse {
                hearings: page
                    .items
                    .iter()
                    .map(|h| convert::hearing(h, 0, ""))
                    .collect(),
                next_page_token: convert::page_token(page.next),
            }))
        }

        #[tracing::instrument(name = "rpc", skip_all, fields(method = "InviteParticipant", hearing = tracing::field::Empty))]
        async fn invite_participant(
            &self,
            req: Request<pb::InviteParticipantRequest>,
        ) -> Res<pb::InviteParticipantResponse> {
            let caller = self.caller(&req).await?;
            let r = Invitation::try_from(req.into_inner())?;
            in_hearing(r.id);
            let (p, code) = self.app.invite(&caller, r.id, r.name, r.role).await?;
            Ok(Response::new(pb::InviteParticipantResponse {
                participant: Some(convert::participant(r.id, &p)),
                code,
            }))
        }

        #[tracing::instrument(name = "rpc", skip_all, fields(method = "ReissueInvite", hearing = tracing::field::Empty))]
        async fn reissue_invite(
            &self,
            req: Request<pb::ReissueInviteRequest>,
        ) -> Res<pb::InviteParticipantResponse> {
            let caller = self.caller(&req).await?;
            let r = ParticipantCommand::try_from(req.into_inner())?;
            in_hearing(r.id);
            let (p, code) = self.app.reissue_invite(&caller, r.id, r.target).await?;
            Ok(Response::new(pb::InviteParticipantResponse {
                participant: Some(convert::participant(r.id, &p)),
                code,
            }))
        }

        type WatchHearingStream = EventStream;

        #[tracing::instrument(name = "rpc", skip_all, fields(method = "WatchHearing", hearing = tracing::field::Empty))]
        async fn watch_hearing(
            &self,
            req: Request<pb::WatchHearingRequest>,
        ) -> Res<Self::WatchHearingStream> {
            let caller = self.caller(&req).await?;
            let token = super::bearer(&req)?.to_string();
            let r = req.into_inner();
            let id = hearing_id(&r.hearing_id)?;
            in_hearing(id);
            let stream = self
                .app
                .watch_limited(&caller, &token, id, r.after_seq)
                .await?;
            let stream = stream.map(|item| item.map(|e| convert::event(&e)).map_err(to_status));
            Ok(Response::new(Box::pin(stream)))
        }

        #[tracing::instrument(name = "rpc", skip_all, fields(method = "VerifyHearingLog", hearing = tracing::field::Empty))]
        async fn verify_hearing_log(
            &self,
            req: Request<pb::VerifyHearingLogRequest>,
        ) -> Res<pb::VerifyHearingLogResponse> {
            let caller = self.caller(&req).await?;
            let id = hearing_id(&req.get_ref().hearing_id)?;
            in_hearing(id);
            let v = self.app.verify_log(&caller, id).await?;
            Ok(Response::new(pb::VerifyHearingLogResponse {
                ok: v.ok,
                events_checked: v.events_checked,
                first_bad_seq: v.first_bad_seq.unwrap_or(0),
                head_hash: v.head_hash,
                problem: v.problem.unwrap_or_default(),
            }))
        }
    }
}
