//! A live participant's own track keeps every packet they sent, at its own time, when packets
//! reach the room in bursts: a connection's first packets arrive together, and a busy machine
//! delivers several at once. Stamped on arrival, the packets of a burst shared one time and a
//! decoder kept one of them (a hearing lost the first words of a speaker this way).
mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{ensure, Result};
use common::*;
use gstreamer as gst;
use recorder::{Event, Manifest, ParticipantId, Role, Room, RoomConfig};

const FREQ: u32 = 440;
/// Packets of 20 ms: three seconds.
const PACKETS: usize = 150;
const BURST: usize = 10;
/// How long a step may take on a loaded machine before the test fails (never asserted).
const PATIENCE: Duration = Duration::from_secs(30);

/// A 440 Hz tone as Opus packets of 20 ms, each with its own time (as a WebRTC connection's
/// depayloader gives them).
fn opus_packets() -> Result<Vec<gst::Sample>> {
    let packets = samples_of(&format!(
        "audiotestsrc wave=sine freq={FREQ} volume=0.2 samplesperbuffer=960 num-buffers={PACKETS} \
           ! audio/x-raw,rate=48000,channels=1 ! opusenc frame-size=20 ! opusparse \
           ! appsink name=out sync=false"
    ))?;
    ensure!(packets.len() >= PACKETS, "{} packets", packets.len());
    Ok(packets)
}

/// Decodes a track the way the transcriber does (timestamps honoured: `audiorate` fills what
/// is missing and drops what overlaps) to 16 kHz mono.
fn decode_by_timestamps(path: &Path) -> Result<Vec<f32>> {
    let mut pcm = Vec::new();
    for s in samples_of(&format!(
        "filesrc location=\"{}\" ! matroskademux ! opusdec ! audioconvert ! audiorate \
           ! audioresample ! audio/x-raw,format=F32LE,rate={RATE},channels=1 \
           ! appsink name=out sync=false",
        path.display()
    ))? {
        let map = s.buffer().unwrap().map_readable()?;
        pcm.extend(
            map.as_slice()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
    }
    ensure!(!pcm.is_empty(), "nothing decoded from {}", path.display());
    Ok(pcm)
}

#[test]
fn packets_that_arrive_in_bursts_are_all_on_the_track_at_their_own_times() -> Result<()> {
    gst::init()?;
    let tmp = tempfile::tempdir()?;
    let out = tmp.path().join("rec");
    let packets = opus_packets()?;
    let a = ParticipantId::parse("a")?;
    let (room, events) = Room::start(RoomConfig::new(&out))?;
    let live = room.add_live(&a, "A", Role::Party, false)?;
    room.admit(&a)?;
    // ten packets at once, every 200 ms: the pace of speech, in bursts
    for burst in packets.chunks(BURST) {
        for p in burst {
            live.push_audio(p);
        }
        std::thread::sleep(Duration::from_millis(20 * BURST as u64));
    }
    // every packet is in when the room reports their media stalled (nothing more came)
    next_event(
        &events,
        "Stalled",
        PATIENCE,
        |e| matches!(e, Event::Stalled { id, .. } if *id == a),
    );
    room.stop()?;

    let m = Manifest::load(&out)?.expect("manifest");
    let files = track_files(&m, "a");
    assert_eq!(files.len(), 1, "{:?}", m.files);
    let track = out.join(&files[0].file);

    // every packet, 20 ms after the one before (Matroska keeps milliseconds; ffprobe moves the
    // first back by Opus's pre-skip)
    let times = packet_times(&track)?;
    assert_eq!(times.len(), packets.len(), "{times:?}");
    let steps: Vec<f64> = times[1..].windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        steps.iter().all(|s| (s - 0.020).abs() <= 0.0015),
        "packet times {times:?}"
    );

    // and all of the tone is there when decoded by its timestamps
    let pcm = decode_by_timestamps(&track)?;
    let power = tone_power(&pcm, f64::from(FREQ));
    let heard = power.iter().filter(|p| **p > 0.002).count();
    let want = (PACKETS as f64 * 0.020 / WIN) as usize;
    assert!(
        heard + 1 >= want,
        "{heard} of {want} windows have the tone: {power:?}"
    );
    // the mix, which takes packets as they arrive, has all of it too
    let mix = mix_files(&m);
    let t = timeline(&out, &mix)?;
    let pcm = slice(&t, 0.0, t.len() as f64 / RATE as f64);
    let heard = tone_power(&pcm, f64::from(FREQ))
        .iter()
        .filter(|p| **p > 0.002)
        .count();
    assert!(
        heard + 1 >= want,
        "{heard} of {want} windows of the mix have the tone"
    );
    Ok(())
}

/// A live participant is stalled when media they were sending stops, and resumed when it comes
/// back; while connecting (nothing sent yet) they are not stalled, however long it takes.
#[test]
fn a_live_participant_stalls_only_once_their_media_started_and_then_resumes() -> Result<()> {
    gst::init()?;
    let tmp = tempfile::tempdir()?;
    let out = tmp.path().join("rec");
    let packets = opus_packets()?;
    let a = ParticipantId::parse("a")?;
    let mut cfg = RoomConfig::new(&out);
    cfg.stall_after = Duration::from_secs(1);
    let (room, events) = Room::start(cfg)?;
    let live = room.add_live(&a, "A", Role::Party, false)?;
    room.admit(&a)?;
    let is_health = |e: &Event| matches!(e, Event::Stalled { .. } | Event::Resumed { .. });
    let send = |packets: &[gst::Sample]| {
        for burst in packets.chunks(BURST) {
            for p in burst {
                live.push_audio(p);
            }
            // paced as speech arrives (a stand-in for the network, not a wait for a condition)
            std::thread::sleep(Duration::from_millis(20 * BURST as u64));
        }
    };

    // connecting for three stall thresholds of the room's clock: nothing sent, nothing stalled
    let connecting = room.now() + Duration::from_secs(3);
    wait_for("three seconds of the room's clock", PATIENCE, || {
        room.now() >= connecting
    });
    let early: Vec<Event> = events.try_iter().filter(is_health).collect();
    assert!(
        early.is_empty(),
        "stalled before sending anything: {early:?}"
    );

    // a second of media, then nothing: stalled from where their media ended
    let first = room.now();
    send(&packets[..50]);
    let sent = room.now();
    let (stalled, before) = next_event(&events, "Stalled", PATIENCE, is_health);
    let Event::Stalled { id, at } = stalled else {
        panic!("resumed before stalling: {stalled:?}, after {before:?}")
    };
    assert_eq!(id, a);
    assert!(
        first < at && at <= sent,
        "stalled at {at:?}, media sent {first:?}..{sent:?}"
    );

    // their media comes back: resumed from then
    let again = room.now();
    send(&packets[50..100]);
    let (resumed, _) = next_event(&events, "Resumed", PATIENCE, is_health);
    let Event::Resumed { id, at } = resumed else {
        panic!("expected Resumed, got {resumed:?}")
    };
    assert_eq!(id, a);
    assert!(
        at > again,
        "resumed at {at:?}, media came back at {again:?}"
    );
    room.stop()?;
    Ok(())
}

/// Packet times (seconds, file time) of the first audio stream.
fn packet_times(path: &Path) -> Result<Vec<f64>> {
    let out = run(Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "a:0",
            "-show_entries",
            "packet=pts_time",
            "-of",
            "csv=p=0",
        ])
        .arg(path))?;
    Ok(out
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse().ok())
        .collect())
}
