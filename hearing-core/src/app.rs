//! The application: every use case of the control plane, on domain types. The gRPC layer
//! authenticates, converts and calls in here; so do the CLI, the demo seeding and the tests.
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::Stream;
use tokio::sync::broadcast::error::RecvError;

use crate::auth;
use crate::domain::events::EventPayload;
use crate::domain::machine::{self, Command, Rejection};
use crate::domain::permissions::{may_read_case, role_may};
use crate::domain::*;
use crate::error::{CoreError, Result};
use crate::hub::Hub;
use crate::records::{Job, ListPage, MediaFile, SearchHit};
use crate::store::{Decision, Session, SideWrite, Store};

mod media;
mod system;
pub use media::MediaPeer;
pub use system::System;

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

    // ---- accounts ----

    pub async fn add_user(
        &self,
        username: Username,
        display_name: DisplayName,
        role: Role,
        password: String,
    ) -> Result<User> {
        if !role.is_staff() {
            return Err(CoreError::invalid(
                "role",
                "staff accounts are judge, clerk or admin",
            ));
        }
        if password.chars().count() < 8 {
            return Err(CoreError::invalid(
                "password",
                "must be at least 8 characters",
            ));
        }
        let hash = tokio::task::spawn_blocking(move || auth::hash_password(&password))
            .await
            .map_err(|e| CoreError::Internal(e.to_string()))??;
        let user = User {
            id: UserId::new(),
            username,
            display_name,
            role,
        };
        self.store.insert_user(&user, &hash).await?;
        Ok(user)
    }

    pub async fn login(
        &self,
        username: &str,
        password: &str,
    ) -> Result<(String, User, DateTime<Utc>)> {
        let bad = || CoreError::Unauthenticated("wrong username or password".into());
        let found = self.store.user_by_username(username.trim()).await?;
        let password = password.to_string();
        let (user, ok) = match found {
            Some((user, hash)) => {
                let ok =
                    tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash))
                        .await
                        .map_err(|e| CoreError::Internal(e.to_string()))?;
                (Some(user), ok)
            }
            None => (None, false),
        };
        let user = user.filter(|_| ok).ok_or_else(bad)?;
        let token = auth::new_token();
        let expires_at = Utc::now() + self.staff_token_ttl;
        let session = Session {
            user_id: Some(user.id),
            participant_id: None,
            hearing_id: None,
            role: user.role,
            expires_at,
            revoked: false,
        };
        self.store
            .insert_session(&auth::secret_hash(&token), &session)
            .await?;
        Ok((token, user, expires_at))
    }

    /// Redeems a one-time code for a token bound to the participant's hearing and role.
    pub async fn redeem_invite(
        &self,
        code: &str,
    ) -> Result<(String, Participant, HearingId, DateTime<Utc>)> {
        let code_hash = auth::secret_hash(code);
        let (hearing_id, pid) = self.store.invite(&code_hash).await?.ok_or_else(|| {
            CoreError::Unauthenticated("invitation code is not valid or was already used".into())
        })?;
        let token = auth::new_token();
        let token_hash = auth::secret_hash(&token);
        let expires_at = Utc::now() + self.participant_token_ttl;
        let (p, hearing, events) = self
            .store
            .append(hearing_id, |h| {
                let p = h
                    .participant(pid)
                    .ok_or_else(|| CoreError::NotFound(format!("participant {pid} not found")))?;
                let actor = actor_of_participant(p);
                let out = machine::apply(h, &actor, Command::RedeemInvite, Utc::now())
                    .map_err(rejection)?;
                Ok(Decision {
                    now: Utc::now(),
                    actor,
                    hearing: out.hearing,
                    events: out.events,
                    side: vec![
                        SideWrite::ConsumeInvite {
                            participant_id: pid,
                            code_hash: code_hash.clone(),
                        },
                        SideWrite::InsertSession {
                            token_hash: token_hash.clone(),
                            session: Session {
                                user_id: None,
                                participant_id: Some(pid),
                                hearing_id: Some(hearing_id),
                                role: p.role,
                                expires_at,
                                revoked: false,
                            },
                        },
                    ],
                    value: p.clone(),
                })
            })
            .await?;
        self.hub.publish(hearing.id, &events);
        Ok((token, p, hearing_id, expires_at))
    }

    /// Resolves a bearer token to its caller.
    pub async fn authenticate(&self, token: &str) -> Result<Caller> {
        let bad = |why: &str| CoreError::Unauthenticated(why.to_string());
        let session = self
            .store
            .session(&auth::secret_hash(token))
            .await?
            .ok_or_else(|| bad("the token is not valid"))?;
        if session.revoked {
            return Err(bad("the token was revoked"));
        }
        if session.expires_at <= Utc::now() {
            return Err(bad("the token has expired"));
        }
        match (session.user_id, session.participant_id, session.hearing_id) {
            (Some(uid), _, _) => {
                let user = self
                    .store
                    .user(uid)
                    .await?
                    .ok_or_else(|| bad("the account no longer exists"))?;
                Ok(Caller::Staff(user))
            }
            (None, Some(participant_id), Some(hearing_id)) => Ok(Caller::Participant {
                hearing_id,
                participant_id,
                role: session.role,
            }),
            _ => Err(bad("the token is not valid")),
        }
    }

    async fn deny_outside_hearing(
        &self,
        caller: &Caller,
        action: Action,
        target: &str,
        reason: String,
    ) -> CoreError {
        if let Err(e) = self
            .store
            .insert_denial(caller.ids(), action, target, &reason)
            .await
        {
            tracing::error!(error = %e, "could not log a denial");
        }
        metrics::counter!("opencourt_denials_total").increment(1);
        CoreError::PermissionDenied(reason)
    }

    // ---- cases ----

    pub async fn create_case(
        &self,
        caller: &Caller,
        case_number: CaseNumber,
        title: Title,
        visibility: Visibility,
    ) -> Result<Case> {
        if !role_may(caller.role(), Action::CreateCase) || !matches!(caller, Caller::Staff(_)) {
            let why = format!("a {} may not create cases", caller.role());
            return Err(self
                .deny_outside_hearing(caller, Action::CreateCase, case_number.as_str(), why)
                .await);
        }
        let Caller::Staff(user) = caller else {
            unreachable!()
        };
        let case = Case {
            id: CaseId::new(),
            case_number,
            title,
            visibility,
            created_at: Utc::now(),
        };
        self.store.insert_case(&case, user.id).await?;
        Ok(case)
    }

    /// Whether the caller may read `case` (PUBLIC: anyone; RESTRICTED: staff and the case's
    /// participants; SEALED: judges and clerks).
    async fn can_read_case(&self, caller: &Caller, case: &Case) -> Result<bool> {
        let is_case_participant = match caller {
            Caller::Staff(_) => false,
            Caller::Participant { participant_id, .. } => self
                .store
                .participant_hearing(*participant_id)
                .await?
                .is_some_and(|(_, c)| c == case.id),
        };
        Ok(may_read_case(
            caller.role(),
            is_case_participant,
            case.visibility,
        ))
    }

    pub async fn get_case(&self, caller: &Caller, id: CaseId) -> Result<Case> {
        let case = self
            .store
            .case(id)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("case {id} not found")))?;
        if !self.can_read_case(caller, &case).await? {
            let why = format!(
                "a {} may not read a {} case",
                caller.role(),
                case.visibility
            );
            return Err(self
                .deny_outside_hearing(caller, Action::ReadHearing, &id.to_string(), why)
                .await);
        }
        Ok(case)
    }

    /// What a caller reads across cases (lists, search): the visibilities they read everywhere,
    /// plus, for an invited participant, their own case unless it is sealed.
    async fn reading_scope(&self, caller: &Caller) -> Result<(Vec<Visibility>, Option<CaseId>)> {
        let visible = [
            Visibility::Public,
            Visibility::Restricted,
            Visibility::Sealed,
        ]
        .into_iter()
        .filter(|v| may_read_case(caller.role(), false, *v))
        .collect();
        let own_case = match caller {
            Caller::Participant { participant_id, .. } => {
                match self.store.participant_hearing(*participant_id).await? {
                    Some((_, c)) => self
                        .store
                        .case(c)
                        .await?
                        .filter(|c| c.visibility != Visibility::Sealed)
                        .map(|c| c.id),
                    None => None,
                }
            }
            Caller::Staff(_) => None,
        };
        Ok((visible, own_case))
    }

    pub async fn list_cases(
        &self,
        caller: &Caller,
        query: &str,
        limit: u32,
        after: Option<(i64, String)>,
    ) -> Result<ListPage<Case>> {
        let (visible, own_case) = self.reading_scope(caller).await?;
        self.store
            .list_cases(query, &visible, own_case, after, limit)
            .await
    }

    // ---- hearings ----

    pub async fn schedule_hearing(
        &self,
        caller: &Caller,
        case_id: CaseId,
        title: Title,
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
        judge_id: Option<UserId>,
    ) -> Result<Hearing> {
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
        self.get_case(caller, case_id).await?;
        let presiding = Participant {
            id: ParticipantId::new(),
            display_name: judge.display_name.clone(),
            role: Role::Judge,
            presence: Presence::Invited,
            muted: false,
            court_muted: false,
            user_id: Some(judge.id),
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
            participants: vec![presiding],
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
            .schedule_hearing(&hearing, &actor, &event)
            .await?;
        Ok(hearing)
    }

    /// The caller as an actor in hearing `h`, or a denial when they have no standing in it.
    fn actor_in(&self, caller: &Caller, h: &Hearing) -> std::result::Result<Actor, String> {
        match caller {
            Caller::Staff(u) => {
                let p = h.participant_of_user(u.id);
                Ok(Actor {
                    participant_id: p.map(|p| p.id),
                    user_id: Some(u.id),
                    role: u.role,
                    display_name: u.display_name.to_string(),
                })
            }
            Caller::Participant {
                hearing_id,
                participant_id,
                ..
            } => {
                if *hearing_id != h.id {
                    return Err("the invitation is for another hearing".into());
                }
                let p = h
                    .participant(*participant_id)
                    .ok_or_else(|| "not a participant of this hearing".to_string())?;
                Ok(actor_of_participant(p))
            }
        }
    }

    /// Checks read access to a hearing (GetHearing, WatchHearing, VerifyHearingLog).
    async fn read_hearing(
        &self,
        caller: &Caller,
        id: HearingId,
        action: Action,
    ) -> Result<(Hearing, u64, String)> {
        let (h, last, head) = self
            .store
            .hearing(id)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("hearing {id} not found")))?;
        let denied = match caller {
            _ if !role_may(caller.role(), action) => {
                Some(format!("a {} may not {}", caller.role(), action.as_str()))
            }
            Caller::Participant { hearing_id, .. } if *hearing_id != id => {
                Some("the invitation is for another hearing".to_string())
            }
            Caller::Participant { .. } => None,
            Caller::Staff(_) => {
                let case = self
                    .store
                    .case(h.case_id)
                    .await?
                    .ok_or_else(|| CoreError::Internal(format!("hearing {id} has no case")))?;
                (!self.can_read_case(caller, &case).await?).then(|| {
                    format!(
                        "a {} may not read a {} case",
                        caller.role(),
                        case.visibility
                    )
                })
            }
        };
        if let Some(reason) = denied {
            return Err(self.log_denial(caller, &h, action, reason, None).await);
        }
        Ok((h, last, head))
    }

    pub async fn get_hearing(
        &self,
        caller: &Caller,
        id: HearingId,
    ) -> Result<(Hearing, u64, String)> {
        self.read_hearing(caller, id, Action::ReadHearing).await
    }

    pub async fn list_hearings(
        &self,
        caller: &Caller,
        case_id: Option<CaseId>,
        day: Option<(DateTime<Utc>, DateTime<Utc>)>,
        judge: Option<UserId>,
        limit: u32,
        after: Option<(i64, String)>,
    ) -> Result<ListPage<Hearing>> {
        if !matches!(caller, Caller::Staff(_)) || !role_may(caller.role(), Action::ListHearings) {
            let why = format!("a {} may not list hearings", caller.role());
            return Err(self
                .deny_outside_hearing(caller, Action::ListHearings, "", why)
                .await);
        }
        self.store
            .list_hearings(case_id, day, judge, after, limit)
            .await
    }

    /// Appends an `ActionDenied` event to the hearing's log and returns PERMISSION_DENIED.
    async fn log_denial(
        &self,
        caller: &Caller,
        h: &Hearing,
        action: Action,
        reason: String,
        target: Option<ParticipantId>,
    ) -> CoreError {
        metrics::counter!("opencourt_denials_total").increment(1);
        let actor = self.actor_in(caller, h).unwrap_or_else(|_| {
            let (user_id, participant_id, role) = caller.ids();
            Actor {
                participant_id,
                user_id,
                role,
                display_name: match caller {
                    Caller::Staff(u) => u.display_name.to_string(),
                    Caller::Participant { .. } => String::new(),
                },
            }
        });
        let payload = EventPayload::Denied {
            action: action.as_str().to_string(),
            reason: reason.clone(),
            target_participant_id: target,
        };
        let res = self
            .store
            .append(h.id, |cur| {
                Ok(Decision {
                    now: Utc::now(),
                    actor: actor.clone(),
                    hearing: cur.clone(),
                    events: vec![payload.clone()],
                    side: vec![],
                    value: (),
                })
            })
            .await;
        match res {
            Ok((_, _, events)) => self.hub.publish(h.id, &events),
            Err(e) => tracing::error!(error = %e, hearing = %h.id, "could not log a denial"),
        }
        CoreError::PermissionDenied(reason)
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
    async fn command_with(
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
        let code = auth::new_invite_code();
        let code_hash = auth::secret_hash(&code);
        let (hearing, _) = self
            .command_with(
                caller,
                id,
                |_| Command::Invite {
                    participant_id: pid,
                    display_name: display_name.clone(),
                    role,
                },
                vec![SideWrite::SetInviteCode {
                    participant_id: pid,
                    code_hash,
                }],
            )
            .await?;
        let p = hearing
            .participant(pid)
            .cloned()
            .ok_or_else(|| CoreError::Internal("invited participant missing".into()))?;
        Ok((p, code))
    }

    pub async fn verify_log(&self, caller: &Caller, id: HearingId) -> Result<Verification> {
        self.read_hearing(caller, id, Action::VerifyLog).await?;
        self.store.verify_log(id).await
    }

    /// Events after `after_seq`, then live ones as they commit: no gap, no repeat. Ends after
    /// the caller's own removal.
    pub async fn watch(
        &self,
        caller: &Caller,
        id: HearingId,
        after_seq: u64,
    ) -> Result<impl Stream<Item = Result<StoredEvent>> + Send + 'static> {
        self.read_hearing(caller, id, Action::Watch).await?;
        let own = match caller {
            Caller::Participant { participant_id, .. } => Some(*participant_id),
            Caller::Staff(_) => None,
        };
        let events = self.follow(id, after_seq, own, self.watch_poll);
        let closed = self.hub.closed();
        // Besides the caller's removal, only the node's shutdown ends a watch (UNAVAILABLE: watch
        // again, on this node or another, after the last seq received); an open stream must not
        // hold the server's graceful shutdown.
        Ok(async_stream::stream! {
            tokio::pin!(events);
            tokio::pin!(closed);
            loop {
                tokio::select! {
                    biased;
                    () = &mut closed => {
                        yield Err(CoreError::Unavailable(
                            "the server is shutting down: watch again after the last seq received".into(),
                        ));
                        break;
                    }
                    e = futures::StreamExt::next(&mut events) => match e {
                        Some(e) => yield e,
                        None => break,
                    },
                }
            }
        })
    }

    /// Every event of hearing `id` after `after_seq`, in order and without gaps: the log first,
    /// then live events from this node's hub, polling the log every `poll` for what other nodes
    /// appended. Ends after the removal of `own`, if given. No permission check: for callers
    /// that checked (`watch`) and for the server's own followers (the media supervisor).
    pub fn follow(
        &self,
        id: HearingId,
        after_seq: u64,
        own: Option<ParticipantId>,
        poll: Duration,
    ) -> impl Stream<Item = Result<StoredEvent>> + Send + 'static {
        let store = self.store.clone();
        let hub = self.hub.clone();
        let mut rx = hub.subscribe(id);
        async_stream::try_stream! {
            let _gauge = WatchGauge::new();
            let mut last = after_seq;
            let mut catch_up = true;
            loop {
                if catch_up {
                    loop {
                        let batch = store.events_after(id, last, 500).await?;
                        let n = batch.len();
                        for e in batch {
                            last = e.seq;
                            let removed_me = is_removal_of(&e, own);
                            yield e;
                            if removed_me { return; }
                        }
                        if n < 500 { break; }
                    }
                    catch_up = false;
                }
                // Wait for a live event; poll the log now and then for other nodes' appends.
                match tokio::time::timeout(poll, rx.recv()).await {
                    Ok(Ok(e)) if e.seq == last + 1 => {
                        last = e.seq;
                        let removed_me = is_removal_of(&e, own);
                        yield e;
                        if removed_me { return; }
                    }
                    Ok(Ok(e)) if e.seq <= last => {}
                    Ok(Ok(_)) | Ok(Err(RecvError::Lagged(_))) | Err(_) => catch_up = true,
                    Ok(Err(RecvError::Closed)) => {
                        rx = hub.subscribe(id);
                        catch_up = true;
                    }
                }
            }
        }
    }
}

