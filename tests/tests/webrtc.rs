//! Participants' media over WebRTC, end to end: real `opencourt bot` processes join a hearing on
//! a real server (two invited, admitted by the judge; the judge itself signed in with a password),
//! connect through the MediaService and send espeak-ng speech; the room's per-participant tracks
//! (announced with their hashes on the hearing's log) are playable and hold that speech. Plus removal, who may connect, and what a bad offer gets.
use std::path::{Path, PathBuf};
use std::time::Duration;

use hearing_core::domain::Role;
use opencourt_proto::v1 as pb;
use opencourt_tests::*;
use pb::media_service_client::MediaServiceClient;
use tonic::Code;

/// Generous bound for steps that take well under a second here; never asserted as a time.
const PATIENCE: Duration = Duration::from_secs(40);

fn playable(path: &Path) -> bool {
    let out = std::process::Command::new("gst-discoverer-1.0")
        .arg(path)
        .output()
        .expect("gst-discoverer-1.0");
    out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Opus")
}

fn bot(t: &TestApp, who: &[&str], hearing: &str, audio: &Path) -> BotProcess {
    let args = [who, &["--hearing", hearing]].concat();
    BotProcess::start("bot", t.addr, &args, audio, "pw-judge-webrtc-0123456789")
}

async fn invite(t: &TestApp, s: &Scene, name: &str, role: pb::Role) -> (String, String) {
    let r = t
        .hearings()
        .await
        .invite_participant(authed(
            &s.clerk,
            pb::InviteParticipantRequest {
                hearing_id: s.hearing.id.clone(),
                display_name: name.into(),
                role: role as i32,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    (r.participant.unwrap().id, r.code)
}

/// Opens the hearing and goes on the record.
async fn open_on_record(t: &TestApp, s: &Scene) {
    t.open(s).await;
    t.hearings()
        .await
        .go_on_record(authed(
            &s.judge,
            pb::GoOnRecordRequest {
                hearing_id: s.hearing.id.clone(),
            },
        ))
        .await
        .unwrap();
}

/// The participant's track file once the room has closed it and its hash is on the log.
async fn track_of(t: &TestApp, hearing: &str, participant: &str) -> PathBuf {
    use hearing_core::domain::events::MediaKind;
    use hearing_core::domain::{EventPayload, HearingId};
    let id = HearingId::parse("id", hearing).unwrap();
    tokio::time::timeout(PATIENCE, async {
        loop {
            let events = t.app.system().events_after(id, 0, u32::MAX).await.unwrap();
            let file = events.iter().find_map(|e| match e.payload() {
                Some(EventPayload::MediaClosed {
                    kind: MediaKind::Track,
                    file,
                    participant_id: Some(p),
                    ..
                }) if p.to_string() == participant => Some(file),
                _ => None,
            });
            if let Some(f) = file {
                return t.dir.path().join("media").join(hearing).join(f);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no track of {participant} on the log"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invited_bots_are_admitted_and_the_server_records_everyones_speech() {
    let t = TestApp::start(Db::Sqlite).await;
    let s = t.scene("webrtc", pb::Visibility::Public).await;
    let hid = s.hearing.id.clone();
    let texts = [
        "Counsel for the claimant. We ask the court to admit the shipping log.",
        "I saw the ship leave the harbour at dawn, before the storm, and it did not come back for three days.",
    ];
    let wavs = [
        speech_wav(t.dir.path(), "counsel", texts[0]),
        speech_wav(t.dir.path(), "witness", texts[1]),
    ];
    let people = [
        invite(&t, &s, "Counsel Bot", pb::Role::Counsel).await,
        invite(&t, &s, "Witness Bot", pb::Role::Witness).await,
    ];
    open_on_record(&t, &s).await;
    let mut hs = t.hearings().await;
    let mut watch = watch_from_start(&mut hs, &s.judge, &hid).await;

    let mut bots: Vec<BotProcess> = people
        .iter()
        .zip(&wavs)
        .map(|((_, code), wav)| bot(&t, &["--invite", code], &hid, wav))
        .collect();
    // The presiding judge signs in with a password (TestApp::staff's) and is in at once.
    let judge_wav = speech_wav(t.dir.path(), "judge", "This court is now in session.");
    let judge_login = [
        "--user",
        "judge-webrtc",
        "--password-env",
        "OC_TEST_JUDGE_PASSWORD",
    ];
    let mut judge = bot(&t, &judge_login, &hid, &judge_wav);
    let judge_line = judge.until("joined as ").await;
    assert!(judge_line.ends_with("(PRESENCE_ADMITTED)"), "{judge_line}");
    let judge_pid = judge_line["joined as ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    judge.until("connected").await;
    judge.until("audio sent ").await;

    // The judge admits each bot once it is in the waiting room.
    let mut waiting: Vec<&str> = people.iter().map(|(id, _)| id.as_str()).collect();
    tokio::time::timeout(PATIENCE, async {
        while !waiting.is_empty() {
            let e = watch.message().await.unwrap().expect("event stream");
            if let Some(pb::hearing_event::Payload::Joined(j)) = e.payload {
                if let Some(i) = waiting.iter().position(|p| *p == j.participant_id) {
                    assert_eq!(j.presence(), pb::Presence::Waiting);
                    hs.admit_participant(authed(
                        &s.judge,
                        pb::AdmitParticipantRequest {
                            hearing_id: hid.clone(),
                            participant_id: waiting.remove(i).to_string(),
                        },
                    ))
                    .await
                    .unwrap();
                }
            }
        }
    })
    .await
    .expect("both bots joined");

    for b in &mut bots {
        b.until("admitted").await;
        b.until("connected").await;
    }
    let mut sent = Vec::new();
    for b in &mut bots {
        let line = b.until("audio sent ").await;
        sent.push(
            line["audio sent ".len()..]
                .trim_end_matches(" s")
                .parse::<f64>()
                .unwrap(),
        );
    }

    hs.adjourn_hearing(authed(
        &s.judge,
        pb::AdjournHearingRequest {
            hearing_id: hid.clone(),
            reason: "evidence heard".into(),
        },
    ))
    .await
    .unwrap();
    bots.push(judge);
    for b in &mut bots {
        b.until("media closed: the hearing was adjourned").await;
        b.until("done: the hearing ended").await;
        let st = tokio::time::timeout(PATIENCE, b.child.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(st.success());
    }

    drop(watch); // the server drains open streams on stop
    let judge_track = track_of(&t, &hid, &judge_pid).await;
    assert!(
        playable(&judge_track),
        "{} is not playable",
        judge_track.display()
    );
    // Every track, the judge's too, holds the speech its bot sent, within 20 %.
    let voiced_as_sent = |who: &str, source: &[i16], track: &Path| {
        let (want, got) = (voiced_in(source), voiced_in(&decode_pcm(track)));
        eprintln!("{who}: {got:.2} s of speech received, {want:.2} s sent");
        assert!(want > 1.0, "the source has {want} s of speech");
        assert!(
            (got - want).abs() <= 0.2 * want,
            "{who}: {got:.2} s of speech received, {want:.2} s sent"
        );
    };
    voiced_as_sent("the judge", &decode_pcm(&judge_wav), &judge_track);
    for (((pid, _), wav), sent) in people.iter().zip(&wavs).zip(&sent) {
        let track = track_of(&t, &hid, pid).await;
        assert!(playable(&track), "{} is not playable Opus", track.display());
        let source = decode_pcm(wav);
        let source_secs = source.len() as f64 / 16000.0;
        assert!(
            (sent - source_secs).abs() < 0.3,
            "sent {sent} s of {source_secs} s"
        );
        voiced_as_sent(pid, &source, &track);
    }
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_bot_is_disconnected_and_its_track_finished() {
    let t = TestApp::start(Db::Sqlite).await;
    let s = t.scene("media-remove", pb::Visibility::Public).await;
    let hid = s.hearing.id.clone();
    let wav = speech_wav(t.dir.path(), "party", "I object.");
    let (pid, code) = invite(&t, &s, "Party Bot", pb::Role::Party).await;
    // redeemed here, so the test holds the session the bot connects with
    let token = t
        .auth()
        .await
        .redeem_invite(pb::RedeemInviteRequest { code })
        .await
        .unwrap()
        .into_inner()
        .token;
    open_on_record(&t, &s).await;
    // (the variable BotProcess fills is named for a password; here it carries the token)
    let who = ["--token-env", "OC_TEST_JUDGE_PASSWORD", "--hearing", &hid];
    let mut bot = BotProcess::start("bot", t.addr, &who, &wav, &token);
    bot.until("joined as ").await;
    let mut hs = t.hearings().await;
    let admit = pb::AdmitParticipantRequest {
        hearing_id: hid.clone(),
        participant_id: pid.clone(),
    };
    hs.admit_participant(authed(&s.judge, admit)).await.unwrap();
    bot.until("audio sent ").await;
    let remove = pb::RemoveParticipantRequest {
        hearing_id: hid.clone(),
        participant_id: pid.clone(),
        reason: "contempt".into(),
    };
    hs.remove_participant(authed(&s.judge, remove))
        .await
        .unwrap();
    bot.until("media closed: removed from the hearing").await;
    bot.until("done: removed from the hearing").await;
    assert!(bot.child.wait().await.unwrap().success());
    let track = track_of(&t, &hid, &pid).await;
    assert!(playable(&track), "{} is not playable", track.display());
    // The hearing goes on; the removed participant's session may not reconnect.
    assert_status(
        offer(&t, &token, &hid, OFFER).await,
        Code::Unauthenticated,
        "the token was revoked",
    );
    t.stop().await;
}

/// A bot whose media stops mid-hearing (its file ends, then its connection drops) is on the
/// record as stalled, and as resumed when it reconnects and sends again; the judge watching the
/// hearing sees both. Nobody is stalled before their media has started.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_whose_media_stops_is_logged_stalled_then_resumed() {
    use pb::hearing_event::Payload;
    let t = TestApp::start(Db::Sqlite).await;
    let s = t.scene("media-stall", pb::Visibility::Public).await;
    let hid = s.hearing.id.clone();
    let wav = speech_wav(t.dir.path(), "party", "I object.");
    let (pid, code) = invite(&t, &s, "Party Bot", pb::Role::Party).await;
    open_on_record(&t, &s).await;
    let mut hs = t.hearings().await;
    let mut watch = watch_from_start(&mut hs, &s.judge, &hid).await;
    // silent after its second of speech (stalled 2 s later), gone at 5 s, back at 12 s
    let mut bot = bot(
        &t,
        &["--invite", &code, "--drop-after", "5", "--drop-for", "7"],
        &hid,
        &wav,
    );
    bot.until("joined as ").await;
    let admit = pb::AdmitParticipantRequest {
        hearing_id: hid.clone(),
        participant_id: pid.clone(),
    };
    hs.admit_participant(authed(&s.judge, admit)).await.unwrap();

    // the judge's view of the log, up to the resumption
    let mut admitted_ms = None;
    let mut health = Vec::new();
    while !matches!(health.last(), Some(Payload::MediaResumed(_))) {
        let e = tokio::time::timeout(PATIENCE, watch.message())
            .await
            .unwrap_or_else(|_| panic!("no stall and resumption on the log; saw {health:?}"))
            .expect("watching the hearing")
            .expect("the hearing's stream ended");
        match e.payload {
            Some(Payload::Admitted(a)) if a.participant_id == pid => admitted_ms = Some(e.clock_ms),
            Some(p @ (Payload::MediaStalled(_) | Payload::MediaResumed(_))) => health.push(p),
            _ => {}
        }
    }
    let admitted_ms = admitted_ms.expect("the admission is on the log") as u64;
    let [Payload::MediaStalled(stalled), Payload::MediaResumed(resumed)] = &health[..] else {
        panic!("expected one stall, then its resumption: {health:?}")
    };
    assert_eq!(stalled.participant_id, pid);
    assert_eq!(resumed.participant_id, pid);
    // stalled where the media they had sent ended, after their admission (not from before they
    // sent anything), and resumed after that
    assert!(
        stalled.since_ms > admitted_ms,
        "stalled since {} ms, admitted at {admitted_ms} ms",
        stalled.since_ms
    );
    assert!(
        resumed.at_ms > stalled.since_ms,
        "resumed at {} ms, stalled since {} ms",
        resumed.at_ms,
        stalled.since_ms
    );
    bot.until("reconnected").await;
    t.stop().await;
}

/// A well-formed offer (what a browser sends, trimmed), for the permission checks.
const OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
a=group:BUNDLE 0\r\na=fingerprint:sha-256 AB:CD:EF:01\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendrecv\r\n\
a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdef01234567\r\na=setup:actpass\r\na=rtcp-mux\r\n\
a=rtpmap:111 opus/48000/2\r\n";

async fn offer(
    t: &TestApp,
    token: &str,
    hearing: &str,
    sdp: &str,
) -> Result<pb::OfferResponse, tonic::Status> {
    MediaServiceClient::new(t.channel().await)
        .offer(authed(
            token,
            pb::OfferRequest {
                hearing_id: hearing.into(),
                sdp: sdp.into(),
            },
        ))
        .await
        .map(|r| r.into_inner())
}

async fn join(t: &TestApp, token: &str, hearing: &str) {
    t.hearings()
        .await
        .join_hearing(authed(
            token,
            pb::JoinHearingRequest {
                hearing_id: hearing.into(),
            },
        ))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_joined_participants_of_the_hearing_may_connect() {
    let t = TestApp::start(Db::Sqlite).await;
    let a = t.scene("media-a", pb::Visibility::Public).await;
    let b = t.scene("media-b", pb::Visibility::Public).await;
    t.open(&a).await;
    t.open(&b).await;
    let (ha, counsel_b) = (a.hearing.id.as_str(), b.token(Role::Counsel));
    join(&t, counsel_b, &b.hearing.id).await;

    // A participant of hearing B, joined there, may not connect to hearing A's media…
    assert_status(
        offer(&t, counsel_b, ha, OFFER).await,
        Code::PermissionDenied,
        "another hearing",
    );
    let watched = MediaServiceClient::new(t.channel().await)
        .watch_media(authed(
            counsel_b,
            pb::WatchMediaRequest {
                hearing_id: ha.into(),
            },
        ))
        .await;
    assert_status(watched, Code::PermissionDenied, "another hearing");
    // …nor may A's own participant before joining, nor the other hearing's judge.
    assert_status(
        offer(&t, a.token(Role::Witness), ha, OFFER).await,
        Code::PermissionDenied,
        "join",
    );
    assert_status(
        offer(&t, &b.judge, ha, OFFER).await,
        Code::PermissionDenied,
        "presiding judge",
    );
    // The denials of A's own witness and of a judge are on hearing A's log; B's counsel has no
    // standing in A, so theirs go to the access log instead (anyone's token must not be able
    // to write into any hearing's permanent record).
    let events = t
        .app
        .system()
        .events_after(
            hearing_core::domain::HearingId::parse("id", ha).unwrap(),
            0,
            1000,
        )
        .await
        .unwrap();
    let denials = events
        .iter()
        .filter(|e| matches!(e.payload(), Some(hearing_core::domain::EventPayload::Denied { ref action, .. }) if action == "connect_media"))
        .count();
    assert_eq!(denials, 2);
    sqlx::any::install_default_drivers();
    let outside = sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM access_denials WHERE action = 'connect_media' AND target = $1",
    )
    .bind(ha)
    .fetch_one(&sqlx::AnyPool::connect(&t.database_url).await.unwrap())
    .await
    .unwrap();
    assert_eq!(outside, 2);

    // Joined (waiting) participants of A may.
    join(&t, a.token(Role::Witness), ha).await;
    let answer = offer(&t, a.token(Role::Witness), ha, OFFER).await;
    assert_eq!(code_of(&answer), Code::Ok, "{answer:?}");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_offer_is_invalid_argument_naming_the_sdp() {
    let t = TestApp::start(Db::Sqlite).await;
    let s = t.scene("media-bad", pb::Visibility::Public).await;
    t.open(&s).await;
    let (h, counsel) = (s.hearing.id.as_str(), s.token(Role::Counsel));
    join(&t, counsel, h).await;
    for garbage in [
        "",
        "hello, court",
        "v=0\r\nm=video 9 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n",
    ] {
        assert_status(
            offer(&t, counsel, h, garbage).await,
            Code::InvalidArgument,
            "sdp: ",
        );
    }
    assert_status(
        offer(&t, counsel, "not-an-id", OFFER).await,
        Code::InvalidArgument,
        "hearing_id",
    );
    // Parsable, but not a WebRTC offer webrtcbin can answer.
    let no_ice = OFFER.replace("a=ice-ufrag:abcd\r\n", "");
    assert_status(
        offer(&t, counsel, h, &no_ice).await,
        Code::InvalidArgument,
        "sdp: the offer was refused",
    );
    let r = MediaServiceClient::new(t.channel().await)
        .add_ice_candidate(authed(
            counsel,
            pb::AddIceCandidateRequest {
                hearing_id: h.into(),
                mline_index: 0,
                candidate: "rm -rf /".into(),
            },
        ))
        .await;
    assert_status(r, Code::InvalidArgument, "candidate");
    t.stop().await;
}
