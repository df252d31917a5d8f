//! Bad input: INVALID_ARGUMENT naming the field, UNAUTHENTICATED without a good token, and
//! nothing changes.
use opencourt_proto::v1 as pb;
use opencourt_tests::*;
use tonic::Code;

async fn malformed_requests_name_the_field(db: Db) {
    let t = TestApp::start(db).await;
    let s = t.scene("bad", pb::Visibility::Public).await;
    let mut hs = t.hearings().await;
    let mut cases = t.cases().await;
    let before = get_hearing(&mut hs, &s.clerk, &s.hearing.id).await;

    let case = |number: &str, title: &str, vis: i32| {
        authed(
            &s.judge,
            pb::CreateCaseRequest {
                case_number: number.into(),
                title: title.into(),
                visibility: vis,
            },
        )
    };
    assert_status(
        cases.create_case(case("", "t", 1)).await,
        Code::InvalidArgument,
        "case_number: is required",
    );
    assert_status(
        cases.create_case(case("A B", "t", 1)).await,
        Code::InvalidArgument,
        "case_number",
    );
    assert_status(
        cases.create_case(case("A1", "   ", 1)).await,
        Code::InvalidArgument,
        "title",
    );
    assert_status(
        cases.create_case(case("A1", &"x".repeat(301), 1)).await,
        Code::InvalidArgument,
        "title: is 301 characters",
    );
    assert_status(
        cases.create_case(case("A1", "t", 0)).await,
        Code::InvalidArgument,
        "visibility: is required",
    );
    assert_status(
        cases.create_case(case("A1", "t", 77)).await,
        Code::InvalidArgument,
        "visibility: unknown visibility 77",
    );
    assert_status(
        cases
            .get_case(authed(
                &s.judge,
                pb::GetCaseRequest {
                    id: "not-a-uuid".into(),
                },
            ))
            .await,
        Code::InvalidArgument,
        "id",
    );
    assert_status(
        cases
            .get_case(authed(
                &s.judge,
                pb::GetCaseRequest {
                    id: uuid::Uuid::new_v4().to_string(),
                },
            ))
            .await,
        Code::NotFound,
        "not found",
    );
    assert_status(
        cases
            .list_cases(authed(
                &s.judge,
                pb::ListCasesRequest {
                    query: String::new(),
                    page_size: 1000,
                    page_token: String::new(),
                },
            ))
            .await,
        Code::InvalidArgument,
        "page_size",
    );
    assert_status(
        cases
            .list_cases(authed(
                &s.judge,
                pb::ListCasesRequest {
                    query: String::new(),
                    page_size: 5,
                    page_token: "zz".into(),
                },
            ))
            .await,
        Code::InvalidArgument,
        "page_token",
    );

    let sched = |starts: Option<prost_types::Timestamp>,
                 ends: Option<prost_types::Timestamp>,
                 case_id: &str| {
        authed(
            &s.judge,
            pb::ScheduleHearingRequest {
                case_id: case_id.into(),
                title: "t".into(),
                starts_at: starts,
                ends_at: ends,
                judge_id: String::new(),
                validate_only: false,
            },
        )
    };
    assert_status(
        hs.schedule_hearing(sched(Some(ts_in(10)), Some(ts_in(9)), &s.case.id))
            .await,
        Code::InvalidArgument,
        "ends_at: must be after starts_at",
    );
    assert_status(
        hs.schedule_hearing(sched(None, Some(ts_in(9)), &s.case.id))
            .await,
        Code::InvalidArgument,
        "starts_at: is required",
    );
    assert_status(
        hs.schedule_hearing(sched(Some(ts_in(10)), Some(ts_in(11)), "x"))
            .await,
        Code::InvalidArgument,
        "case_id",
    );
    let nonsense = prost_types::Timestamp {
        seconds: i64::MAX,
        nanos: 0,
    };
    assert_status(
        hs.schedule_hearing(sched(Some(nonsense), Some(ts_in(11)), &s.case.id))
            .await,
        Code::InvalidArgument,
        "starts_at",
    );

    let hid = s.hearing.id.clone();
    let invite = |name: &str, role: i32| {
        authed(
            &s.clerk,
            pb::InviteParticipantRequest {
                hearing_id: hid.clone(),
                display_name: name.into(),
                role,
            },
        )
    };
    assert_status(
        hs.invite_participant(invite("", 4)).await,
        Code::InvalidArgument,
        "display_name",
    );
    assert_status(
        hs.invite_participant(invite("Bob", 0)).await,
        Code::InvalidArgument,
        "role: is required",
    );
    assert_status(
        hs.invite_participant(invite("Bob", 99)).await,
        Code::InvalidArgument,
        "role: unknown role 99",
    );
    assert_status(
        hs.invite_participant(invite("Bob", pb::Role::Judge as i32))
            .await,
        Code::InvalidArgument,
        "role",
    );
    assert_status(
        hs.invite_participant(invite("Bob\u{7}", 4)).await,
        Code::InvalidArgument,
        "display_name: contains control",
    );
    assert_status(
        hs.admit_participant(authed(
            &s.clerk,
            pb::AdmitParticipantRequest {
                hearing_id: hid.clone(),
                participant_id: "nope".into(),
            },
        ))
        .await,
        Code::InvalidArgument,
        "participant_id",
    );
    assert_status(
        hs.admit_participant(authed(
            &s.clerk,
            pb::AdmitParticipantRequest {
                hearing_id: hid.clone(),
                participant_id: uuid::Uuid::new_v4().to_string(),
            },
        ))
        .await,
        Code::NotFound,
        "participant",
    );
    assert_status(
        hs.open_hearing(authed(
            &s.clerk,
            pb::OpenHearingRequest {
                hearing_id: String::new(),
            },
        ))
        .await,
        Code::InvalidArgument,
        "hearing_id: is required",
    );
    assert_status(
        hs.add_note(authed(
            &s.clerk,
            pb::AddNoteRequest {
                hearing_id: hid.clone(),
                text: "x".repeat(4001),
            },
        ))
        .await,
        Code::InvalidArgument,
        "text",
    );
    // A message over the size limit.
    assert_status(
        hs.add_note(authed(
            &s.clerk,
            pb::AddNoteRequest {
                hearing_id: hid.clone(),
                text: "x".repeat(100_000),
            },
        ))
        .await,
        Code::InvalidArgument,
        "limit",
    );
    // Illegal state: going on the record before opening.
    assert_status(
        hs.go_on_record(authed(
            &s.judge,
            pb::GoOnRecordRequest {
                hearing_id: hid.clone(),
            },
        ))
        .await,
        Code::FailedPrecondition,
        "scheduled",
    );

    let after = get_hearing(&mut hs, &s.clerk, &hid).await;
    assert_eq!(after, before, "bad input changed nothing");
    t.stop().await;
}

