//! Every RPC against every role: allowed calls succeed (or get the one state refusal their place
//! in the sequence implies); denied calls are PERMISSION_DENIED, change nothing, and leave a
//! denial in the hearing's log (or the access log); removed participants' tokens are revoked.
use hearing_core::domain::Role;
use hearing_core::domain::{EventPayload, HearingId, StoredEvent};
use opencourt_proto::v1 as pb;
use opencourt_tests::*;
use sqlx::Row;
use tonic::{Code, Status};

/// Declares `Rpc` and `Rpc::SEQUENCE`, every call in the order the matrix makes them.
macro_rules! rpcs {
    ($($rpc:ident,)*) => {
        #[derive(Clone, Copy, Debug, PartialEq)]
        enum Rpc {
            $($rpc,)*
        }

        impl Rpc {
            const SEQUENCE: &[Rpc] = &[$(Rpc::$rpc,)*];
        }
    };
}

rpcs! {
    CreateCase,
    ScheduleHearing,
    ListHearings,
    GetCase,
    GetHearing,
    Watch,
    Verify,
    Invite,
    Join,
    Admit,
    MuteOther,
    MutePresidingJudge,
    UnmuteObserver,
    StandDown,
    AddNote,
    // The presiding judge locks the room, the clerk unlocks it.
    Lock,
    MessageWaitingRoom,
    GoOnRecord,
    GoOffRecord,
    // From here on the removed participants' tokens are revoked.
    Remove,
    Leave,
    Adjourn,
    Cancel,
}

/// Who calls: the staff or invited role, or the judge who does not preside.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Presiding,
    OtherJudge,
    Clerk,
    Admin,
    Invited(Role),
}

fn allowed(rpc: Rpc, who: Who) -> bool {
    use Rpc::*;
    use Who::*;
    let court = matches!(who, Presiding | Clerk);
    let invited = matches!(who, Invited(_));
    match rpc {
        CreateCase | ListHearings => matches!(who, Presiding | OtherJudge | Clerk),
        // The request names the presiding judge: a judge may only schedule for themselves.
        ScheduleHearing => matches!(who, Presiding | Clerk),
        GetCase => true, // a PUBLIC case
        GetHearing | Watch => !matches!(who, Admin),
        Verify => matches!(who, Presiding | OtherJudge | Clerk | Admin),
        Invite | Admit | StandDown | AddNote | Lock | MessageWaitingRoom | Remove | Cancel => court,
        // Anyone may mute themselves (the target here is counsel).
        MuteOther => court || who == Invited(Role::Counsel),
        Join | Leave => court || invited,
        MutePresidingJudge => who == Presiding,
        UnmuteObserver => false,
        GoOnRecord | GoOffRecord | Adjourn => who == Presiding,
    }
}

struct Ctx {
    scene: Scene,
    other_judge: String,
    admin: String,
}

/// Whom a call about another participant addresses: each allowed caller its own participant,
/// so that every allowed Admit, StandDown and Remove can succeed (Admit comes before StandDown:
/// each stands down the one the other admitted). Denied callers address the first one.
fn target(rpc: Rpc, who: Who) -> Role {
    let clerk = who == Who::Clerk;
    match rpc {
        Rpc::Admit if clerk => Role::Interpreter,
        Rpc::Admit => Role::Expert,
        Rpc::StandDown if clerk => Role::Expert,
        Rpc::StandDown => Role::Interpreter,
        Rpc::Remove if clerk => Role::Party,
        Rpc::Remove => Role::Prosecutor,
        Rpc::MuteOther => Role::Counsel,
        Rpc::UnmuteObserver => Role::Observer,
        _ => unreachable!("{rpc:?} addresses no participant"),
    }
}

/// Invited roles whose tokens the allowed `Remove` calls revoke.
const REMOVED: [Role; 2] = [Role::Prosecutor, Role::Party];

/// The refusal an allowed call gets at its place in the sequence, if it cannot succeed there.
fn state_refusal(rpc: Rpc) -> Option<(Code, &'static str)> {
    match rpc {
        // Cancel comes after Adjourn (both end the hearing, for good): an allowed caller gets
        // past the permission check to the state machine's refusal. Cancelling succeeds in
        // `the_court_cancels_hearings`.
        Rpc::Cancel => Some((
            Code::FailedPrecondition,
            "hearing is adjourned: cannot move to cancelled",
        )),
        _ => None,
    }
}

