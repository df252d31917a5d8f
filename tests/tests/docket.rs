//! What a docket needs from the server (issue 14): every Hearing carries its case's number and
//! its presiding judge's name wherever it is returned.
use opencourt_proto::v1 as pb;
use opencourt_tests::*;

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

both_dbs!(hearings_carry_case_number_and_judge_name);
