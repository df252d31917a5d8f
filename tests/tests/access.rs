//! Who gets in: an expired token is UNAUTHENTICATED everywhere, and `GET /media/<hearing>/<file>`
//! serves a hearing's files to those who may read the hearing (admitted participants and the
//! court), nothing to anyone else, and
//! nothing outside that hearing's directory whatever the path says. Invitation codes work once,
//! until the hearing's end plus a grace, not after the participant's removal nor after the court
//! reissued them.
use std::time::Duration;

use hearing_core::app::STAFF_TOKEN_TTL;
use hearing_core::domain::{EventPayload, HearingId, ParticipantId, Role};
use opencourt_proto::v1 as pb;
use opencourt_tests::*;
use tonic::Code;

/// Staff tokens as usual; participants' tokens expire as they are issued.
async fn participant_tokens_expire_at_once(db: Db) {
    let t = TestApp::start_with(db, |app| {
        app.with_token_ttls(STAFF_TOKEN_TTL, Duration::ZERO)
    })
    .await;
    let s = t.scene("expiry", pb::Visibility::Public).await;
    let mut hs = t.hearings().await;
    let get = |token: &str| {
        authed(
            token,
            pb::GetHearingRequest {
                hearing_id: s.hearing.id.clone(),
            },
        )
    };
    // The judge's token (12 h) works; every participant's has expired.
    hs.get_hearing(get(&s.judge))
        .await
        .expect("the judge reads");
    for (role, _, token) in &s.people {
        let r = hs.get_hearing(get(token)).await;
        let r = r
            .map(|_| ())
            .map_err(|s| (s.code(), s.message().to_string()));
        assert_eq!(
            r,
            Err((Code::Unauthenticated, "the token has expired".into())),
            "{role:?}"
        );
    }
    let counsel = s.token(Role::Counsel);
    assert_status(
        hs.watch_hearing(authed(
            counsel,
            pb::WatchHearingRequest {
                hearing_id: s.hearing.id.clone(),
                after_seq: 0,
            },
        ))
        .await,
        Code::Unauthenticated,
        "the token has expired",
    );
    assert_status(
        hs.join_hearing(authed(
            counsel,
            pb::JoinHearingRequest {
                hearing_id: s.hearing.id.clone(),
            },
        ))
        .await,
        Code::Unauthenticated,
        "the token has expired",
    );
    let answer = fetch(
        &t,
        &format!("/media/{}/recording-0001.mkv", s.hearing.id),
        Some(counsel),
    )
    .await;
    assert_eq!(shown(&answer), (401, "the token has expired".to_string()));
    // The refused join changed nothing: counsel is still only invited.
    let h = get_hearing(&mut hs, &s.clerk, &s.hearing.id).await;
    let p = h
        .participants
        .iter()
        .find(|p| p.id == s.participant(Role::Counsel).id)
        .expect("counsel");
    assert_eq!(p.presence(), pb::Presence::Invited);
    // A token that was never issued says so (not "expired").
    assert_status(
        hs.get_hearing(get("oct_0000")).await,
        Code::Unauthenticated,
        "the token is not valid",
    );
    t.stop().await;
}

/// Staff tokens expire as they are issued: login still answers, the token opens nothing.
async fn staff_tokens_expire_at_once(db: Db) {
    let t = TestApp::start_with(db, |app| {
        app.with_token_ttls(Duration::ZERO, Duration::ZERO)
    })
    .await;
    let (token, _) = t.staff("clerk-expiry", Role::Clerk, "Clerk Li").await;
    assert_status(
        t.cases()
            .await
            .list_cases(authed(&token, pb::ListCasesRequest::default()))
            .await,
        Code::Unauthenticated,
        "the token has expired",
    );
    t.stop().await;
}

/// (status, body) of a GET as `token`.
async fn fetch(t: &TestApp, path: &str, token: Option<&str>) -> (u16, Vec<u8>) {
    http_get(t.addr, path, token).await
}