/// `client.method(request)` as `token`: whether it succeeded, or the refusal.
macro_rules! as_token {
    ($token:expr, $client:ident.$method:ident($req:expr)) => {
        $client.$method(authed($token, $req)).await.map(|_| ())
    };
}

async fn call(t: &TestApp, c: &Ctx, rpc: Rpc, who: Who, token: &str) -> Result<(), Status> {
    let mut hs = t.hearings().await;
    let mut cases = t.cases().await;
    let s = &c.scene;
    let hearing_id = s.hearing.id.clone();
    let addressed = || s.participant(target(rpc, who)).id.clone();
    match rpc {
        Rpc::CreateCase => as_token!(
            token,
            cases.create_case(pb::CreateCaseRequest {
                case_number: format!("P-{}", uuid::Uuid::new_v4().simple()),
                title: "t".into(),
                visibility: pb::Visibility::Public as i32,
            })
        ),
        Rpc::ScheduleHearing => as_token!(
            token,
            hs.schedule_hearing(pb::ScheduleHearingRequest {
                case_id: s.case.id.clone(),
                title: "t".into(),
                // A slot of its own: the judge cannot preside twice at once.
                starts_at: Some(ts_in(100 + 2 * slot())),
                ends_at: Some(ts_in(101 + 2 * slot())),
                judge_id: s.judge_user.id.clone(),
                validate_only: false,
            })
        ),
        Rpc::ListHearings => as_token!(token, hs.list_hearings(pb::ListHearingsRequest::default())),
        Rpc::GetCase => as_token!(
            token,
            cases.get_case(pb::GetCaseRequest {
                id: s.case.id.clone(),
            })
        ),
        Rpc::GetHearing => as_token!(token, hs.get_hearing(pb::GetHearingRequest { hearing_id })),
        Rpc::Watch => as_token!(
            token,
            hs.watch_hearing(pb::WatchHearingRequest {
                hearing_id,
                after_seq: 0,
            })
        ),
        Rpc::Verify => as_token!(
            token,
            hs.verify_hearing_log(pb::VerifyHearingLogRequest { hearing_id })
        ),
        Rpc::Invite => as_token!(
            token,
            hs.invite_participant(pb::InviteParticipantRequest {
                hearing_id,
                display_name: "x".into(),
                role: pb::Role::Party as i32,
            })
        ),
        Rpc::Join => as_token!(
            token,
            hs.join_hearing(pb::JoinHearingRequest { hearing_id })
        ),
        Rpc::Leave => as_token!(
            token,
            hs.leave_hearing(pb::LeaveHearingRequest {
                hearing_id,
                reason: String::new(),
                disconnected: false,
            })
        ),
        Rpc::Admit => as_token!(
            token,
            hs.admit_participant(pb::AdmitParticipantRequest {
                hearing_id,
                participant_id: addressed(),
            })
        ),
        Rpc::MuteOther | Rpc::MutePresidingJudge | Rpc::UnmuteObserver => as_token!(
            token,
            hs.mute_participant(pb::MuteParticipantRequest {
                hearing_id,
                participant_id: match rpc {
                    Rpc::MutePresidingJudge => s.hearing.presiding_participant_id.clone(),
                    _ => addressed(),
                },
                muted: rpc != Rpc::UnmuteObserver,
            })
        ),
        Rpc::StandDown => as_token!(
            token,
            hs.stand_down_participant(pb::StandDownParticipantRequest {
                hearing_id,
                participant_id: addressed(),
                reason: String::new(),
            })
        ),
        Rpc::AddNote => as_token!(
            token,
            hs.add_note(pb::AddNoteRequest {
                hearing_id,
                text: "n".into(),
            })
        ),
        Rpc::Lock => as_token!(
            token,
            hs.lock_hearing(pb::LockHearingRequest {
                hearing_id,
                locked: who == Who::Presiding,
                reason: String::new(),
            })
        ),
        Rpc::MessageWaitingRoom => as_token!(
            token,
            hs.message_waiting_room(pb::MessageWaitingRoomRequest {
                hearing_id,
                text: "we start at 10:15".into(),
            })
        ),
        Rpc::GoOnRecord => as_token!(token, hs.go_on_record(pb::GoOnRecordRequest { hearing_id })),
        Rpc::GoOffRecord => as_token!(
            token,
            hs.go_off_record(pb::GoOffRecordRequest {
                hearing_id,
                reason: "r".into(),
            })
        ),
        Rpc::Remove => as_token!(
            token,
            hs.remove_participant(pb::RemoveParticipantRequest {
                hearing_id,
                participant_id: addressed(),
                reason: "r".into(),
            })
        ),
        Rpc::Adjourn => as_token!(
            token,
            hs.adjourn_hearing(pb::AdjournHearingRequest {
                hearing_id,
                reason: String::new(),
            })
        ),
        Rpc::Cancel => as_token!(
            token,
            hs.cancel_hearing(pb::CancelHearingRequest {
                hearing_id,
                reason: "r".into(),
            })
        ),
    }
}

