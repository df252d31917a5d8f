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
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use recorder::{Manifest, ParticipantId, Role, Room, RoomConfig};

const FREQ: u32 = 440;
/// Packets of 20 ms: three seconds.
const PACKETS: usize = 150;
const BURST: usize = 10;

/// Runs a pipeline that ends in `appsink name=out` to its end; every sample it gave.
fn samples_of(desc: &str) -> Result<Vec<gst::Sample>> {
    let pipeline = gst::parse::launch(desc)?
        .downcast::<gst::Pipeline>()
        .unwrap();
    let sink = pipeline
        .by_name("out")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    pipeline.set_state(gst::State::Playing)?;
    let mut samples = Vec::new();
    while let Ok(s) = sink.pull_sample() {
        samples.push(s);
    }
    pipeline.set_state(gst::State::Null)?;
    Ok(samples)
}

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
    let (room, _events) = Room::start(RoomConfig::new(&out))?;
    let live = room.add_live(&a, "A", Role::Party, false)?;
    room.admit(&a)?;
    std::thread::sleep(Duration::from_millis(500));
    // ten packets at once, every 200 ms: the pace of speech, in bursts
    for burst in packets.chunks(BURST) {
        for p in burst {
            live.push_audio(p);
        }
        std::thread::sleep(Duration::from_millis(20 * BURST as u64));
    }
    std::thread::sleep(Duration::from_millis(500));
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