/// A response as a failing assertion should show it: an error's text, or a file's size.
fn shown((code, body): &(u16, Vec<u8>)) -> (u16, String) {
    match std::str::from_utf8(body) {
        Ok(text) if *code != 200 && text.len() < 300 => (*code, text.to_string()),
        _ => (*code, format!("<{} bytes>", body.len())),
    }
}

async fn media_is_for_the_hearings_readers_only(db: Db) {
    let t = TestApp::start(db).await;
    let a = t.scene("media-a", pb::Visibility::Public).await;
    let b = t.scene("media-b", pb::Visibility::Public).await;
    let media = t.dir.path().join("media");
    let (ha, hb) = (a.hearing.id.as_str(), b.hearing.id.as_str());
    std::fs::create_dir_all(media.join(hb)).unwrap();
    let recording: Vec<u8> = (0..50_000u32).map(|i| (i * 7 % 251) as u8).collect();
    // Only files the hearing's log names are served: the recording is logged, as the room's
    // pump logs every file it closes.
    t.logged_media(ha, "recording-0001.mkv", None, &recording)
        .await;
    // Secrets the path guard must never hand to hearing A's people.
    let secret_b = b"hearing B's own track".to_vec();
    let secret_root = b"not in any hearing".to_vec();
    std::fs::write(media.join(hb).join("track-b.ogg"), &secret_b).unwrap();
    std::fs::write(media.join("outside.txt"), &secret_root).unwrap();
    std::fs::write(t.dir.path().join("secret.txt"), &secret_root).unwrap();
    let file = format!("/media/{ha}/recording-0001.mkv");
    let counsel_a = a.token(Role::Counsel);

    // Authorisation.
    assert_eq!(
        shown(&fetch(&t, &file, None).await),
        (401, "missing authorization: Bearer <token>".to_string())
    );
    assert_eq!(
        shown(&fetch(&t, &file, Some("oct_not_a_token")).await),
        (401, "the token is not valid".to_string())
    );
    assert_eq!(
        shown(&fetch(&t, &file, Some(b.token(Role::Counsel))).await),
        (403, "the invitation is for another hearing".to_string())
    );
    // Invited participants are sequestered until admitted (the read policy): nothing yet.
    assert_eq!(
        shown(&fetch(&t, &file, Some(counsel_a)).await),
        (
            403,
            "a participant who is invited reads nothing of the hearing until admitted".to_string()
        )
    );
    t.open(&a).await;
    t.join_and_admit(&a, Role::Counsel).await;
    t.join_and_admit(&a, Role::Observer).await;
    for token in [counsel_a, a.token(Role::Observer), &a.judge, &a.clerk] {
        let answer = fetch(&t, &file, Some(token)).await;
        assert_eq!(shown(&answer), (200, "<50000 bytes>".to_string()));
        assert!(answer.1 == recording, "the recording's bytes, unchanged");
    }
    let answer = fetch(
        &t,
        &format!("/media/{ha}/recording-0002.mkv"),
        Some(counsel_a),
    )
    .await;
    assert_eq!(
        shown(&answer),
        (404, format!("no file recording-0002.mkv in hearing {ha}"))
    );

    // The path guard: whatever the path says, A's counsel gets nothing outside A's directory.
    // Each answer as pinned from a run; the point is that none is 200 and none carries a secret.
    let outside = media.join("outside.txt").display().to_string();
    let not_a_file = (400, "file: is not a file of this hearing".to_string());
    let escapes = [
        (
            format!("/media/{ha}/../{hb}/track-b.ogg"),
            not_a_file.clone(),
        ),
        (
            format!("/media/{ha}/%2e%2e/{hb}/track-b.ogg"),
            not_a_file.clone(),
        ),
        (
            format!("/media/{ha}/..%2f{hb}%2ftrack-b.ogg"),
            not_a_file.clone(),
        ),
        (
            format!("/media/{ha}/%2E%2E%2F%2E%2E%2Fsecret.txt"),
            not_a_file.clone(),
        ),
        (format!("/media/{ha}/../outside.txt"), not_a_file.clone()),
        (format!("/media/{ha}/../../secret.txt"), not_a_file.clone()),
        (format!("/media/{ha}/%2f{outside}"), not_a_file.clone()),
        (format!("/media/{ha}//{outside}"), not_a_file.clone()),
        (format!("/media/{ha}/./../outside.txt"), not_a_file.clone()),
        // Backslashes and NUL are plain characters of a file name here: no such file.
        (
            format!("/media/{ha}/..%5c..%5csecret.txt"),
            (404, format!("no file ..\\..\\secret.txt in hearing {ha}")),
        ),
        (
            format!("/media/{ha}/%00../outside.txt"),
            (404, format!("no file \0../outside.txt in hearing {ha}")),
        ),
        (
            format!("/media/../{hb}/track-b.ogg"),
            (400, "hearing: \"..\" is not a valid id".to_string()),
        ),
        (
            "/media/%2e%2e/outside.txt".to_string(),
            (400, "hearing: \"..\" is not a valid id".to_string()),
        ),
        (
            format!("/media/{hb}/track-b.ogg"),
            (403, "the invitation is for another hearing".to_string()),
        ),
    ];
    for (path, expected) in &escapes {
        let answer = fetch(&t, path, Some(counsel_a)).await;
        for secret in [&secret_b, &secret_root] {
            assert!(
                !answer
                    .1
                    .windows(secret.len())
                    .any(|w| w == secret.as_slice()),
                "{path} leaked a file: {:?}",
                shown(&answer)
            );
        }
        assert_eq!(shown(&answer), expected.clone(), "{path}");
    }
    t.stop().await;
}

