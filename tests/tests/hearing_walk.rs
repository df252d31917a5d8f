//! The full hearing walk over real gRPC: schedule, invite, redeem, open, join, admit, on the
//! record, off with a reason, on again, adjourn; and the log verifies.
use hearing_core::domain::Role;
use opencourt_proto::v1 as pb;
use opencourt_tests::*;
use pb::hearing_event::Payload;
use tonic::Code;

async fn full_walk(db: Db) {
    let t = TestApp::start(db).await;
    let s = t.scene("walk", pb::Visibility::Restricted).await;
    let mut hs = t.hearings().await;
    let hid = s.hearing.id.clone();
    let req = |token: &str| {
        authed(
            token,
            pb::JoinHearingRequest {
                hearing_id: hid.clone(),
            },
        )
    };

    // Before opening, nobody can join.
    assert_status(
        hs.join_hearing(req(s.token(Role::Counsel))).await,
        Code::FailedPrecondition,
        "scheduled",
    );

    let h = hs
        .open_hearing(authed(
            &s.clerk,
            pb::OpenHearingRequest {
                hearing_id: hid.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(h.state, pb::HearingState::Open as i32);
    assert!(h.opened_at.is_some());

    // The judge goes straight in; counsel and the witness wait.
    let judge = hs.join_hearing(req(&s.judge)).await.unwrap().into_inner();
    assert_eq!(judge.presence, pb::Presence::Admitted as i32);
    assert_eq!(judge.id, s.hearing.presiding_participant_id);
    let counsel = hs
        .join_hearing(req(s.token(Role::Counsel)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(counsel.presence, pb::Presence::Waiting as i32);
    let witness = hs
        .join_hearing(req(s.token(Role::Witness)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(witness.presence, pb::Presence::Waiting as i32);
    // Joining again changes nothing.
    let again = hs
        .join_hearing(req(s.token(Role::Counsel)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.presence, pb::Presence::Waiting as i32);

    let admit = |pid: &str, token: &str| {
        authed(
            token,
            pb::AdmitParticipantRequest {
                hearing_id: hid.clone(),
                participant_id: pid.to_string(),
            },
        )
    };
    let c = hs
        .admit_participant(admit(&counsel.id, &s.judge))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(c.presence, pb::Presence::Admitted as i32);
    let w = hs
        .admit_participant(admit(&witness.id, &s.clerk))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(w.presence, pb::Presence::Admitted as i32);

    let on = |token: &str| {
        authed(
            token,
            pb::GoOnRecordRequest {
                hearing_id: hid.clone(),
            },
        )
    };
    assert_eq!(
        hs.go_on_record(on(&s.judge))
            .await
            .unwrap()
            .into_inner()
            .state,
        pb::HearingState::OnRecord as i32
    );
    // Off the record needs a reason.
    assert_status(
        hs.go_off_record(authed(
            &s.judge,
            pb::GoOffRecordRequest {
                hearing_id: hid.clone(),
                reason: " ".into(),
            },
        ))
        .await,
        Code::InvalidArgument,
        "reason",
    );
    let off = hs
        .go_off_record(authed(
            &s.judge,
            pb::GoOffRecordRequest {
                hearing_id: hid.clone(),
                reason: "short recess".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(off.state, pb::HearingState::OffRecord as i32);
    hs.go_on_record(on(&s.judge)).await.unwrap();

    // The witness is stood down, then leaves; a note is added.
    let sd = hs
        .stand_down_participant(authed(
            &s.judge,
            pb::StandDownParticipantRequest {
                hearing_id: hid.clone(),
                participant_id: witness.id.clone(),
                reason: "evidence complete".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(sd.presence, pb::Presence::Waiting as i32);
    let left = hs
        .leave_hearing(authed(
            s.token(Role::Witness),
            pb::LeaveHearingRequest {
                hearing_id: hid.clone(),
                reason: "excused".into(),
                disconnected: false,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(left.presence, pb::Presence::Left as i32);
    let note = hs
        .add_note(authed(
            &s.clerk,
            pb::AddNoteRequest {
                hearing_id: hid.clone(),
                text: "Exhibit A received".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(matches!(note.payload, Some(Payload::Note(_))));

    let adj = hs
        .adjourn_hearing(authed(
            &s.judge,
            pb::AdjournHearingRequest {
                hearing_id: hid.clone(),
                reason: "concluded".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(adj.state, pb::HearingState::Adjourned as i32);
    // Final: nothing moves it again.
    assert_status(
        hs.go_on_record(on(&s.judge)).await,
        Code::FailedPrecondition,
        "adjourned",
    );

    let got = get_hearing(&mut hs, &s.clerk, &hid).await;
    let presence = |id: &str| {
        got.participants
            .iter()
            .find(|p| p.id == id)
            .unwrap()
            .presence
    };
    assert_eq!(presence(&counsel.id), pb::Presence::Admitted as i32);
    assert_eq!(presence(&witness.id), pb::Presence::Left as i32);
    assert_eq!(got.participants.len(), 1 + INVITED_ROLES.len());

    // The log holds every step in order, chained, and verifies.
    let mut stream = watch_from_start(&mut hs, &s.clerk, &hid).await;
    let mut kinds = Vec::new();
    let mut prev_hash = "0".repeat(64);
    while kinds.len() < got.last_seq as usize {
        let e = stream.message().await.unwrap().unwrap();
        assert_eq!(e.seq as usize, kinds.len() + 1);
        assert_eq!(e.prev_hash, prev_hash);
        prev_hash = e.hash.clone();
        kinds.push(e.payload.unwrap());
    }
    let states: Vec<(i32, String)> = kinds
        .iter()
        .filter_map(|p| match p {
            Payload::StateChanged(c) => Some((c.to, c.reason.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        states,
        vec![
            (pb::HearingState::Open as i32, String::new()),
            (pb::HearingState::OnRecord as i32, String::new()),
            (pb::HearingState::OffRecord as i32, "short recess".into()),
            (pb::HearingState::OnRecord as i32, String::new()),
            (pb::HearingState::Adjourned as i32, "concluded".into()),
        ]
    );
    assert!(kinds
        .iter()
        .any(|p| matches!(p, Payload::Left(l) if l.reason == "excused")));
    let v = hs
        .verify_hearing_log(authed(
            &s.clerk,
            pb::VerifyHearingLogRequest {
                hearing_id: hid.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(v.ok, "{v:?}");
    assert_eq!(v.events_checked, got.last_seq);
    assert_eq!(v.head_hash, prev_hash);
    t.stop().await;
}

async fn scheduling_rules(db: Db) {
    let t = TestApp::start(db).await;
    let s = t.scene("sched", pb::Visibility::Public).await;
    let mut hs = t.hearings().await;
    let mut cases = t.cases().await;
    // Same case number twice.
    let dup = cases
        .create_case(authed(
            &s.judge,
            pb::CreateCaseRequest {
                case_number: s.case.case_number.clone(),
                title: "again".into(),
                visibility: pb::Visibility::Public as i32,
            },
        ))
        .await;
    assert_status(dup, Code::AlreadyExists, &s.case.case_number);
    // The judge already presides 1h..3h from now: 2h..4h overlaps and names that hearing.
    let clash = hs
        .schedule_hearing(authed(
            &s.judge,
            pb::ScheduleHearingRequest {
                case_id: s.case.id.clone(),
                title: "Second".into(),
                starts_at: Some(ts_in(2)),
                ends_at: Some(ts_in(4)),
                judge_id: String::new(),
                validate_only: false,
            },
        ))
        .await;
    assert_status(clash, Code::FailedPrecondition, &s.hearing.id);
    // Back to back is fine; a clerk names the judge.
    let ok = hs
        .schedule_hearing(authed(
            &s.clerk,
            pb::ScheduleHearingRequest {
                case_id: s.case.id.clone(),
                title: "Second".into(),
                starts_at: Some(ts_in(3)),
                ends_at: Some(ts_in(4)),
                judge_id: s.judge_user.id.clone(),
                validate_only: false,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.presiding_judge_id, s.judge_user.id);
    // A clerk must name the judge.
    let none = hs
        .schedule_hearing(authed(
            &s.clerk,
            pb::ScheduleHearingRequest {
                case_id: s.case.id.clone(),
                title: "Third".into(),
                starts_at: Some(ts_in(5)),
                ends_at: Some(ts_in(6)),
                judge_id: String::new(),
                validate_only: false,
            },
        ))
        .await;
    assert_status(none, Code::InvalidArgument, "judge_id");

    // ListHearings by case, by judge and by day.
    let list = |case_id: &str, judge_id: &str, day: &str| {
        authed(
            &s.clerk,
            pb::ListHearingsRequest {
                case_id: case_id.into(),
                day: day.into(),
                judge_id: judge_id.into(),
                page_size: 1,
                page_token: String::new(),
                ..Default::default()
            },
        )
    };
    let page = hs
        .list_hearings(list(&s.case.id, "", ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.hearings.len(), 1);
    assert_eq!(page.hearings[0].id, s.hearing.id);
    let mut next = list(&s.case.id, &s.judge_user.id, "");
    next.get_mut().page_token = page.next_page_token.clone();
    let page2 = hs.list_hearings(next).await.unwrap().into_inner();
    assert_eq!(page2.hearings[0].id, ok.id);
    assert!(page2.next_page_token.is_empty());
    let far_day = hs
        .list_hearings(list("", "", "2031-01-01"))
        .await
        .unwrap()
        .into_inner();
    assert!(far_day.hearings.is_empty());

    // ListCases finds by number or title.
    let found = cases
        .list_cases(authed(
            &s.clerk,
            pb::ListCasesRequest {
                query: "harbour".into(),
                page_size: 0,
                page_token: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(found.cases.len(), 1);
    t.stop().await;
}

async fn removal_revokes_the_token(db: Db) {
    let t = TestApp::start(db).await;
    let s = t.scene("remove", pb::Visibility::Public).await;
    let mut hs = t.hearings().await;
    let hid = s.hearing.id.clone();
    hs.open_hearing(authed(
        &s.judge,
        pb::OpenHearingRequest {
            hearing_id: hid.clone(),
        },
    ))
    .await
    .unwrap();
    let party = s.participant(Role::Party).id.clone();
    let removed = hs
        .remove_participant(authed(
            &s.clerk,
            pb::RemoveParticipantRequest {
                hearing_id: hid.clone(),
                participant_id: party,
                reason: "disruptive".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(removed.presence, pb::Presence::Removed as i32);
    let again = hs
        .join_hearing(authed(
            s.token(Role::Party),
            pb::JoinHearingRequest {
                hearing_id: hid.clone(),
            },
        ))
        .await;
    assert_status(again, Code::Unauthenticated, "revoked");
    // An invitation code works once.
    let inv = hs
        .invite_participant(authed(
            &s.judge,
            pb::InviteParticipantRequest {
                hearing_id: hid.clone(),
                display_name: "Late counsel".into(),
                role: pb::Role::Counsel as i32,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let mut auth = t.auth().await;
    auth.redeem_invite(pb::RedeemInviteRequest {
        code: inv.code.clone(),
    })
    .await
    .unwrap();
    assert_status(
        auth.redeem_invite(pb::RedeemInviteRequest { code: inv.code })
            .await,
        Code::Unauthenticated,
        "already used",
    );
    t.stop().await;
}

both_dbs!(full_walk, scheduling_rules, removal_revokes_the_token);
