//! The court's hold on the room over gRPC (issue 14): LockHearing keeps out whoever the court
//! never admitted while those it did may come back; MessageWaitingRoom reaches the people
//! waiting. Both are events in the hearing's log, and the log still verifies.
use hearing_core::domain::Role;
use opencourt_proto::v1 as pb;
use opencourt_tests::*;
use pb::hearing_event::Payload;
use tonic::Code;

fn lock_req(token: &str, hearing_id: &str, locked: bool) -> tonic::Request<pb::LockHearingRequest> {
    authed(
        token,
        pb::LockHearingRequest {
            hearing_id: hearing_id.into(),
            locked,
            reason: if locked {
                "the court is full".into()
            } else {
                String::new()
            },
        },
    )
}

fn join_req(token: &str, hearing_id: &str) -> tonic::Request<pb::JoinHearingRequest> {
    authed(
        token,
        pb::JoinHearingRequest {
            hearing_id: hearing_id.into(),
        },
    )
}

async fn a_locked_room_refuses_only_those_never_admitted(db: Db) {
    let t = TestApp::start(db).await;
    let s = t.scene("lock", pb::Visibility::Public).await;
    let hid = s.hearing.id.clone();
    let mut hs = t.hearings().await;
    t.open(&s).await;
    // Counsel is admitted, then their connection drops.
    t.join_and_admit(&s, Role::Counsel).await;
    hs.leave_hearing(authed(
        s.token(Role::Counsel),
        pb::LeaveHearingRequest {
            hearing_id: hid.clone(),
            reason: "network".into(),
            disconnected: true,
        },
    ))
    .await
    .unwrap();

    // A participant cannot lock; the judge can, once.
    assert_status(
        hs.lock_hearing(lock_req(s.token(Role::Party), &hid, true))
            .await,
        Code::PermissionDenied,
        "lock_hearing",
    );
    let locked = hs
        .lock_hearing(lock_req(&s.judge, &hid, true))
        .await
        .unwrap()
        .into_inner();
    assert!(locked.locked);
    assert!(get_hearing(&mut hs, &s.clerk, &hid).await.locked);
    assert_status(
        hs.lock_hearing(lock_req(&s.clerk, &hid, true)).await,
        Code::FailedPrecondition,
        "the room is locked already",
    );

    // The witness was never admitted: refused, and nothing changed.
    let before = get_hearing(&mut hs, &s.clerk, &hid).await;
    assert_status(
        hs.join_hearing(join_req(s.token(Role::Witness), &hid))
            .await,
        Code::FailedPrecondition,
        "the court has locked the room",
    );
    assert_eq!(
        get_hearing(&mut hs, &s.clerk, &hid).await.last_seq,
        before.last_seq
    );
    // Counsel was: back in the waiting room.
    let counsel = hs
        .join_hearing(join_req(s.token(Role::Counsel), &hid))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(counsel.presence, pb::Presence::Waiting as i32);

    // Unlocked, the witness joins.
    let open = hs
        .lock_hearing(lock_req(&s.clerk, &hid, false))
        .await
        .unwrap()
        .into_inner();
    assert!(!open.locked);
    let witness = hs
        .join_hearing(join_req(s.token(Role::Witness), &hid))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(witness.presence, pb::Presence::Waiting as i32);

    // Both changes are in the log, by who made them, and the log verifies.
    let mut watch = watch_from_start(&mut hs, &s.clerk, &hid).await;
    let first = until_event(&mut watch, "RoomLocked", |p| match p {
        Payload::RoomLocked(l) => Some(l.clone()),
        _ => None,
    })
    .await;
    assert_eq!(
        (first.locked, first.reason.as_str()),
        (true, "the court is full")
    );
    let second = until_event(&mut watch, "RoomLocked", |p| match p {
        Payload::RoomLocked(l) => Some(l.clone()),
        _ => None,
    })
    .await;
    assert!(!second.locked);
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

    // Over: no locking.
    t.adjourn(&s).await;
    assert_status(
        hs.lock_hearing(lock_req(&s.judge, &hid, true)).await,
        Code::FailedPrecondition,
        "adjourned",
    );
    t.stop().await;
}

both_dbs!(a_locked_room_refuses_only_those_never_admitted);
