//! The tonic services: authenticate, convert, call the application, convert back.
mod convert;
mod record;
mod status;

use std::pin::Pin;

use chrono::{NaiveDate, Utc};
use futures::{Stream, StreamExt};
use opencourt_proto::v1 as pb;
use pb::auth_service_server::{AuthService, AuthServiceServer};
use pb::case_service_server::{CaseService, CaseServiceServer};
use pb::hearing_service_server::{HearingService, HearingServiceServer};
use tonic::{Request, Response, Status};

use crate::app::{App, Caller};
use crate::domain::machine::Command;
use crate::domain::*;
use crate::error::CoreError;

pub use convert::ts;
pub use status::to_status;

/// The largest request any RPC takes; bigger ones are refused with INVALID_ARGUMENT.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

type Res<T> = Result<Response<T>, Status>;

pub struct Services {
    app: App,
}

impl Services {
    pub fn new(app: App) -> Self {
        Services { app }
    }

    pub fn auth(&self) -> AuthServiceServer<Self> {
        AuthServiceServer::new(Services {
            app: self.app.clone(),
        })
        .max_decoding_message_size(MAX_REQUEST_BYTES)
    }

    pub fn cases(&self) -> CaseServiceServer<Self> {
        CaseServiceServer::new(Services {
            app: self.app.clone(),
        })
        .max_decoding_message_size(MAX_REQUEST_BYTES)
    }

    pub fn hearings(&self) -> HearingServiceServer<Self> {
        HearingServiceServer::new(Services {
            app: self.app.clone(),
        })
        .max_decoding_message_size(MAX_REQUEST_BYTES)
    }

    async fn caller<T>(&self, req: &Request<T>) -> Result<Caller, Status> {
        caller(&self.app, req).await
    }

    /// Runs a hearing command and answers with the hearing after it.
    async fn hearing_command(
        &self,
        caller: &Caller,
        id: HearingId,
        make: impl Fn(&Hearing) -> Command,
    ) -> Res<pb::Hearing> {
        self.app.command(caller, id, make).await?;
        let (h, last, head) = self
            .app
            .system()
            .hearing(id)
            .await?
            .ok_or_else(|| Status::not_found("hearing not found"))?;
        Ok(Response::new(convert::hearing(&h, last, &head)))
    }

    /// Runs a command on one participant and answers with that participant after it.
    async fn participant_command(
        &self,
        caller: &Caller,
        id: HearingId,
        pid: ParticipantId,
        make: impl Fn(&Hearing) -> Command,
    ) -> Res<pb::Participant> {
        let (h, _) = self.app.command(caller, id, make).await?;
        let p = h
            .participant(pid)
            .ok_or_else(|| Status::not_found(format!("participant {pid} not found")))?;
        Ok(Response::new(convert::participant(id, p)))
    }
}

/// The caller of a request, from its `authorization: Bearer <token>` (for services outside
/// this crate, such as the MediaService).
pub async fn caller<T>(app: &App, req: &Request<T>) -> Result<Caller, Status> {
    let header = req
        .metadata()
        .get("authorization")
        .ok_or_else(|| Status::unauthenticated("missing authorization: Bearer <token>"))?;
    let token = header
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Status::unauthenticated("authorization must be: Bearer <token>"))?;
    Ok(app.authenticate(token).await?)
}

/// The caller's own participant in `h`, after a command that acted on the caller.
fn own_participant(caller: &Caller, h: &Hearing, id: HearingId) -> Res<pb::Participant> {
    let me = match caller {
        Caller::Participant { participant_id, .. } => h.participant(*participant_id),
        Caller::Staff(u) => h.participant_of_user(u.id),
    };
    let me = me.ok_or_else(|| Status::internal("internal error"))?;
    Ok(Response::new(convert::participant(id, me)))
}

fn hearing_id(s: &str) -> Result<HearingId, Status> {
    Ok(HearingId::parse("hearing_id", s)?)
}

fn participant_id(s: &str) -> Result<ParticipantId, Status> {
    Ok(ParticipantId::parse("participant_id", s)?)
}

#[tonic::async_trait]
impl AuthService for Services {
    async fn login(&self, req: Request<pb::LoginRequest>) -> Res<pb::LoginResponse> {
        let r = req.into_inner();
        if r.username.is_empty() {
            return Err(CoreError::invalid("username", "is required").into());
        }
        if r.password.is_empty() || r.password.len() > 1024 {
            return Err(CoreError::invalid("password", "is required (at most 1024 bytes)").into());
        }
        let (token, user, expires) = self.app.login(&r.username, &r.password).await?;
        Ok(Response::new(pb::LoginResponse {
            token,
            user: Some(convert::user(&user)),
            expires_at: Some(ts(expires)),
        }))
    }