fn is_removal_of(e: &StoredEvent, own: Option<ParticipantId>) -> bool {
    own.is_some()
        && matches!(e.payload(), Some(EventPayload::Removed { participant_id, .. }) if Some(participant_id) == own)
}

fn actor_of_participant(p: &Participant) -> Actor {
    Actor {
        participant_id: Some(p.id),
        user_id: p.user_id,
        role: p.role,
        display_name: p.display_name.to_string(),
    }
}

struct WatchGauge;

impl WatchGauge {
    fn new() -> Self {
        metrics::gauge!("opencourt_watchers").increment(1.0);
        WatchGauge
    }
}

impl Drop for WatchGauge {
    fn drop(&mut self) {
        metrics::gauge!("opencourt_watchers").decrement(1.0);
    }
}

impl App {
    /// A hearing's transcript with the case number and hearing title for its heading.
    pub async fn transcript(
        &self,
        caller: &Caller,
        id: HearingId,
    ) -> Result<(
        crate::domain::transcript::Transcript,
        crate::domain::transcript_export::Heading,
    )> {
        let (h, _, _) = self.read_hearing(caller, id, Action::ReadHearing).await?;
        let t =
            self.store.transcript(id).await?.ok_or_else(|| {
                CoreError::NotFound(format!("hearing {id} has no transcript yet"))
            })?;
        let case = self.store.case(h.case_id).await?;
        let heading = crate::domain::transcript_export::Heading {
            case: case.map(|c| format!("{} {}", c.case_number.as_str(), c.title)),
            hearing: Some(format!(
                "{} ({})",
                h.title,
                h.starts_at.format("%Y-%m-%d %H:%M UTC")
            )),
        };
        Ok((t, heading))
    }