/// A new hour for each scheduled hearing.
fn slot() -> i64 {
    static NEXT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
}

async fn snapshot(t: &TestApp, c: &Ctx) -> pb::Hearing {
    get_hearing(&mut t.hearings().await, &c.scene.clerk, &c.scene.hearing.id).await
}

async fn denials_logged(t: &TestApp) -> i64 {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM access_denials")
        .fetch_one(t.app.system().pool())
        .await
        .unwrap();
    row.try_get("n").unwrap()
}

async fn events_after(t: &TestApp, c: &Ctx, after: u64) -> Vec<StoredEvent> {
    let id = HearingId::parse("hearing_id", &c.scene.hearing.id).unwrap();
    t.app.system().events_after(id, after, 100).await.unwrap()
}

async fn every_rpc_against_every_role(db: Db) {
    let t = TestApp::start(db).await;
    let scene = t.scene("perm", pb::Visibility::Public).await;
    let (other_judge, _) = t.staff("judge-other", Role::Judge, "Judge Zhao").await;
    let (admin, _) = t.staff("admin-one", Role::Admin, "Admin").await;
    let c = Ctx {
        scene,
        other_judge,
        admin,
    };
    t.open(&c.scene).await;
    let mut hs = t.hearings().await;
    for (role, _, token) in &c.scene.people {
        if *role != Role::Expert {
            hs.join_hearing(authed(
                token,
                pb::JoinHearingRequest {
                    hearing_id: c.scene.hearing.id.clone(),
                },
            ))
            .await
            .unwrap();
        }
    }
    let mut callers: Vec<(Who, String)> = vec![
        (Who::Presiding, c.scene.judge.clone()),
        (Who::OtherJudge, c.other_judge.clone()),
        (Who::Clerk, c.scene.clerk.clone()),
        (Who::Admin, c.admin.clone()),
    ];
    for (role, _, token) in &c.scene.people {
        callers.push((Who::Invited(*role), token.clone()));
    }
    use Rpc::*;
    let hearing_scoped =
        |r: Rpc| !matches!(r, CreateCase | ScheduleHearing | ListHearings | GetCase);
    let mut revoked: Vec<Who> = Vec::new();
    let mut checked = 0;
    for &rpc in Rpc::SEQUENCE {
        // Denied callers first, while the hearing is in the state the call is about.
        let mut order = callers.clone();
        order.sort_by_key(|(w, _)| allowed(rpc, *w));
        for (who, token) in &order {
            let before = snapshot(&t, &c).await;
            let denials_before = denials_logged(&t).await;
            let result = call(&t, &c, rpc, *who, token).await;
            let answer = result
                .clone()
                .map_err(|s| (s.code(), s.message().to_string()));
            let unchanged = |after: &pb::Hearing| {
                assert_eq!(
                    after.state, before.state,
                    "{rpc:?} by {who:?} changed the state"
                );
                assert_eq!(
                    after.participants, before.participants,
                    "{rpc:?} by {who:?} changed participants"
                );
            };
            if revoked.contains(who) {
                assert_eq!(
                    answer,
                    Err((Code::Unauthenticated, "the token was revoked".to_string())),
                    "{rpc:?} by removed {who:?}"
                );
                let after = snapshot(&t, &c).await;
                unchanged(&after);
                assert_eq!(
                    after.last_seq, before.last_seq,
                    "{rpc:?} by removed {who:?}"
                );
            } else if allowed(rpc, *who) {
                match state_refusal(rpc) {
                    None => assert_eq!(answer, Ok(()), "{rpc:?} by {who:?} should succeed"),
                    Some((code, message)) => assert_eq!(
                        answer,
                        Err((code, message.to_string())),
                        "{rpc:?} by {who:?}"
                    ),
                }
            } else {
                assert_eq!(
                    code_of(&result),
                    Code::PermissionDenied,
                    "{rpc:?} by {who:?} should be denied: {result:?}"
                );
                let after = snapshot(&t, &c).await;
                unchanged(&after);
                // An admin has no standing in a hearing (they administer accounts): their
                // denials go to the access log, not into the hearing's record.
                if hearing_scoped(rpc) && *who != Who::Admin {
                    let events = events_after(&t, &c, before.last_seq).await;
                    assert_eq!(
                        events.len(),
                        1,
                        "{rpc:?} by {who:?}: one denial event, nothing else"
                    );
                    assert!(
                        matches!(events[0].payload(), Some(EventPayload::Denied { .. })),
                        "{rpc:?} by {who:?}: {:?}",
                        events[0]
                    );
                } else {
                    assert_eq!(
                        denials_logged(&t).await,
                        denials_before + 1,
                        "{rpc:?} by {who:?}: denial logged"
                    );
                    assert_eq!(
                        events_after(&t, &c, before.last_seq).await,
                        Vec::new(),
                        "{rpc:?} by {who:?}: nothing in the hearing's log"
                    );
                }
            }
            checked += 1;
        }
        if rpc == Remove {
            revoked.extend(REMOVED.map(Who::Invited));
        }
    }
    assert_eq!(checked, Rpc::SEQUENCE.len() * callers.len());
    t.stop().await;
}

