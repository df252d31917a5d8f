//! The room follows the hearing on every (re)connection: a witness admitted, who leaves and
//! joins again, is waiting again, and while waiting nothing of theirs is heard (the mix) or
//! kept (their track), even with a media connection of their own; once admitted again they are
//! heard. The witness is a real WebRTC client (the media crate's bot, driven here step by step
//! as a browser would be) sending espeak-ng speech to the in-process server.
use std::path::Path;
use std::time::Duration;

use hearing_core::domain::Role;
use opencourt_media::{Bot, BotEvent, BotOptions, IceConfig};
use opencourt_proto::v1 as pb;
use opencourt_tests::*;
use pb::media_service_client::MediaServiceClient;
use tonic::transport::Channel;

/// Generous bound for steps that take seconds here; never asserted as a time.
const PATIENCE: Duration = Duration::from_secs(60);

/// The witness's side: their token, their media client and their one signals stream.
struct Witness {
    token: String,
    hearing: String,
    media: MediaServiceClient<Channel>,
    signals: tonic::Streaming<pb::MediaSignal>,
}

impl Witness {
    /// Offers a new connection sending `audio` and runs it until the whole file was sent;
    /// returns the bot (still connected, now silent).
    async fn speak(&mut self, audio: &Path) -> Bot {
        let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
        let audio = audio.to_path_buf();
        let (bot, offer) = tokio::task::spawn_blocking(move || {
            let bot = Bot::start(&audio, &IceConfig::loopback(), &BotOptions::default(), tx)
                .expect("bot");
            let offer = bot.offer().expect("offer");
            (bot, offer)
        })
        .await
        .unwrap();
        let answer = self
            .media
            .offer(authed(
                &self.token,
                pb::OfferRequest {
                    hearing_id: self.hearing.clone(),
                    sdp: offer,
                },
            ))
            .await
            .expect("offer")
            .into_inner();
        let bot = std::sync::Arc::new(bot);
        let b = bot.clone();
        tokio::task::spawn_blocking(move || b.accept_answer(&answer.sdp))
            .await
            .unwrap()
            .expect("answer");
        let session = answer.session_id;
        tokio::time::timeout(PATIENCE, async {
            loop {
                tokio::select! {
                    e = events.recv() => match e.expect("bot events") {
                        BotEvent::IceCandidate { mline_index, candidate } => {
                            self.media
                                .add_ice_candidate(authed(&self.token, pb::AddIceCandidateRequest {
                                    hearing_id: self.hearing.clone(), mline_index, candidate,
                                }))
                                .await
                                .expect("candidate");
                        }
                        BotEvent::AudioFinished { .. } => return,
                        BotEvent::Failed(m) => panic!("media failed: {m}"),
                        BotEvent::Connected => {}
                    },
                    s = self.signals.message() => match s.expect("signals").expect("a signal") {
                        pb::MediaSignal { session_id, signal: Some(pb::media_signal::Signal::IceCandidate(c)) }
                            if session_id == session => bot.add_ice_candidate(c.mline_index, &c.candidate),
                        _ => {}
                    },
                }
            }
        })
        .await
        .expect("the audio was not sent");
        std::sync::Arc::try_unwrap(bot).ok().expect("one owner")
    }
}

