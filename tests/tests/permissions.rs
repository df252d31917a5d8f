//! Every RPC against every role: allowed calls are never PERMISSION_DENIED; denied calls are,
//! change nothing, and leave a denial in the hearing's log (or the access log).
use hearing_core::domain::Role;
use hearing_core::domain::{EventPayload, HearingId, StoredEvent};
use opencourt_proto::v1 as pb;
use opencourt_tests::*;
use sqlx::Row;
use tonic::Code;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Rpc {
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
    GoOnRecord,
    GoOffRecord,
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
        Invite | Admit | StandDown | AddNote | Remove | Cancel => court,
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

async fn call(t: &TestApp, c: &Ctx, rpc: Rpc, token: &str) -> Code {
    let mut hs = t.hearings().await;
    let mut cases = t.cases().await;
    let s = &c.scene;
    let hid = s.hearing.id.clone();
    let target = |r: Role| s.participant(r).id.clone();
    match rpc {
        Rpc::CreateCase => code_of(
            &cases
                .create_case(authed(
                    token,
                    pb::CreateCaseRequest {
                        case_number: format!("P-{}", uuid::Uuid::new_v4().simple()),
                        title: "t".into(),
                        visibility: pb::Visibility::Public as i32,
                    },
                ))
                .await,
        ),
        Rpc::ScheduleHearing => code_of(
            &hs.schedule_hearing(authed(
                token,
                pb::ScheduleHearingRequest {
                    case_id: s.case.id.clone(),
                    title: "t".into(),
                    starts_at: Some(ts_in(100)),
                    ends_at: Some(ts_in(101)),
                    judge_id: s.judge_user.id.clone(),
                },
            ))
            .await,
        ),
        Rpc::ListHearings => code_of(
            &hs.list_hearings(authed(token, pb::ListHearingsRequest::default()))
                .await,
        ),
        Rpc::GetCase => code_of(
            &cases
                .get_case(authed(
                    token,
                    pb::GetCaseRequest {
                        id: s.case.id.clone(),
                    },
                ))
                .await,
        ),
        Rpc::GetHearing => code_of(
            &hs.get_hearing(authed(token, pb::GetHearingRequest { hearing_id: hid }))
                .await,
        ),
        Rpc::Watch => code_of(
            &hs.watch_hearing(authed(
                token,
                pb::WatchHearingRequest {
                    hearing_id: hid,
                    after_seq: 0,
                },
            ))
            .await,
        ),
        Rpc::Verify => code_of(
            &hs.verify_hearing_log(authed(
                token,
                pb::VerifyHearingLogRequest { hearing_id: hid },
            ))
            .await,
        ),
        Rpc::Invite => code_of(
            &hs.invite_participant(authed(
                token,
                pb::InviteParticipantRequest {
                    hearing_id: hid,
                    display_name: "x".into(),
                    role: pb::Role::Party as i32,
                },
            ))
            .await,
        ),
        Rpc::Join => code_of(
            &hs.join_hearing(authed(token, pb::JoinHearingRequest { hearing_id: hid }))
                .await,
        ),
        Rpc::Leave => code_of(
            &hs.leave_hearing(authed(
                token,
                pb::LeaveHearingRequest {
                    hearing_id: hid,
                    reason: String::new(),
                    disconnected: false,
                },
            ))
            .await,
        ),
        Rpc::Admit => code_of(
            &hs.admit_participant(authed(
                token,
                pb::AdmitParticipantRequest {
                    hearing_id: hid,
                    participant_id: target(Role::Expert),
                },
            ))
            .await,
        ),
        Rpc::MuteOther => code_of(
            &hs.mute_participant(authed(
                token,
                pb::MuteParticipantRequest {
                    hearing_id: hid,
                    participant_id: target(Role::Counsel),
                    muted: true,
                },
            ))
            .await,
        ),
        Rpc::MutePresidingJudge => code_of(
            &hs.mute_participant(authed(
                token,
                pb::MuteParticipantRequest {
                    hearing_id: hid,
                    participant_id: s.hearing.presiding_participant_id.clone(),
                    muted: true,
                },
            ))
            .await,
        ),
        Rpc::UnmuteObserver => code_of(
            &hs.mute_participant(authed(
                token,
                pb::MuteParticipantRequest {
                    hearing_id: hid,
                    participant_id: target(Role::Observer),
                    muted: false,
                },
            ))
            .await,
        ),
        Rpc::StandDown => code_of(
            &hs.stand_down_participant(authed(
                token,
                pb::StandDownParticipantRequest {
                    hearing_id: hid,
                    participant_id: target(Role::Interpreter),
                    reason: String::new(),
                },
            ))
            .await,
        ),
        Rpc::AddNote => code_of(
            &hs.add_note(authed(
                token,
                pb::AddNoteRequest {
                    hearing_id: hid,
                    text: "n".into(),
                },
            ))
            .await,
        ),
        Rpc::GoOnRecord => code_of(
            &hs.go_on_record(authed(token, pb::GoOnRecordRequest { hearing_id: hid }))
                .await,
        ),
        Rpc::GoOffRecord => code_of(
            &hs.go_off_record(authed(
                token,
                pb::GoOffRecordRequest {
                    hearing_id: hid,
                    reason: "r".into(),
                },
            ))
            .await,
        ),
        Rpc::Remove => code_of(
            &hs.remove_participant(authed(
                token,
                pb::RemoveParticipantRequest {
                    hearing_id: hid,
                    participant_id: target(Role::Prosecutor),
                    reason: "r".into(),
                },
            ))
            .await,
        ),
        Rpc::Adjourn => code_of(
            &hs.adjourn_hearing(authed(
                token,
                pb::AdjournHearingRequest {
                    hearing_id: hid,
                    reason: String::new(),
                },
            ))
            .await,
        ),
        Rpc::Cancel => code_of(
            &hs.cancel_hearing(authed(
                token,
                pb::CancelHearingRequest {
                    hearing_id: hid,
                    reason: "r".into(),
                },
            ))
            .await,
        ),
    }
}

async fn snapshot(t: &TestApp, c: &Ctx) -> pb::Hearing {
    get_hearing(&mut t.hearings().await, &c.scene.clerk, &c.scene.hearing.id).await
}

async fn denials_logged(t: &TestApp) -> i64 {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM access_denials")
        .fetch_one(t.app.store.pool())
        .await
        .unwrap();
    row.try_get("n").unwrap()
}

async fn events_after(t: &TestApp, c: &Ctx, after: u64) -> Vec<StoredEvent> {
    let id = HearingId::parse("hearing_id", &c.scene.hearing.id).unwrap();
    t.app.store.events_after(id, after, 100).await.unwrap()
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
    let mut hs = t.hearings().await;
    hs.open_hearing(authed(
        &c.scene.judge,
        pb::OpenHearingRequest {
            hearing_id: c.scene.hearing.id.clone(),
        },
    ))
    .await
    .unwrap();
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
    let rpcs = [
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
        GoOnRecord,
        GoOffRecord,
        Leave,
        Adjourn,
        Cancel,
        // Last: a removed participant's token is revoked.
        Remove,
    ];
    let hearing_scoped =
        |r: Rpc| !matches!(r, CreateCase | ScheduleHearing | ListHearings | GetCase);
    let mut checked = 0;
    for rpc in rpcs {
        // Denied callers first, while the hearing is in the state the call is about.
        let mut order = callers.clone();
        order.sort_by_key(|(w, _)| allowed(rpc, *w));
        for (who, token) in &order {
            let before = snapshot(&t, &c).await;
            let denials_before = denials_logged(&t).await;
            let code = call(&t, &c, rpc, token).await;
            if allowed(rpc, *who) {
                assert_ne!(
                    code,
                    Code::PermissionDenied,
                    "{rpc:?} by {who:?} should be allowed"
                );
                assert_ne!(code, Code::Unauthenticated, "{rpc:?} by {who:?}");
            } else {
                assert_eq!(
                    code,
                    Code::PermissionDenied,
                    "{rpc:?} by {who:?} should be denied"
                );
                let after = snapshot(&t, &c).await;
                assert_eq!(
                    after.state, before.state,
                    "{rpc:?} by {who:?} changed the state"
                );
                assert_eq!(
                    after.participants, before.participants,
                    "{rpc:?} by {who:?} changed participants"
                );
                if hearing_scoped(rpc) {
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
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, rpcs.len() * callers.len());
    t.stop().await;
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
    // Restricted: staff and the case's own participants.
    assert!(cases
        .get_case(get(&admin, &restricted.case.id))
        .await
        .is_ok());
    assert!(cases
        .get_case(get(restricted.token(Role::Counsel), &restricted.case.id))
        .await
        .is_ok());
    // Sealed: judges and clerks only.
    assert!(cases
        .get_case(get(&restricted.judge, &sealed.id))
        .await
        .is_ok());
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
    assert_eq!(
        cases
            .list_cases(list(&admin))
            .await
            .unwrap()
            .into_inner()
            .cases
            .len(),
        1
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

both_dbs!(every_rpc_against_every_role, visibility_of_cases);