    async fn redeem_invite(
        &self,
        req: Request<pb::RedeemInviteRequest>,
    ) -> Res<pb::RedeemInviteResponse> {
        let code = req.into_inner().code;
        if code.trim().is_empty() || code.len() > 128 {
            return Err(CoreError::invalid("code", "is required (at most 128 characters)").into());
        }
        let (token, p, hearing, expires) = self.app.redeem_invite(&code).await?;
        Ok(Response::new(pb::RedeemInviteResponse {
            token,
            participant: Some(convert::participant(hearing, &p)),
            expires_at: Some(ts(expires)),
        }))
    }
}

#[tonic::async_trait]
impl CaseService for Services {
    async fn create_case(&self, req: Request<pb::CreateCaseRequest>) -> Res<pb::Case> {
        let caller = self.caller(&req).await?;
        let r = req.into_inner();
        let number = CaseNumber::parse("case_number", &r.case_number)?;
        let title = Title::parse("title", &r.title)?;
        let vis = convert::visibility_from("visibility", r.visibility)?;
        let c = self.app.create_case(&caller, number, title, vis).await?;
        Ok(Response::new(convert::case(&c)))
    }

    async fn get_case(&self, req: Request<pb::GetCaseRequest>) -> Res<pb::Case> {
        let caller = self.caller(&req).await?;
        let id = CaseId::parse("id", &req.get_ref().id)?;
        Ok(Response::new(convert::case(
            &self.app.get_case(&caller, id).await?,
        )))
    }

    async fn list_cases(&self, req: Request<pb::ListCasesRequest>) -> Res<pb::ListCasesResponse> {
        let caller = self.caller(&req).await?;
        let r = req.into_inner();
        if r.query.chars().count() > 200 {
            return Err(CoreError::invalid("query", "is longer than 200 characters").into());
        }
        let size = convert::page_size(r.page_size)?;
        let after = convert::parse_page_token(&r.page_token)?;
        let page = self.app.list_cases(&caller, &r.query, size, after).await?;
        Ok(Response::new(pb::ListCasesResponse {
            cases: page.items.iter().map(convert::case).collect(),
            next_page_token: convert::page_token(page.next),
        }))
    }

