//! A bot and a server endpoint in one process over loopback: the hearing's room writes the bot's
//! speech, untranscoded, to a playable Opus track, and nothing of a peer in the waiting room.
//! (The whole path through gRPC is tested in `tests/`.)
use std::time::Duration;

use opencourt_media::{Bot, BotEvent, IceConfig, Offer, PeerInfo, Rooms, SignalKind};

/// Sends a sentence from a bot to an endpoint (admitted or in the waiting room) and returns the
/// track files the room closed once the hearing's room has stopped.
async fn speak(dir: &std::path::Path, admitted: bool) -> Vec<std::path::PathBuf> {
    opencourt_media::init().unwrap();
    let wav = dir.join("speech.wav");
    let st = std::process::Command::new("espeak-ng")
        .arg("-w")
        .arg(&wav)
        .arg("The witness saw the ship leave the harbour at dawn.")
        .status()
        .unwrap();
    assert!(st.success());

    let rooms = Rooms::new(dir.join("media"), IceConfig::loopback());
    let hearing = uuid::Uuid::new_v4();
    let events = rooms
        .open(hearing, chrono::Utc::now(), true, None)
        .unwrap()
        .expect("a new room");
    let info = PeerInfo {
        name: "Party Bot".into(),
        role: recorder::Role::Party,
        admitted,
        muted: false,
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let bot = Bot::start(&wav, None, &IceConfig::loopback(), tx).unwrap();
    let offer = bot.offer().unwrap();
    let r = rooms.clone();
    let answer = tokio::task::spawn_blocking(move || {
        r.connect(hearing, "p1", &info, Offer::parse(&offer).unwrap())
    })
    .await
    .unwrap()
    .unwrap();
    assert!(answer.sdp.contains("a=sendrecv"), "{}", answer.sdp);
    bot.accept_answer(&answer.sdp).unwrap();
    let (replay, mut live) = rooms.watch(hearing, "p1");
    for s in replay {
        if let SignalKind::IceCandidate {
            mline_index,
            candidate,
        } = s.kind
        {
            bot.add_ice_candidate(mline_index, &candidate);
        }
    }
    let finished = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            tokio::select! {
                Some(e) = rx.recv() => match e {
                    BotEvent::IceCandidate { mline_index, candidate } => {
                        rooms.add_ice_candidate(hearing, "p1", mline_index, &candidate).unwrap();
                    }
                    BotEvent::AudioFinished { seconds } => break seconds,
                    BotEvent::Failed(m) => panic!("{m}"),
                    BotEvent::Connected => {}
                },
                Ok(s) = live.recv() => {
                    if let SignalKind::IceCandidate { mline_index, candidate } = s.kind {
                        bot.add_ice_candidate(mline_index, &candidate);
                    }
                }
            }
        }
    })
    .await
    .expect("the bot finished its file");
    assert!(finished > 1.0, "sent {finished} s");
    // Let the last packets arrive before closing.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = rooms.clone();
    tokio::task::spawn_blocking(move || r.close_hearing(hearing, "adjourned"))
        .await
        .unwrap();
    bot.stop();
    events
        .try_iter()
        .filter_map(|e| match e {
            recorder::Event::FileClosed(f)
                if matches!(f.kind, recorder::manifest::FileKind::Track { .. }) =>
            {
                Some(dir.join("media").join(hearing.to_string()).join(f.file))
            }
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_reaches_the_server_and_its_speech_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let tracks = speak(dir.path(), true).await;
    assert_eq!(tracks.len(), 1, "{tracks:?}");
    let track = &tracks[0];
    let out = std::process::Command::new("gst-discoverer-1.0")
        .arg(track)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("Opus"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_kept_from_the_waiting_room() {
    let dir = tempfile::tempdir().unwrap();
    let tracks = speak(dir.path(), false).await;
    assert!(tracks.is_empty(), "{tracks:?}");
}
