//! What a docket needs from the server (issue 14): every Hearing carries its case's number and
//! its presiding judge's name wherever it is returned; a scheduling form checks a hearing
//! (validate_only) before it is submitted.
use hearing_core::domain::Role;
use opencourt_proto::v1 as pb;
use opencourt_tests::*;
use tonic::Code;

/// ScheduleHearing, GetHearing, ListHearings and the case record all name the case and judge.
async fn hearings_carry_case_number_and_judge_name(db: Db) {
    let t = TestApp::start(db).await;
    let s = t.scene("labels", pb::Visibility::Public).await;
    let labels = |h: &pb::Hearing| (h.case_number.clone(), h.presiding_judge_name.clone());
    let want = ("CV-labels".to_string(), "Judge Wang".to_string());
    assert_eq!(labels(&s.hearing), want, "ScheduleHearing");

    let got = get_hearing(&mut t.hearings().await, &s.clerk, &s.hearing.id).await;
    assert_eq!(labels(&got), want, "GetHearing");
    assert!(!got.locked);

    let list = t
        .hearings()
        .await
        .list_hearings(authed(
            &s.clerk,
            pb::ListHearingsRequest {
                case_id: s.case.id.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(labels(&list.hearings[0]), want, "ListHearings");

    let record = t
        .cases()
        .await
        .get_case_record(authed(
            &s.clerk,
            pb::GetCaseRecordRequest {
                case_id: s.case.id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let on_record = record.hearings[0].hearing.as_ref().unwrap();
    assert_eq!(labels(on_record), want, "GetCaseRecord");
    t.stop().await;
}

/// Rows in the tables a scheduled hearing writes.
async fn stored_rows(t: &TestApp) -> Vec<i64> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&t.database_url).await.unwrap();
    let mut counts = Vec::new();
    for table in ["hearings", "participants", "hearing_events"] {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&pool)
            .await
            .unwrap();
        counts.push(n);
    }
    counts
}

/// validate_only makes every check the real call makes and refuses alike (the judge's
/// overlapping hearing, the field, the permission), answers a valid hearing as it would be,
/// and stores nothing either way.
async fn validate_only_checks_everything_and_stores_nothing(db: Db) {
    let t = TestApp::start(db).await;
    let s = t.scene("plan", pb::Visibility::Public).await;
    let mut hs = t.hearings().await;
    let plan = |token: &str, from: i64, to: i64, validate_only: bool| {
        authed(
            token,
            pb::ScheduleHearingRequest {
                case_id: s.case.id.clone(),
                title: "Second".into(),
                starts_at: Some(ts_in(from)),
                ends_at: Some(ts_in(to)),
                judge_id: s.judge_user.id.clone(),
                validate_only,
            },
        )
    };
    let before = stored_rows(&t).await;

    // The judge presides 1h..3h from now: 2h..4h clashes, checked or not, in the same words.
    let checked = hs
        .schedule_hearing(plan(&s.clerk, 2, 4, true))
        .await
        .unwrap_err();
    assert_eq!(checked.code(), Code::FailedPrecondition);
    assert!(checked.message().contains(&s.hearing.id), "{checked:?}");
    let valid = hs
        .schedule_hearing(plan(&s.clerk, 3, 4, true))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (valid.id.as_str(), valid.title.as_str(), valid.last_seq),
        ("", "Second", 0)
    );
    assert_eq!(valid.state, pb::HearingState::Scheduled as i32);
    assert_eq!(
        (
            valid.case_number.as_str(),
            valid.presiding_judge_name.as_str()
        ),
        ("CV-plan", "Judge Wang")
    );
    let bad_field = hs.schedule_hearing(plan(&s.clerk, 4, 3, true)).await;
    assert_status(bad_field, Code::InvalidArgument, "ends_at");
    let stranger = hs
        .schedule_hearing(plan(s.token(Role::Counsel), 3, 4, true))
        .await;
    assert_status(stranger, Code::PermissionDenied, "may not schedule");
    assert_eq!(
        stored_rows(&t).await,
        before,
        "validate_only stored something"
    );

    // The real call refuses the clash in the same words, and schedules the valid one.
    let real = hs
        .schedule_hearing(plan(&s.clerk, 2, 4, false))
        .await
        .unwrap_err();
    assert_eq!(
        (real.code(), real.message()),
        (checked.code(), checked.message())
    );
    let stored = hs
        .schedule_hearing(plan(&s.clerk, 3, 4, false))
        .await
        .unwrap()
        .into_inner();
    assert!(!stored.id.is_empty());
    assert_eq!(
        stored_rows(&t).await,
        vec![before[0] + 1, before[1] + 1, before[2] + 1]
    );
    t.stop().await;
}

/// A docket over a time range, either way round, page by page: every hearing in the range
/// once, in order (ties in start time by id), none outside it.
async fn the_docket_pages_a_time_range_either_way(db: Db) {
    let t = TestApp::start(db).await;
    let s = t.scene("range", pb::Visibility::Public).await;
    let (_, judge2) = t.staff("judge-range2", Role::Judge, "Judge Zhao").await;
    let mut hs = t.hearings().await;
    let base = chrono::Utc::now().timestamp() + 86_400;
    let at = |hours: i64| prost_types::Timestamp {
        seconds: base + hours * 3600,
        nanos: 0,
    };
    // Hours 0, 2, 4, 6 for Judge Wang; hours 4 and 6 again for Judge Zhao (ties in start).
    let mut scheduled = Vec::new();
    for (judge, hour) in [
        (&s.judge_user.id, 0),
        (&s.judge_user.id, 2),
        (&s.judge_user.id, 4),
        (&judge2.id, 4),
        (&s.judge_user.id, 6),
        (&judge2.id, 6),
    ] {
        let h = hs
            .schedule_hearing(authed(
                &s.clerk,
                pb::ScheduleHearingRequest {
                    case_id: s.case.id.clone(),
                    title: format!("At {hour}"),
                    starts_at: Some(at(hour)),
                    ends_at: Some(at(hour + 1)),
                    judge_id: judge.clone(),
                    validate_only: false,
                },
            ))
            .await
            .unwrap()
            .into_inner();
        scheduled.push((hour, h.id));
    }
    // From hour 2 up to (not including) hour 6, earliest first: hour 2, then hour 4's two by id.
    let mut want: Vec<(i64, String)> = scheduled
        .iter()
        .filter(|(h, _)| (2..6).contains(h))
        .cloned()
        .collect();
    want.sort();
    let list = |newest_first: bool, page_token: String| {
        authed(
            &s.clerk,
            pb::ListHearingsRequest {
                starts_after: Some(at(2)),
                starts_before: Some(at(6)),
                newest_first,
                page_size: 2,
                page_token,
                ..Default::default()
            },
        )
    };
    for newest_first in [false, true] {
        let mut got = Vec::new();
        let mut token = String::new();
        loop {
            let page = hs
                .list_hearings(list(newest_first, token))
                .await
                .unwrap()
                .into_inner();
            assert!(page.hearings.len() <= 2);
            got.extend(page.hearings.into_iter().map(|h| h.id));
            token = page.next_page_token;
            if token.is_empty() {
                break;
            }
        }
        let mut expected: Vec<String> = want.iter().map(|(_, id)| id.clone()).collect();
        if newest_first {
            expected.reverse();
        }
        assert_eq!(got, expected, "newest_first={newest_first}");
    }
    // Everything, newest first: hour 6's two lead, the scene's own hearing (1h from now) is last.
    let all = hs
        .list_hearings(authed(
            &s.clerk,
            pb::ListHearingsRequest {
                newest_first: true,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.hearings.len(), 7);
    assert_eq!(all.hearings.last().unwrap().id, s.hearing.id);
    assert_eq!(all.hearings[0].starts_at, Some(at(6)));
    // A range that ends before it starts names the field.
    let backwards = hs
        .list_hearings(authed(
            &s.clerk,
            pb::ListHearingsRequest {
                starts_after: Some(at(6)),
                starts_before: Some(at(2)),
                ..Default::default()
            },
        ))
        .await;
    assert_status(backwards, Code::InvalidArgument, "starts_before");
    t.stop().await;
}

both_dbs!(
    hearings_carry_case_number_and_judge_name,
    validate_only_checks_everything_and_stores_nothing,
    the_docket_pages_a_time_range_either_way
);