    async fn get_case_record(&self, req: Request<pb::GetCaseRecordRequest>) -> Res<pb::CaseRecord> {
        let caller = self.caller(&req).await?;
        let id = CaseId::parse("case_id", &req.get_ref().case_id)?;
        let (case, hearings) = self.app.case_record(&caller, id).await?;
        let media = |h: &crate::app::HearingRecord,
                     kind: crate::domain::events::MediaKind|
         -> Vec<pb::MediaFile> {
            h.media
                .iter()
                .filter(|m| m.kind == kind)
                .map(|m| pb::MediaFile {
                    kind: if kind == crate::domain::events::MediaKind::Track {
                        "track"
                    } else {
                        "segment"
                    }
                    .into(),
                    file: m.file.clone(),
                    participant_id: m.participant_id.map(|p| p.to_string()).unwrap_or_default(),
                    sha256: m.sha256.clone(),
                    size: m.size,
                    duration_ms: m.duration_ms,
                    start_ms: m.start_ms,
                    end_ms: m.end_ms,
                    download_path: format!("/media/{}/{}", h.hearing.id, m.file),
                })
                .collect()
        };
        Ok(Response::new(pb::CaseRecord {
            case: Some(convert::case(&case)),
            hearings: hearings
                .iter()
                .map(|h| pb::HearingRecord {
                    hearing: Some(convert::hearing(&h.hearing, h.last_seq, &h.head_hash)),
                    events: h.events.iter().map(convert::event).collect(),
                    recordings: media(h, crate::domain::events::MediaKind::Segment),
                    tracks: media(h, crate::domain::events::MediaKind::Track),
                    has_transcript: h.transcript_segments.is_some(),
                    transcript_segments: h.transcript_segments.unwrap_or(0) as u32,
                })
                .collect(),
        }))
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<pb::HearingEvent, Status>> + Send>>;

#[tonic::async_trait]
impl HearingService for Services {
    async fn schedule_hearing(&self, req: Request<pb::ScheduleHearingRequest>) -> Res<pb::Hearing> {
        let caller = self.caller(&req).await?;
        let r = req.into_inner();
        let case_id = CaseId::parse("case_id", &r.case_id)?;
        let title = Title::parse("title", &r.title)?;
        let starts = convert::from_ts("starts_at", r.starts_at)?;
        let ends = convert::from_ts("ends_at", r.ends_at)?;
        if ends <= starts {
            return Err(CoreError::invalid("ends_at", "must be after starts_at").into());
        }
        if ends - starts > chrono::Duration::days(7) {
            return Err(CoreError::invalid("ends_at", "a hearing lasts at most 7 days").into());
        }
        let judge = if r.judge_id.is_empty() {
            None
        } else {
            Some(UserId::parse("judge_id", &r.judge_id)?)
        };
        let h = self
            .app
            .schedule_hearing(&caller, case_id, title, starts, ends, judge)
            .await?;
        let (h, last, head) = self
            .app
            .system()
            .hearing(h.id)
            .await?
            .ok_or_else(|| Status::internal("internal error"))?;
        Ok(Response::new(convert::hearing(&h, last, &head)))
    }

    async fn get_hearing(&self, req: Request<pb::GetHearingRequest>) -> Res<pb::Hearing> {
        let caller = self.caller(&req).await?;
        let id = hearing_id(&req.get_ref().hearing_id)?;
        let (h, last, head) = self.app.get_hearing(&caller, id).await?;
        Ok(Response::new(convert::hearing(&h, last, &head)))
    }

    async fn list_hearings(
        &self,
        req: Request<pb::ListHearingsRequest>,
    ) -> Res<pb::ListHearingsResponse> {
        let caller = self.caller(&req).await?;
        let r = req.into_inner();
        let case_id = (!r.case_id.is_empty())
            .then(|| CaseId::parse("case_id", &r.case_id))
            .transpose()?;
        let judge = (!r.judge_id.is_empty())
            .then(|| UserId::parse("judge_id", &r.judge_id))
            .transpose()?;
        let day = if r.day.is_empty() {
            None
        } else {
            let d = NaiveDate::parse_from_str(&r.day, "%Y-%m-%d").map_err(|_| {
                CoreError::invalid("day", format!("{:?} is not a date like 2026-11-28", r.day))
            })?;
            let start = d.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
            Some((start, start + chrono::Duration::days(1)))
        };
        let size = convert::page_size(r.page_size)?;
        let after = convert::parse_page_token(&r.page_token)?;
        let page = self
            .app
            .list_hearings(&caller, case_id, day, judge, size, after)
            .await?;
        let mut hearings = Vec::with_capacity(page.items.len());
        for h in &page.items {
            hearings.push(convert::hearing(h, 0, ""));
        }
        Ok(Response::new(pb::ListHearingsResponse {
            hearings,
            next_page_token: convert::page_token(page.next),
        }))
    }

    async fn invite_participant(
        &self,
        req: Request<pb::InviteParticipantRequest>,
    ) -> Res<pb::InviteParticipantResponse> {
        let caller = self.caller(&req).await?;
        let r = req.into_inner();
        let id = hearing_id(&r.hearing_id)?;
        let name = DisplayName::parse("display_name", &r.display_name)?;
        let role = convert::role_from("role", r.role)?;
        let (p, code) = self.app.invite(&caller, id, name, role).await?;
        Ok(Response::new(pb::InviteParticipantResponse {
            participant: Some(convert::participant(id, &p)),
            code,
        }))
    }

    async fn open_hearing(&self, req: Request<pb::OpenHearingRequest>) -> Res<pb::Hearing> {
        let caller = self.caller(&req).await?;
        let id = hearing_id(&req.get_ref().hearing_id)?;
        self.hearing_command(&caller, id, |_| Command::Open).await
    }

    async fn join_hearing(&self, req: Request<pb::JoinHearingRequest>) -> Res<pb::Participant> {
        let caller = self.caller(&req).await?;
        let id = hearing_id(&req.get_ref().hearing_id)?;
        let new_pid = ParticipantId::new();
        let (h, _) = self
            .app
            .command(&caller, id, |_| Command::Join {
                staff_participant_id: new_pid,
            })
            .await?;
        own_participant(&caller, &h, id)
    }

    async fn leave_hearing(&self, req: Request<pb::LeaveHearingRequest>) -> Res<pb::Participant> {
        let caller = self.caller(&req).await?;
        let r = req.into_inner();
        let id = hearing_id(&r.hearing_id)?;
        let reason = Reason::parse_optional("reason", &r.reason)?;
        let (h, _) = self
            .app
            .command(&caller, id, |_| Command::Leave {
                reason: reason.clone(),
                disconnected: r.disconnected,
            })
            .await?;
        own_participant(&caller, &h, id)
    }

    async fn admit_participant(
        &self,
        req: Request<pb::AdmitParticipantRequest>,
    ) -> Res<pb::Participant> {
        let caller = self.caller(&req).await?;
        let r = req.into_inner();
        let (id, pid) = (
            hearing_id(&r.hearing_id)?,
            participant_id(&r.participant_id)?,
        );
        self.participant_command(&caller, id, pid, |_| Command::Admit { target: pid })
            .await
    }

    async fn stand_down_participant(
        &self,
        req: Request<pb::StandDownParticipantRequest>,
    ) -> Res<pb::Participant> {
        let caller = self.caller(&req).await?;
        let r = req.into_inner();
        let (id, pid) = (
            hearing_id(&r.hearing_id)?,
            participant_id(&r.participant_id)?,
        );
        let reason = Reason::parse_optional("reason", &r.reason)?;
        self.participant_command(&caller, id, pid, |_| Command::StandDown {
            target: pid,
            reason: reason.clone(),
        })
        .await
    }

    async fn remove_participant(
        &self,
        req: Request<pb::RemoveParticipantRequest>,
    ) -> Res<pb::Participant> {
        let caller = self.caller(&req).await?;
        let r = req.into_inner();
        let (id, pid) = (
            hearing_id(&r.hearing_id)?,
            participant_id(&r.participant_id)?,
        );
        let reason = Reason::parse("reason", &r.reason)?;
        self.participant_command(&caller, id, pid, |_| Command::Remove {
            target: pid,
            reason: reason.clone(),
        })
        .await
    }

    async fn mute_participant(
        &self,
        req: Request<pb::MuteParticipantRequest>,
    ) -> Res<pb::Participant> {
        let caller = self.caller(&req).await?;
        let r = req.into_inner();
        let (id, pid) = (
            hearing_id(&r.hearing_id)?,
            participant_id(&r.participant_id)?,
        );
        self.participant_command(&caller, id, pid, |_| Command::Mute {
            target: pid,
            muted: r.muted,
        })
        .await
    }

    async fn go_on_record(&self, req: Request<pb::GoOnRecordRequest>) -> Res<pb::Hearing> {
        let caller = self.caller(&req).await?;
        let id = hearing_id(&req.get_ref().hearing_id)?;
        self.hearing_command(&caller, id, |_| Command::GoOnRecord)
            .await
    }

    async fn go_off_record(&self, req: Request<pb::GoOffRecordRequest>) -> Res<pb::Hearing> {
        let caller = self.caller(&req).await?;
        let r = req.into_inner();
        let id = hearing_id(&r.hearing_id)?;
        let reason = Reason::parse("reason", &r.reason)?;
        self.hearing_command(&caller, id, |_| Command::GoOffRecord {
            reason: reason.clone(),
        })
        .await
    }

    async fn adjourn_hearing(&self, req: Request<pb::AdjournHearingRequest>) -> Res<pb::Hearing> {
        let caller = self.caller(&req).await?;
        let r = req.into_inner();
        let id = hearing_id(&r.hearing_id)?;
        let reason = Reason::parse_optional("reason", &r.reason)?;
        self.hearing_command(&caller, id, |_| Command::Adjourn {
            reason: reason.clone(),
        })
        .await
    }

    async fn cancel_hearing(&self, req: Request<pb::CancelHearingRequest>) -> Res<pb::Hearing> {
        let caller = self.caller(&req).await?;
        let r = req.into_inner();
        let id = hearing_id(&r.hearing_id)?;
        let reason = Reason::parse("reason", &r.reason)?;
        self.hearing_command(&caller, id, |_| Command::Cancel {
            reason: reason.clone(),
        })
        .await
    }

    async fn add_note(&self, req: Request<pb::AddNoteRequest>) -> Res<pb::HearingEvent> {
        let caller = self.caller(&req).await?;
        let r = req.into_inner();
        let id = hearing_id(&r.hearing_id)?;
        let text = NoteText::parse("text", &r.text)?;
        let (_, events) = self
            .app
            .command(&caller, id, |_| Command::AddNote { text: text.clone() })
            .await?;
        let e = events
            .first()
            .ok_or_else(|| Status::internal("internal error"))?;
        Ok(Response::new(convert::event(e)))
    }

    type WatchHearingStream = EventStream;

    async fn watch_hearing(
        &self,
        req: Request<pb::WatchHearingRequest>,
    ) -> Res<Self::WatchHearingStream> {
        let caller = self.caller(&req).await?;
        let r = req.into_inner();
        let id = hearing_id(&r.hearing_id)?;
        let stream = self.app.watch(&caller, id, r.after_seq).await?;
        let stream = stream.map(|item| item.map(|e| convert::event(&e)).map_err(to_status));
        Ok(Response::new(Box::pin(stream)))
    }

    async fn verify_hearing_log(
        &self,
        req: Request<pb::VerifyHearingLogRequest>,
    ) -> Res<pb::VerifyHearingLogResponse> {
        let caller = self.caller(&req).await?;
        let id = hearing_id(&req.get_ref().hearing_id)?;
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

/// Today's UTC date, for clients that list today's hearings.
pub fn today() -> String {
    Utc::now().format("%Y-%m-%d").to_string()
}
