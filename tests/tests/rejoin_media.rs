//! The room follows the hearing on every (re)connection: a witness admitted, who leaves and
//! joins again, is waiting again, and while waiting nothing of theirs is heard (the mix) or
//! kept (their track), even with a media connection of their own; once admitted again they are
//! heard. The witness is a real WebRTC client (the media crate's bot, driven here step by step
//! as a browser would be) sending espeak-ng speech to the in-process server.
use std::path::Path;
use std::time::Duration;

use hearing_core::domain::Role;
use opencourt_media::{Bot, BotEvent};
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
    /// The witness's media client, watching their signals.
    async fn watch(t: &TestApp, token: &str, hid: &str) -> Witness {
        let mut media = MediaServiceClient::new(t.channel().await);
        let signals = media
            .watch_media(authed(
                token,
                pb::WatchMediaRequest {
                    hearing_id: hid.to_string(),
                },
            ))
            .await
            .expect("WatchMedia")
            .into_inner();
        Witness {
            token: token.to_string(),
            hearing: hid.to_string(),
            media,
            signals,
        }
    }

    /// Offers a new connection sending `audio` and runs it until the whole file was sent;
    /// returns the bot (still connected, now silent).
    async fn speak(&mut self, audio: &Path) -> Bot {
        let Offered {
            bot,
            session,
            mut events,
        } = offer_bot(&mut self.media, &self.token, &self.hearing, audio).await;
        let bot = std::sync::Arc::new(bot);
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

/// The files the log lists for hearing `hid` (file, kind, participant) once its room has
/// stopped: when this node gave up the hearing's media lease, every file was closed and logged.
async fn logged_files_once_stopped(
    t: &TestApp,
    hid: &str,
) -> Vec<(String, String, Option<String>)> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&t.database_url).await.unwrap();
    tokio::time::timeout(PATIENCE, async {
        loop {
            let held: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM media_leases WHERE hearing_id = $1")
                    .bind(hid)
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
    sqlx::query_as("SELECT file, kind, participant_id FROM media_files WHERE hearing_id = $1")
        .bind(hid)
        .fetch_all(&pool)
        .await
        .unwrap()
}

/// Seconds of speech in the logged files of `kind` ("track", "segment"), of participant `who`
/// when given.
fn voiced_of(
    t: &TestApp,
    hid: &str,
    files: &[(String, String, Option<String>)],
    kind: &str,
    who: Option<&str>,
) -> f64 {
    let media = t.dir.path().join("media").join(hid);
    let picked: Vec<_> = files
        .iter()
        .filter(|(_, k, p)| k == kind && (who.is_none() || p.as_deref() == who))
        .collect();
    assert!(!picked.is_empty(), "no {kind} logged: {files:?}");
    picked
        .iter()
        .map(|(f, _, _)| voiced_seconds(&media.join(f)))
        .sum()
}

/// The witness's track and the mix hold the speech of `heard[0]` and `heard[2]` (said while
/// heard) and not that of `heard[1]` (said while `unheard`: waiting, muted), which outweighs
/// the rest so that a leak shows.
fn assert_only_heard_speech_kept(
    t: &TestApp,
    hid: &str,
    files: &[(String, String, Option<String>)],
    wid: &str,
    heard: [&Path; 3],
    unheard: &str,
) {
    let [a, b, c] = heard.map(voiced_seconds);
    assert!(
        b > 1.5 * (a + c),
        "the {unheard} speech must outweigh the rest: {a} {b} {c}"
    );
    for (what, got) in [
        (
            "the witness's track",
            voiced_of(t, hid, files, "track", Some(wid)),
        ),
        ("the mix", voiced_of(t, hid, files, "segment", None)),
    ] {
        assert!(
            got < a + c + 0.5 * b,
            "{what} holds the {unheard} speech: {got:.2} s voiced; heard {a:.2} + {c:.2}, {unheard} {b:.2}"
        );
        assert!(
            got > 0.7 * (a + c),
            "{what} lacks what was said heard: {got:.2} s voiced; heard {a:.2} + {c:.2}"
        );
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
    let mut w = Witness::watch(&t, &token, &hid).await;
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

    let files = logged_files_once_stopped(&t, &hid).await;
    stop(bot2).await;
    // Kept (their track) and heard (the mix): what they said admitted, not what they said
    // waiting.
    assert_only_heard_speech_kept(
        &t,
        &hid,
        &files,
        &wid,
        [&before, &waiting, &after],
        "waiting",
    );
    t.stop().await;
}

/// Mute is a record policy: while the court has a witness muted, nothing they say is heard
/// (the mix), kept (their track) or transcribed, and the log shows the cut in their track with
/// its reason; what they say unmuted is all three.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_muted_witness_is_neither_heard_kept_nor_transcribed() {
    let t = TestApp::start(Db::Sqlite).await;
    let s = t.scene("mute", pb::Visibility::Public).await;
    let hid = s.hearing.id.clone();
    let token = s.token(Role::Witness).to_string();
    let wid = s.participant(Role::Witness).id.clone();
    let dir = t.dir.path();
    let said = "I saw the ship leave the harbour at dawn.";
    let private = "Tell the lawyer my brother owns the warehouse and the money is hidden in \
                   Geneva, but nobody else may know about the money, the brother or the \
                   warehouse in Geneva.";
    let later = "It did not come back for three days.";
    let (before, muted, after) = (
        speech_wav(dir, "before", said),
        speech_wav(dir, "muted", private),
        speech_wav(dir, "after", later),
    );
    let mut hs = t.hearings().await;
    t.open_on_record(&s).await;
    hs.join_hearing(authed(
        &token,
        pb::JoinHearingRequest {
            hearing_id: hid.clone(),
        },
    ))
    .await
    .expect("join");
    hs.admit_participant(authed(
        &s.judge,
        pb::AdmitParticipantRequest {
            hearing_id: hid.clone(),
            participant_id: wid.clone(),
        },
    ))
    .await
    .expect("admit");
    let mute = |muted: bool| {
        let mut hs = hs.clone();
        let (judge, hid, wid) = (s.judge.clone(), hid.clone(), wid.clone());
        async move {
            hs.mute_participant(authed(
                &judge,
                pb::MuteParticipantRequest {
                    hearing_id: hid,
                    participant_id: wid,
                    muted,
                },
            ))
            .await
            .expect("mute");
        }
    };
    let mut w = Witness::watch(&t, &token, &hid).await;
    let bot = w.speak(&before).await;
    // Each utterance is a new connection, which takes the witness's state as the log has it.
    mute(true).await;
    let bot2 = w.speak(&muted).await;
    stop(bot).await;
    mute(false).await;
    let bot3 = w.speak(&after).await;
    stop(bot2).await;
    t.adjourn(&s).await;
    let files = logged_files_once_stopped(&t, &hid).await;
    stop(bot3).await;

    assert_only_heard_speech_kept(&t, &hid, &files, &wid, [&before, &muted, &after], "muted");
    let b = voiced_seconds(&muted);

    // The log: the mute is a cut in the witness's own track, with its reason.
    let events = t
        .app
        .system()
        .events_after(
            hearing_core::domain::HearingId::parse("hearing_id", &hid).unwrap(),
            0,
            u32::MAX,
        )
        .await
        .unwrap();
    let cuts: Vec<_> = recording_gaps(&events)
        .into_iter()
        .filter_map(|(p, from, to, reason)| Some((p?.to_string(), from, to, reason)))
        .collect();
    assert_eq!(cuts.len(), 1, "one cut in the witness's track: {cuts:?}");
    let (who, from, to, reason) = &cuts[0];
    assert_eq!(
        (who.as_str(), reason.as_str()),
        (wid.as_str(), "muted by the court")
    );
    assert!(
        to > from && (to - from) as f64 >= 1000.0 * b,
        "the cut spans the muted speech ({b:.2} s): {from}..{to} ms"
    );

    // The transcript (made by a worker as a deployment's would): the unmuted words, none of
    // the muted ones.
    let opts = transcriber::worker::WorkerOptions {
        owner: "test-worker".into(),
        data: tiny_en_data_dir(),
        model: None,
        threads: 2,
        lease: Duration::from_secs(60),
        poll: Duration::from_millis(100),
    };
    let engines = transcriber::worker::Engines::default();
    transcriber::worker::run_one(&t.app, &opts, &engines)
        .await
        .expect("transcription")
        .expect("a transcription job was queued");
    let transcript = stored_transcript(t.channel().await, &s.judge, &hid).await;
    let text: Vec<&str> = transcript
        .segments
        .iter()
        .map(|s| s.text.as_str())
        .collect();
    let text = text.join(" ").to_lowercase();
    // ("days", at the end of the second sentence, tiny.en has heard as "maze" and "names": the
    // words before it are the steady ones.)
    for word in ["ship", "harbour", "come back"] {
        assert!(
            text.contains(word) || (word == "harbour" && text.contains("harbor")),
            "the unmuted {word:?} is missing from the transcript: {text}"
        );
    }
    for word in ["lawyer", "brother", "warehouse", "geneva", "money"] {
        assert!(
            !text.contains(word),
            "the muted {word:?} is in the transcript: {text}"
        );
    }
    t.stop().await;
}
