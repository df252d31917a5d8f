//! The recording shows the UTC date and time of each frame (the hearing's start plus the
//! frame's place on the hearing clock) in its top left corner. A frame is read back from the
//! recorded file and compared with the same text rendered by the same element on a blank frame.
mod common;

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use common::*;
use gstreamer as gst;
use recorder::{Manifest, Room, RoomConfig};

/// The overlay's corner of a 1280×720 frame: the text is well inside it.
const REGION: (usize, usize) = (640, 80);
/// Compared in blocks about a character's size, so one wrong digit shows.
const BLOCK: usize = 16;

/// A grey (luma) frame of `width` pixels a row.
struct Frame {
    width: usize,
    luma: Vec<u8>,
}

fn frame_of(sample: &gst::Sample) -> Result<Frame> {
    let caps = sample.caps().context("caps")?;
    let s = caps.structure(0).context("caps structure")?;
    let width = s.get::<i32>("width")? as usize;
    let map = sample.buffer().context("buffer")?.map_readable()?;
    Ok(Frame {
        width,
        luma: map.as_slice().to_vec(),
    })
}

/// What the overlay writes for `text` on a black 1280×720 frame: the room's own element and
/// settings (`recorder/src/room/build.rs`).
fn rendered(text: &str) -> Result<Frame> {
    let samples = samples_of(&format!(
        "videotestsrc pattern=black num-buffers=1 \
           ! video/x-raw,format=I420,width=1280,height=720,framerate=15/1,pixel-aspect-ratio=1/1 \
           ! textoverlay valignment=top halignment=left font-desc=\"Sans 14\" \
             shaded-background=true text=\"{text}\" \
           ! videoconvert ! video/x-raw,format=GRAY8 ! appsink name=out sync=false"
    ))?;
    frame_of(samples.first().context("nothing rendered")?)
}

/// The largest share of pixels (per mille) that differ in ink in a block of the overlay's corner.
fn worst_block(a: &Frame, b: &Frame) -> f64 {
    let (w, h) = REGION;
    let mut worst = 0.0f64;
    for by in (0..h).step_by(BLOCK) {
        for bx in (0..w).step_by(BLOCK) {
            let mut sum = 0u64;
            for y in by..by + BLOCK {
                for x in bx..bx + BLOCK {
                    // ink or not: the encoder's loss blurs edges but rarely flips a pixel
                    let ink = |f: &Frame| f.luma[y * f.width + x] > 128;
                    sum += u64::from(ink(a) != ink(b));
                }
            }
            worst = worst.max(1000.0 * sum as f64 / (BLOCK * BLOCK) as f64);
        }
    }
    worst
}

fn utc_text(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

#[test]
fn each_frame_shows_its_utc_time() -> Result<()> {
    gst::init()?;
    let tmp = tempfile::tempdir()?;
    let out = tmp.path().join("rec");
    let (room, _events) = Room::start(RoomConfig::new(&out))?;
    wait_for(
        "three seconds of the room's clock",
        Duration::from_secs(60),
        || room.now() >= Duration::from_secs(3),
    );
    room.stop()?;

    let m = Manifest::load(&out)?.context("manifest")?;
    let started = m.started()?;
    let mix = mix_files(&m);
    let seg = mix.first().context("a mix segment")?;
    // The frame to read: after the first second, and in the middle of a second of UTC time,
    // so the text it should show is not in doubt.
    let frames = samples_of(&format!(
        "filesrc location=\"{}\" ! matroskademux ! decodebin ! videoconvert \
           ! video/x-raw,format=GRAY8 ! appsink name=out sync=false",
        out.join(&seg.file).display()
    ))?;
    let (utc, sample) = frames
        .iter()
        .find_map(|s| {
            let pts = s.buffer()?.pts()?;
            let at = Duration::from_millis(seg.start_ms) + Duration::from_nanos(pts.nseconds());
            let utc = started + at;
            let into_second = utc.timestamp_subsec_millis();
            (at >= Duration::from_secs(1) && (300..700).contains(&into_second)).then_some((utc, s))
        })
        .context("no frame in the middle of a second")?;
    let frame = frame_of(sample)?;
    ensure!(frame.width == 1280, "frame width {}", frame.width);

    let right = worst_block(&frame, &rendered(&utc_text(utc))?);
    let blank = worst_block(&frame, &rendered(" ")?);
    eprintln!("{}: off by {right:.1} (blank: {blank:.1})", utc_text(utc));
    // the right time matches (what differs is the encoder's loss)…
    assert!(
        right * 10.0 < blank,
        "the frame at {utc} does not show its time: {right:.1} against {blank:.1} for no text"
    );
    // …better than a second either side
    for wrong in [-2, -1, 1, 2] {
        let t = utc + chrono::Duration::seconds(wrong);
        let off = worst_block(&frame, &rendered(&utc_text(t))?);
        eprintln!("{}: off by {off:.1}", utc_text(t));
        assert!(
            right * 10.0 < off,
            "the frame at {utc} matches {} ({off:.1}) about as well as its own time ({right:.1})",
            utc_text(t)
        );
    }
    Ok(())
}