/// The clerk invites `name` as a witness to `hearing`: (participant id, code).
async fn invite(t: &TestApp, clerk: &str, hearing: &str, name: &str) -> (String, String) {
    let r = t
        .hearings()
        .await
        .invite_participant(authed(
            clerk,
            pb::InviteParticipantRequest {
                hearing_id: hearing.into(),
                display_name: name.into(),
                role: pb::Role::Witness as i32,
            },
        ))
        .await
        .expect("invite")
        .into_inner();
    (r.participant.expect("participant").id, r.code)
}

async fn redeem(t: &TestApp, code: &str) -> Result<pb::RedeemInviteResponse, tonic::Status> {
    t.auth()
        .await
        .redeem_invite(pb::RedeemInviteRequest { code: code.into() })
        .await
        .map(|r| r.into_inner())
}

/// Removing a participant withdraws their invitation: the unredeemed code then answers why,
/// and redeeming it changes nothing.
async fn removal_withdraws_an_unredeemed_invitation(db: Db) {
    let t = TestApp::start(db).await;
    let s = t.scene("inv-rm", pb::Visibility::Public).await;
    let (pid, code) = invite(&t, &s.clerk, &s.hearing.id, "Mr. Zhao").await;
    let mut hs = t.hearings().await;
    hs.remove_participant(authed(
        &s.clerk,
        pb::RemoveParticipantRequest {
            hearing_id: s.hearing.id.clone(),
            participant_id: pid,
            reason: "no longer called".into(),
        },
    ))
    .await
    .expect("remove");
    let head = get_hearing(&mut hs, &s.clerk, &s.hearing.id).await.last_seq;
    assert_status(
        redeem(&t, &code).await,
        Code::PermissionDenied,
        "removed from this hearing: the invitation was withdrawn",
    );
    assert_eq!(
        get_hearing(&mut hs, &s.clerk, &s.hearing.id).await.last_seq,
        head,
        "the refused redemption changed nothing"
    );
    t.stop().await;
}