async fn missing_and_bad_tokens_are_unauthenticated(db: Db) {
    let t = TestApp::start(db).await;
    let s = t.scene("unauth", pb::Visibility::Public).await;
    let mut hs = t.hearings().await;
    let req = pb::GetHearingRequest {
        hearing_id: s.hearing.id.clone(),
    };
    assert_status(
        hs.get_hearing(req.clone()).await,
        Code::Unauthenticated,
        "missing authorization",
    );
    assert_status(
        hs.get_hearing(authed("oct_0000", req.clone())).await,
        Code::Unauthenticated,
        "not valid",
    );
    let mut basic = tonic::Request::new(req.clone());
    basic
        .metadata_mut()
        .insert("authorization", "Basic abc".parse().unwrap());
    assert_status(hs.get_hearing(basic).await, Code::Unauthenticated, "Bearer");
    let mut auth = t.auth().await;
    assert_status(
        auth.login(pb::LoginRequest {
            username: "judge-unauth".into(),
            password: "wrong-password".into(),
        })
        .await,
        Code::Unauthenticated,
        "wrong username or password",
    );
    assert_status(
        auth.login(pb::LoginRequest {
            username: String::new(),
            password: "x".into(),
        })
        .await,
        Code::InvalidArgument,
        "username",
    );
    assert_status(
        auth.redeem_invite(pb::RedeemInviteRequest {
            code: "aaaa-bbbb".into(),
        })
        .await,
        Code::Unauthenticated,
        "invitation code",
    );
    assert_status(
        auth.redeem_invite(pb::RedeemInviteRequest {
            code: String::new(),
        })
        .await,
        Code::InvalidArgument,
        "code",
    );
    t.stop().await;
}

both_dbs!(
    malformed_requests_name_the_field,
    missing_and_bad_tokens_are_unauthenticated
);