/// A case as CreateCase answered it, with `created_at` as the database keeps it (to the
/// millisecond; CreateCase answers with the clock's nanoseconds).
fn stored(created: &pb::Case) -> pb::Case {
    let mut c = created.clone();
    if let Some(t) = &mut c.created_at {
        t.nanos -= t.nanos % 1_000_000;
    }
    c
}

async fn visibility_of_cases(db: Db) {
    let t = TestApp::start(db).await;
    let restricted = t.scene("vis-r", pb::Visibility::Restricted).await;
    let (admin, _) = t.staff("admin-vis", Role::Admin, "Admin").await;
    let mut cases = t.cases().await;
    let sealed = cases
        .create_case(authed(
            &restricted.clerk,
            pb::CreateCaseRequest {
                case_number: "SEALED-1".into(),
                title: "In re minor".into(),
                visibility: pb::Visibility::Sealed as i32,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let get = |token: &str, id: &str| authed(token, pb::GetCaseRequest { id: id.into() });
    // Restricted: the court and the case's own participants read the case as it was created;
    // an admin, who administers accounts, does not.
    assert_status(
        cases.get_case(get(&admin, &restricted.case.id)).await,
        Code::PermissionDenied,
        "admin may not read a restricted case",
    );
    for token in [&restricted.clerk, restricted.token(Role::Counsel)] {
        let got = cases
            .get_case(get(token, &restricted.case.id))
            .await
            .expect("GetCase of the restricted case")
            .into_inner();
        assert_eq!(got, stored(&restricted.case));
        assert_eq!(
            (got.case_number.as_str(), got.visibility()),
            ("CV-vis-r", pb::Visibility::Restricted)
        );
    }
    // Sealed: judges and clerks only.
    let got = cases
        .get_case(get(&restricted.judge, &sealed.id))
        .await
        .expect("GetCase of the sealed case by a judge")
        .into_inner();
    assert_eq!(got, stored(&sealed));
    assert_eq!(
        (
            got.case_number.as_str(),
            got.title.as_str(),
            got.visibility()
        ),
        ("SEALED-1", "In re minor", pb::Visibility::Sealed)
    );
    assert_status(
        cases.get_case(get(&admin, &sealed.id)).await,
        Code::PermissionDenied,
        "sealed",
    );
    assert_status(
        cases
            .get_case(get(restricted.token(Role::Observer), &sealed.id))
            .await,
        Code::PermissionDenied,
        "sealed",
    );
    // Lists show only what the caller may read.
    let list = |token: &str| authed(token, pb::ListCasesRequest::default());
    assert_eq!(
        cases
            .list_cases(list(&restricted.clerk))
            .await
            .unwrap()
            .into_inner()
            .cases
            .len(),
        2
    );
    // An admin lists public cases only: there are none here.
    assert_eq!(
        cases
            .list_cases(list(&admin))
            .await
            .unwrap()
            .into_inner()
            .cases
            .len(),
        0
    );
    let mine = cases
        .list_cases(list(restricted.token(Role::Party)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        mine.cases.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        vec![restricted.case.id.clone()]
    );
    // Another hearing's participant cannot read this restricted case or its hearing.
    let other = t.scene("vis-o", pb::Visibility::Public).await;
    assert_status(
        cases
            .get_case(get(other.token(Role::Party), &restricted.case.id))
            .await,
        Code::PermissionDenied,
        "restricted",
    );
    let mut hs = t.hearings().await;
    let foreign = hs
        .get_hearing(authed(
            other.token(Role::Party),
            pb::GetHearingRequest {
                hearing_id: restricted.hearing.id.clone(),
            },
        ))
        .await;
    assert_status(foreign, Code::PermissionDenied, "another hearing");
    let foreign_watch = hs
        .watch_hearing(authed(
            other.token(Role::Party),
            pb::WatchHearingRequest {
                hearing_id: restricted.hearing.id.clone(),
                after_seq: 0,
            },
        ))
        .await;
    assert_status(foreign_watch, Code::PermissionDenied, "another hearing");
    t.stop().await;
}

/// Cancelling (which the matrix above cannot reach: its hearing is adjourned by then): the
/// presiding judge cancels an open hearing, a clerk a scheduled one, with the reason logged; a
/// cancelled hearing cannot be cancelled again; the case's participants may not cancel.
async fn the_court_cancels_hearings(db: Db) {
    let t = TestApp::start(db).await;
    let open = t.scene("cancel-o", pb::Visibility::Public).await;
    let scheduled = t.scene("cancel-s", pb::Visibility::Public).await;
    let mut hs = t.hearings().await;
    let cancel = |token: &str, s: &Scene, reason: &str| {
        authed(
            token,
            pb::CancelHearingRequest {
                hearing_id: s.hearing.id.clone(),
                reason: reason.into(),
            },
        )
    };
    t.open(&open).await;
    assert_status(
        hs.cancel_hearing(cancel(open.token(Role::Counsel), &open, "no"))
            .await,
        Code::PermissionDenied,
        "a counsel may not cancel_hearing",
    );
    for (token, s, from, reason) in [
        (
            &open.judge,
            &open,
            pb::HearingState::Open,
            "the parties settled",
        ),
        (
            &scheduled.clerk,
            &scheduled,
            pb::HearingState::Scheduled,
            "the judge is ill",
        ),
    ] {
        let h = hs
            .cancel_hearing(cancel(token, s, reason))
            .await
            .expect("CancelHearing")
            .into_inner();
        assert_eq!(h.state(), pb::HearingState::Cancelled);
        let id = HearingId::parse("hearing_id", &s.hearing.id).unwrap();
        let log = t.app.system().events_after(id, 0, 100).await.unwrap();
        let last = log.last().expect("events");
        assert_eq!(last.seq, h.last_seq);
        let mut watch = watch_from_start(&mut hs, &s.clerk, &s.hearing.id).await;
        let mut change = None;
        while let Some(e) = watch.message().await.expect("watch") {
            if e.seq == h.last_seq {
                change = e.payload;
                break;
            }
        }
        assert_eq!(
            change,
            Some(pb::hearing_event::Payload::StateChanged(pb::StateChanged {
                from: from as i32,
                to: pb::HearingState::Cancelled as i32,
                reason: reason.into(),
            }))
        );
        assert_status(
            hs.cancel_hearing(cancel(token, s, "again")).await,
            Code::FailedPrecondition,
            "hearing is cancelled: cannot move to cancelled",
        );
    }
    t.stop().await;
}

both_dbs!(
    every_rpc_against_every_role,
    visibility_of_cases,
    the_court_cancels_hearings
);