    /// Transcript segments matching `query`, in cases the caller may read.
    pub async fn search_transcripts(
        &self,
        caller: &Caller,
        query: &str,
        case: Option<CaseId>,
        limit: u32,
    ) -> Result<Vec<SearchHit>> {
        if query.trim().is_empty() {
            return Err(CoreError::invalid("query", "is required"));
        }
        if let Some(c) = case {
            self.get_case(caller, c).await?;
        }
        let (visible, own_case) = self.reading_scope(caller).await?;
        self.store
            .search_transcripts(query, case, &visible, own_case, limit)
            .await
    }
}

/// The text around the first match of any query word, with the match in [brackets].
pub fn snippet(text: &str, query: &str) -> String {
    let lower = text.to_lowercase();
    let found = query
        .split_whitespace()
        .filter_map(|w| lower.find(&w.to_lowercase()).map(|i| (i, w.len())))
        .min();
    let chars: Vec<char> = text.chars().collect();
    let Some((byte_at, byte_len)) = found.filter(|_| lower.len() == text.len()) else {
        return chars.iter().take(160).collect();
    };
    let at = text[..byte_at].chars().count();
    let len = text[byte_at..byte_at + byte_len].chars().count();
    let from = at.saturating_sub(60);
    let to = (at + len + 60).min(chars.len());
    let s = |a: usize, b: usize| chars[a..b].iter().collect::<String>();
    format!(
        "{}{}[{}]{}{}",
        if from > 0 { "…" } else { "" },
        s(from, at),
        s(at, at + len),
        s(at + len, to),
        if to < chars.len() { "…" } else { "" }
    )
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

impl App {
    /// Stores a finished transcription on the case record, marks its job done and logs the
    /// transcript's hash in the hearing's log, all in one transaction, and only while `owner`
    /// still holds the job's lease. Returns the transcript id.
    pub async fn complete_transcription(
        &self,
        job: &Job,
        owner: &str,
        transcript: &crate::domain::transcript::Transcript,
    ) -> Result<String> {
        let tid = uuid::Uuid::now_v7().to_string();
        let event = EventPayload::TranscriptStored {
            transcript_id: tid.clone(),
            sha256: crate::domain::transcript::transcript_sha256(transcript),
            segments: transcript.segments.len() as u64,
        };
        let (_, _, events) = self
            .store
            .append(job.hearing_id, |h| {
                Ok(Decision {
                    now: Utc::now(),
                    actor: system_actor("transcription worker"),
                    hearing: h.clone(),
                    events: vec![event.clone()],
                    side: vec![
                        SideWrite::CompleteJob {
                            job_id: job.id.clone(),
                            owner: owner.to_string(),
                        },
                        SideWrite::InsertTranscript {
                            transcript_id: tid.clone(),
                            job_id: job.id.clone(),
                            hearing_id: job.hearing_id,
                            transcript: transcript.clone(),
                        },
                    ],
                    value: (),
                })
            })
            .await?;
        self.hub.publish(job.hearing_id, &events);
        Ok(tid)
    }

    /// Appends live captions (final transcript segments as the hearing goes) to the log, where
    /// watchers see them at once.
    pub async fn add_captions(
        &self,
        hearing: HearingId,
        captions: Vec<EventPayload>,
    ) -> Result<Vec<StoredEvent>> {
        if captions.is_empty() {
            return Ok(Vec::new());
        }
        let (_, _, stored) = self
            .store
            .append(hearing, |h| {
                Ok(Decision {
                    now: Utc::now(),
                    actor: system_actor("live captions"),
                    hearing: h.clone(),
                    events: captions.clone(),
                    side: Vec::new(),
                    value: (),
                })
            })
            .await?;
        self.hub.publish(hearing, &stored);
        Ok(stored)
    }

    /// Records closed media files and recording gaps: each becomes an event in the hearing's
    /// log (with the file's hash) and a row on the case record, in one transaction.
    pub async fn record_media(
        &self,
        hearing: HearingId,
        files: &[MediaFile],
        gaps: &[(u64, u64, String)],
    ) -> Result<Vec<StoredEvent>> {
        let mut events: Vec<EventPayload> = files
            .iter()
            .map(|m| EventPayload::MediaClosed {
                kind: m.kind,
                file: m.file.clone(),
                participant_id: m.participant_id,
                sha256: m.sha256.clone(),
                size: m.size,
                duration_ms: m.duration_ms,
                start_ms: m.start_ms,
                end_ms: m.end_ms,
            })
            .collect();
        events.extend(
            gaps.iter()
                .map(|(from_ms, to_ms, reason)| EventPayload::RecordingGap {
                    from_ms: *from_ms,
                    to_ms: *to_ms,
                    reason: reason.clone(),
                }),
        );
        let side: Vec<SideWrite> = files
            .iter()
            .map(|m| SideWrite::InsertMedia {
                hearing_id: hearing,
                media: m.clone(),
            })
            .collect();
        let (_, _, stored) = self
            .store
            .append(hearing, |h| {
                Ok(Decision {
                    now: Utc::now(),
                    actor: system_actor("recorder"),
                    hearing: h.clone(),
                    events: events.clone(),
                    side: side.clone(),
                    value: (),
                })
            })
            .await?;
        self.hub.publish(hearing, &stored);
        Ok(stored)
    }

    /// Verifies a hearing's whole record: the event chain; every media file the log announces
    /// (when `media_dir` is given) against its logged SHA-256 and size; and the stored transcript
    /// against the hash the log recorded for it. Returns the problems found (empty when sound).
    pub async fn verify_record(
        &self,
        id: HearingId,
        media_dir: Option<&std::path::Path>,
    ) -> Result<(Verification, Vec<String>)> {
        use sha2::{Digest, Sha256};
        let v = self.store.verify_log(id).await?;
        let mut problems = Vec::new();
        let events = self.store.events_after(id, 0, u32::MAX).await?;
        let mut transcript_hash = None;
        for e in &events {
            match e.payload() {
                Some(EventPayload::MediaClosed {
                    file, sha256, size, ..
                }) => {
                    let Some(dir) = media_dir else { continue };
                    let path = dir.join(&file);
                    match std::fs::read(&path) {
                        Ok(bytes) => {
                            let got = hex::encode(Sha256::digest(&bytes));
                            if got != sha256 || bytes.len() as u64 != size {
                                problems.push(format!(
                                    "{}: SHA-256 {got} ({} bytes) does not match the log's {sha256} ({size} bytes, event {})",
                                    path.display(),
                                    bytes.len(),
                                    e.seq
                                ));
                            }
                        }
                        Err(err) => problems.push(format!(
                            "{}: {err} (announced in event {})",
                            path.display(),
                            e.seq
                        )),
                    }
                }
                Some(EventPayload::TranscriptStored { sha256, .. }) => {
                    transcript_hash = Some((sha256, e.seq))
                }
                _ => {}
            }
        }
        match (self.store.transcript(id).await?, transcript_hash) {
            (Some(t), Some((logged, seq))) => {
                let got = crate::domain::transcript::transcript_sha256(&t);
                if got != logged {
                    problems.push(format!("the stored transcript's SHA-256 {got} does not match event {seq}'s {logged}"));
                }
            }
            (Some(_), None) => {
                problems.push("a transcript is stored but the log never recorded it".into())
            }
            (None, Some((_, seq))) => {
                problems.push(format!("event {seq} records a transcript that is missing"))
            }
            (None, None) => {}
        }
        Ok((v, problems))
    }
}

/// One hearing on a case record.
pub struct HearingRecord {
    pub hearing: Hearing,
    pub last_seq: u64,
    pub head_hash: String,
    pub events: Vec<StoredEvent>,
    pub media: Vec<MediaFile>,
    pub transcript_segments: Option<usize>,
}

impl App {
    /// A case's whole record, for a caller who may read the case. A participant sees their own
    /// hearing's events only; other hearings of the case are listed without their logs.
    pub async fn case_record(
        &self,
        caller: &Caller,
        id: CaseId,
    ) -> Result<(Case, Vec<HearingRecord>)> {
        let case = self.get_case(caller, id).await?;
        let mut out = Vec::new();
        for hid in self.store.case_hearings(id).await? {
            let Some((hearing, last_seq, head_hash)) = self.store.hearing(hid).await? else {
                continue;
            };
            let own = match caller {
                Caller::Participant { hearing_id, .. } => *hearing_id == hid,
                Caller::Staff(_) => true,
            };
            let (events, media, transcript_segments) = if own {
                (
                    self.store.events_after(hid, 0, u32::MAX).await?,
                    self.store.media_files(hid).await?,
                    self.store.transcript(hid).await?.map(|t| t.segments.len()),
                )
            } else {
                (Vec::new(), Vec::new(), None)
            };
            out.push(HearingRecord {
                hearing,
                last_seq,
                head_hash,
                events,
                media,
                transcript_segments,
            });
        }
        Ok((case, out))
    }

    /// Whether `caller` may read hearing `id`'s media (the same rule as GetHearing).
    pub async fn may_read_media(&self, caller: &Caller, id: HearingId) -> Result<()> {
        self.read_hearing(caller, id, Action::ReadHearing)
            .await
            .map(|_| ())
    }
}
