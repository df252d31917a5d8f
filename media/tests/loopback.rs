//! A bot and a server endpoint in one process over loopback: the hearing's room writes the bot's
//! speech, untranscoded, to a playable Opus track, and nothing of a peer in the waiting room.
//! (The whole path through gRPC is tested in `tests/`.)
use std::time::Duration;

use opencourt_media::bot::LOUD_DBFS;
use opencourt_media::{Bot, BotEvent, BotOptions, IceConfig, Offer, PeerInfo, Rooms, SignalKind};

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
        mute_reason: String::new(),
        as_of_seq: 0,
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let bot = Bot::start(&wav, &IceConfig::loopback(), &BotOptions::default(), tx).unwrap();
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
    // The last packets have arrived when the room reports p1's media stalled: nothing more
    // came for its stall threshold (the patience only turns a hang into a failure).
    let mut seen = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            while let Ok(e) = events.try_recv() {
                let end = matches!(&e, recorder::Event::Stalled { id, .. } if id.as_str() == "p1");
                seen.push(e);
                if end {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the room saw the end of p1's media");
    let r = rooms.clone();
    tokio::task::spawn_blocking(move || r.close_hearing(hearing, "adjourned"))
        .await
        .unwrap();
    bot.stop();
    seen.into_iter()
        .chain(events.try_iter())
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

/// A 16-bit mono WAV of silence.
fn silence_wav(path: &std::path::Path, seconds: u32) {
    let rate = 16_000u32;
    let data = rate * 2 * seconds;
    let mut w = Vec::with_capacity(44 + data as usize);
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(36 + data).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&16u32.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes()); // PCM
    w.extend_from_slice(&1u16.to_le_bytes()); // mono
    w.extend_from_slice(&rate.to_le_bytes());
    w.extend_from_slice(&(rate * 2).to_le_bytes());
    w.extend_from_slice(&2u16.to_le_bytes());
    w.extend_from_slice(&16u16.to_le_bytes());
    w.extend_from_slice(b"data");
    w.extend_from_slice(&data.to_le_bytes());
    w.resize(44 + data as usize, 0);
    std::fs::write(path, w).unwrap();
}

/// Connects a bot sending `wav` as `peer`; its ICE candidates are exchanged in the background
/// and its other events arrive on the returned receiver.
async fn join(
    rooms: &Rooms,
    hearing: uuid::Uuid,
    peer: &'static str,
    admitted: bool,
    wav: &std::path::Path,
    opts: BotOptions,
) -> (
    std::sync::Arc<Bot>,
    tokio::sync::mpsc::UnboundedReceiver<BotEvent>,
) {
    let info = PeerInfo {
        name: format!("Bot {peer}"),
        role: recorder::Role::Party,
        admitted,
        muted: false,
        mute_reason: String::new(),
        as_of_seq: 0,
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let bot = std::sync::Arc::new(Bot::start(wav, &IceConfig::loopback(), &opts, tx).unwrap());
    let offer = bot.offer().unwrap();
    let r = rooms.clone();
    let answer = tokio::task::spawn_blocking(move || {
        r.connect(hearing, peer, &info, Offer::parse(&offer).unwrap())
    })
    .await
    .unwrap()
    .unwrap();
    bot.accept_answer(&answer.sdp).unwrap();
    let (replay, mut live) = rooms.watch(hearing, peer);
    for s in replay {
        if let SignalKind::IceCandidate {
            mline_index,
            candidate,
        } = s.kind
        {
            bot.add_ice_candidate(mline_index, &candidate);
        }
    }
    let (out, events) = tokio::sync::mpsc::unbounded_channel();
    // not an owner: the test stops the bot while this still runs
    let (b, r) = (std::sync::Arc::downgrade(&bot), rooms.clone());
    tokio::spawn(async move {
        loop {
            tokio::select! {
                e = rx.recv() => match e {
                    Some(BotEvent::IceCandidate { mline_index, candidate }) => {
                        // A candidate for a connection already closed is refused; the test
                        // checks the media that arrived, not each candidate.
                        let _ = r.add_ice_candidate(hearing, peer, mline_index, &candidate);
                    }
                    // The test may have stopped listening; the bot's events are then of no use.
                    Some(e) => { let _ = out.send(e); }
                    None => break,
                },
                Ok(s) = live.recv() => {
                    if let (SignalKind::IceCandidate { mline_index, candidate }, Some(b)) = (s.kind, b.upgrade()) {
                        b.add_ice_candidate(mline_index, &candidate);
                    }
                }
            }
        }
    });
    (bot, events)
}

/// Seconds of `wav` (16-bit mono PCM, as espeak-ng writes it) that the bots count as loud: 20 ms
/// frames whose RMS is above [`LOUD_DBFS`].
fn loud_seconds(wav: &std::path::Path) -> f64 {
    let bytes = std::fs::read(wav).unwrap();
    let rate = u32::from_le_bytes(bytes[24..28].try_into().unwrap()) as usize;
    let data = bytes
        .windows(4)
        .position(|w| w == b"data")
        .expect("a data chunk")
        + 8;
    let samples: Vec<f64> = bytes[data..]
        .chunks_exact(2)
        .map(|c| f64::from(i16::from_le_bytes([c[0], c[1]])) / 32768.0)
        .collect();
    let loud = samples.chunks(rate / 50).filter(|f| {
        let power = f.iter().map(|x| x * x).sum::<f64>() / f.len() as f64;
        10.0 * power.max(1e-12).log10() > LOUD_DBFS
    });
    loud.count() as f64 * 0.02
}

async fn until(events: &mut tokio::sync::mpsc::UnboundedReceiver<BotEvent>, want: &str) -> f64 {
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match events.recv().await.expect("the bot runs") {
                BotEvent::Connected if want == "connected" => break 0.0,
                BotEvent::AudioFinished { seconds } if want == "finished" => break seconds,
                BotEvent::Failed(m) => panic!("{m}"),
                _ => {}
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the bot never {want}"))
}

/// What each participant hears is everyone else in the hearing: not themselves, nobody in the
/// waiting room; and in the waiting room they hear nothing at all. Those with a camera are sent
/// video back (the view, or the waiting card).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_hears_the_others_not_themselves_and_the_waiting_room_hears_nothing() {
    opencourt_media::init().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let speech = dir.path().join("speech.wav");
    let st = std::process::Command::new("espeak-ng")
        .arg("-w")
        .arg(&speech)
        .arg("The witness saw the ship leave the harbour at dawn, and then it rained.")
        .status()
        .unwrap();
    assert!(st.success());
    let quiet = dir.path().join("quiet.wav");
    silence_wav(&quiet, 2);

    let rooms = Rooms::new(dir.path().join("media"), IceConfig::loopback());
    let hearing = uuid::Uuid::new_v4();
    rooms.open(hearing, chrono::Utc::now(), true, None).unwrap();
    let saved = dir.path().join("received");
    // the listener and the one waiting are connected before the speaker starts
    let camera = BotOptions {
        video: true,
        ..Default::default()
    };
    let listener = BotOptions {
        save_received: Some(saved.clone()),
        video: true,
        ..Default::default()
    };
    let (b, mut b_ev) = join(&rooms, hearing, "b", true, &quiet, listener).await;
    let (w, mut w_ev) = join(&rooms, hearing, "w", false, &speech, camera).await;
    until(&mut b_ev, "connected").await;
    until(&mut w_ev, "connected").await;
    let (a, mut a_ev) = join(&rooms, hearing, "a", true, &speech, BotOptions::default()).await;
    let sent = until(&mut a_ev, "finished").await;
    assert!(sent > 2.0, "sent {sent} s");
    // what is still in flight arrives: the listener's mix (continuous) goes on for another
    // half second of its own audio, sent after the speaker's last packet
    let heard = b.received().audio_seconds;
    tokio::time::timeout(Duration::from_secs(60), async {
        while b.received().audio_seconds < heard + 0.5 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the listener kept receiving the mix");
    let (ra, rb, rw) = (a.received(), b.received(), w.received());
    let r = rooms.clone();
    tokio::task::spawn_blocking(move || r.close_hearing(hearing, "adjourned"))
        .await
        .unwrap();
    for bot in [a, b, w] {
        let bot = std::sync::Arc::try_unwrap(bot)
            .ok()
            .expect("one owner left");
        tokio::task::spawn_blocking(move || bot.stop())
            .await
            .unwrap();
    }

    let said = loud_seconds(&speech);
    eprintln!(
        "sent {sent} s ({said:.2} s loud); received: speaker {ra:?}, listener {rb:?}, waiting {rw:?}"
    );
    // The listener hears all of the speech, measured the same way on both sides: within 20 %
    // (the bound the whole-server test holds every participant's track to; measured 2.92 s
    // heard of 3.16 s said).
    assert!(
        (rb.loud_seconds - said).abs() <= 0.2 * said,
        "the listener hears the speaker: {rb:?} of {said:.2} s of speech"
    );
    // silence is sent, continuously, to each: their connections are up
    for (who, r) in [("the speaker", ra), ("the waiting", rw)] {
        assert!(r.audio_seconds > sent / 2.0, "{who} receives: {r:?}");
        assert!(r.loud_seconds < 0.1, "{who} hears nothing: {r:?}");
    }
    // with a camera, video comes back: the view to the listener, the card to the waiting
    assert!(rb.video_frames > 0 && rw.video_frames > 0, "{rb:?} {rw:?}");
    assert_eq!(ra.video_frames, 0, "no camera, no video: {ra:?}");
    // the listener's copies are playable
    for (file, codec) in [
        ("received-1-audio.ogg", "Opus"),
        ("received-1-video.webm", "VP8"),
    ] {
        let out = std::process::Command::new("gst-discoverer-1.0")
            .arg(saved.join(file))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && text.contains(codec), "{text}");
    }
}