async fn stop(bot: Bot) {
    tokio::task::spawn_blocking(move || bot.stop())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_witness_who_leaves_and_rejoins_waits_unheard_until_admitted_again() {
    let t = TestApp::start(Db::Sqlite).await;
    let s = t.scene("rejoin", pb::Visibility::Public).await;
    let hid = s.hearing.id.clone();
    let token = s.token(Role::Witness).to_string();
    let wid = s.participant(Role::Witness).id.clone();
    let dir = t.dir.path();
    let before = speech_wav(dir, "before", "I saw the ship leave the harbour at dawn.");
    let waiting = speech_wav(
        dir,
        "waiting",
        "This is said in the waiting room after coming back. Nobody in the courtroom may hear \
         it and nothing of it may be kept on the record of this hearing, not one word of it, \
         however long I go on speaking here alone.",
    );
    let after = speech_wav(dir, "after", "It did not come back for three days.");

    let mut hs = t.hearings().await;
    t.open_on_record(&s).await;
    let join = |hs: &mut pb::hearing_service_client::HearingServiceClient<Channel>| {
        let mut hs = hs.clone();
        let (token, hid) = (token.clone(), hid.clone());
        async move {
            hs.join_hearing(authed(&token, pb::JoinHearingRequest { hearing_id: hid }))
                .await
                .expect("join")
                .into_inner()
                .presence()
        }
    };
    let admit = |hs: &mut pb::hearing_service_client::HearingServiceClient<Channel>| {
        let mut hs = hs.clone();
        let (judge, hid, wid) = (s.judge.clone(), hid.clone(), wid.clone());
        async move {
            hs.admit_participant(authed(
                &judge,
                pb::AdmitParticipantRequest {
                    hearing_id: hid,
                    participant_id: wid,
                },
            ))
            .await
            .expect("admit");
        }
    };

    // Admitted, the witness speaks: heard and kept.
    assert_eq!(join(&mut hs).await, pb::Presence::Waiting);
    admit(&mut hs).await;
    let mut media = MediaServiceClient::new(t.channel().await);
    let signals = media
        .watch_media(authed(
            &token,
            pb::WatchMediaRequest {
                hearing_id: hid.clone(),
            },
        ))
        .await
        .expect("WatchMedia")
        .into_inner();
    let mut w = Witness {
        token: token.clone(),
        hearing: hid.clone(),
        media,
        signals,
    };
    let bot = w.speak(&before).await;

    // They leave (the server ends their connection) and join again: waiting, in the domain…
    hs.leave_hearing(authed(
        &token,
        pb::LeaveHearingRequest {
            hearing_id: hid.clone(),
            reason: "stepping out".into(),
            disconnected: false,
        },
    ))
    .await
    .expect("leave");
    stop(bot).await;
    assert_eq!(join(&mut hs).await, pb::Presence::Waiting);
    // …and in the room: a new connection from the waiting room is neither heard nor kept.
    let bot = w.speak(&waiting).await;

    // Admitted again: heard and kept.
    admit(&mut hs).await;
    let bot2 = w.speak(&after).await;
    stop(bot).await;
    t.adjourn(&s).await;

    // The room has stopped once this node gave up the hearing's media lease: every file was
    // closed and logged before that.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&t.database_url).await.unwrap();
    tokio::time::timeout(PATIENCE, async {
        loop {
            let held: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM media_leases WHERE hearing_id = $1")
                    .bind(&hid)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            if held == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("the room did not stop");
    stop(bot2).await;
    let files: Vec<(String, String, Option<String>)> =
        sqlx::query_as("SELECT file, kind, participant_id FROM media_files WHERE hearing_id = $1")
            .bind(&hid)
            .fetch_all(&pool)
            .await
            .unwrap();
    let voiced = |kind: &str, who: Option<&str>| -> f64 {
        let media = t.dir.path().join("media").join(&hid);
        let picked: Vec<_> = files
            .iter()
            .filter(|(_, k, p)| k == kind && (who.is_none() || p.as_deref() == who))
            .collect();
        assert!(!picked.is_empty(), "no {kind} logged: {files:?}");
        picked
            .iter()
            .map(|(f, _, _)| voiced_seconds(&media.join(f)))
            .sum()
    };
    let (a, b, c) = (
        voiced_seconds(&before),
        voiced_seconds(&waiting),
        voiced_seconds(&after),
    );
    assert!(
        b > 1.5 * (a + c),
        "the waiting speech must outweigh the rest: {a} {b} {c}"
    );
    // Kept (their track) and heard (the mix): what they said admitted, not what they said
    // waiting.
    for (what, got) in [
        ("the witness's track", voiced("track", Some(&wid))),
        ("the mix", voiced("segment", None)),
    ] {
        assert!(
            got < a + c + 0.5 * b,
            "{what} holds the waiting-room speech: {got:.2} s voiced; admitted {a:.2} + {c:.2}, waiting {b:.2}"
        );
        assert!(
            got > 0.7 * (a + c),
            "{what} lacks what was said admitted: {got:.2} s voiced; admitted {a:.2} + {c:.2}"
        );
    }
    t.stop().await;
}