/// Codes are redeemable until the hearing's scheduled end plus the grace, not after.
async fn invitations_expire_after_the_hearings_end_and_grace(db: Db) {
    let grace = Duration::from_secs(90 * 60);
    let t = TestApp::start_with(db, |app| app.with_invite_grace(grace)).await;
    let s = t.scene("inv-exp", pb::Visibility::Public).await;
    let mut hs = t.hearings().await;
    let past = |from: i64, to: i64| {
        let req = authed(
            &s.judge,
            pb::ScheduleHearingRequest {
                case_id: s.case.id.clone(),
                title: "Earlier today".into(),
                starts_at: Some(ts_in(from)),
                ends_at: Some(ts_in(to)),
                judge_id: String::new(),
                validate_only: false,
            },
        );
        let mut hs = hs.clone();
        async move {
            hs.schedule_hearing(req)
                .await
                .expect("schedule")
                .into_inner()
        }
    };
    // Ended two hours ago (past the 90 min grace), and one hour ago (within it).
    let ended = past(-4, -2).await;
    let ending = past(-2, -1).await;
    let (_, late) = invite(&t, &s.clerk, &ended.id, "Late witness").await;
    let (_, in_time) = invite(&t, &s.clerk, &ending.id, "Witness in time").await;
    let before = get_hearing(&mut hs, &s.clerk, &ended.id).await.last_seq;
    assert_status(
        redeem(&t, &late).await,
        Code::Unauthenticated,
        "the invitation expired at",
    );
    assert_eq!(
        get_hearing(&mut hs, &s.clerk, &ended.id).await.last_seq,
        before
    );
    redeem(&t, &in_time).await.expect("within the grace");
    t.stop().await;
}

/// The court reissues a lost code: the old one stops working, the new one works once, the log
/// says who reissued it; nobody else may, and a removed participant gets no new code.
async fn the_court_reissues_an_invitation(db: Db) {
    let t = TestApp::start(db).await;
    let s = t.scene("inv-re", pb::Visibility::Public).await;
    let (pid, old) = invite(&t, &s.clerk, &s.hearing.id, "Ms. Sun").await;
    let mut hs = t.hearings().await;
    let reissue = |token: &str, pid: &str| {
        authed(
            token,
            pb::ReissueInviteRequest {
                hearing_id: s.hearing.id.clone(),
                participant_id: pid.into(),
            },
        )
    };
    assert_status(
        hs.reissue_invite(reissue(s.token(Role::Counsel), &pid))
            .await,
        Code::PermissionDenied,
        "may not invite_participant",
    );
    let new = hs
        .reissue_invite(reissue(&s.clerk, &pid))
        .await
        .expect("reissue")
        .into_inner();
    assert_eq!(new.participant.expect("participant").id, pid);
    assert_ne!(new.code, old);
    let log = t
        .app
        .system()
        .events_after(HearingId::parse("h", &s.hearing.id).unwrap(), 0, 1000)
        .await
        .unwrap();
    let last = log.last().expect("events");
    assert_eq!(
        (last.payload(), last.actor_name.as_str()),
        (
            Some(EventPayload::InviteReissued {
                participant_id: ParticipantId::parse("p", &pid).unwrap()
            }),
            "Clerk Li"
        )
    );
    assert_status(
        redeem(&t, &old).await,
        Code::Unauthenticated,
        "invitation code is not valid or was already used",
    );
    let redeemed = redeem(&t, &new.code).await.expect("the new code");
    assert_eq!(redeemed.participant.expect("participant").id, pid);
    assert_status(
        redeem(&t, &new.code).await,
        Code::Unauthenticated,
        "was already used",
    );
    // A removed participant is not invited back by a new code.
    let removed = s.participant(Role::Party).id.clone();
    hs.remove_participant(authed(
        &s.clerk,
        pb::RemoveParticipantRequest {
            hearing_id: s.hearing.id.clone(),
            participant_id: removed.clone(),
            reason: "disorder".into(),
        },
    ))
    .await
    .expect("remove");
    assert_status(
        hs.reissue_invite(reissue(&s.clerk, &removed)).await,
        Code::FailedPrecondition,
        "the participant was removed",
    );
    t.stop().await;
}

both_dbs!(
    participant_tokens_expire_at_once,
    staff_tokens_expire_at_once,
    media_is_for_the_hearings_readers_only,
    removal_withdraws_an_unredeemed_invitation,
    invitations_expire_after_the_hearings_end_and_grace,
    the_court_reissues_an_invitation
);
