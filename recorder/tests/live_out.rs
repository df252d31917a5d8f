//! What the room sends back to a live participant, received in another pipeline as an endpoint
//! would: their N-1 audio (everyone heard in the hearing, nothing while they wait) and the
//! waiting card, then the courtroom view once admitted; and taking participants out while
//! they are connected does not stall the room.
mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use common::*;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use recorder::{LiveOut, ParticipantId, Role, Room, RoomConfig, Source};

/// A connection's receiving side: decodes what the room sends and keeps, per buffer, the
/// audio's mean square and the video frames' widths.
struct Receiver {
    pipeline: gst::Pipeline,
    out: LiveOut,
    power: Arc<Mutex<Vec<f64>>>,
    widths: Arc<Mutex<Vec<i32>>>,
}

impl Receiver {
    fn new() -> Result<Receiver> {
        let src = "format=time is-live=true do-timestamp=true";
        let desc = format!(
            "appsrc name=a {src} ! opusdec ! audioconvert \
               ! audio/x-raw,format=S16LE,rate=48000,channels=1 ! appsink name=ha sync=false \
             appsrc name=v {src} ! vp8dec ! appsink name=hv sync=false"
        );
        let pipeline = gst::parse::launch(&desc)?
            .downcast::<gst::Pipeline>()
            .expect("a pipeline");
        let get = |n: &str| pipeline.by_name(n).expect("named element");
        let appsrc = |n: &str| get(n).downcast::<gst_app::AppSrc>().expect("appsrc");
        let appsink = |n: &str| get(n).downcast::<gst_app::AppSink>().expect("appsink");
        let power = Arc::new(Mutex::new(Vec::new()));
        let widths = Arc::new(Mutex::new(Vec::new()));
        let p = power.clone();
        appsink("ha").set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |s| {
                    let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    let map = sample
                        .buffer()
                        .and_then(|b| b.map_readable().ok())
                        .ok_or(gst::FlowError::Error)?;
                    let samples = map.as_slice().chunks_exact(2);
                    let n = samples.len().max(1) as f64;
                    let sum: f64 = samples
                        .map(|c| (f64::from(i16::from_le_bytes([c[0], c[1]])) / 32768.0).powi(2))
                        .sum();
                    p.lock().unwrap().push(sum / n);
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
        let w = widths.clone();
        appsink("hv").set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |s| {
                    let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    let width = sample
                        .caps()
                        .and_then(|c| c.structure(0).and_then(|s| s.get::<i32>("width").ok()))
                        .unwrap_or(0);
                    w.lock().unwrap().push(width);
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
        pipeline.set_state(gst::State::Playing)?;
        Ok(Receiver {
            out: LiveOut::new(appsrc("a"), Some(appsrc("v"))),
            pipeline,
            power,
            widths,
        })
    }

    /// Waits (at most a minute: the machine may be loaded) until `n` more audio buffers and
    /// `frames` more video frames have arrived; returns them.
    fn next(&self, n: usize, frames: usize) -> Result<(Vec<f64>, Vec<i32>)> {
        let (p0, w0) = (
            self.power.lock().unwrap().len(),
            self.widths.lock().unwrap().len(),
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let p = self.power.lock().unwrap()[p0..].to_vec();
            let w = self.widths.lock().unwrap()[w0..].to_vec();
            if p.len() >= n && w.len() >= frames {
                return Ok((p, w));
            }
            if Instant::now() > deadline {
                bail!("received {} audio buffers, {} frames", p.len(), w.len());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        // Best effort on the way out (a test may be failing): an error here has nowhere to go.
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

const PRESENT: f64 = 0.002; // a 0.2-amplitude sine is ~0.02
const ABSENT: f64 = 0.0002;
/// 20 ms buffers: skip this many after a change (the mixers' latency, the queues): a second,
/// what the hearing promises for admit, stand-down and mute (0.56 s was seen on a loaded CI run).
const SETTLE: usize = 50;

#[test]
fn a_live_participant_gets_the_card_while_waiting_then_the_view_and_the_others_voices() -> Result<()>
{
    gst::init()?;
    let tmp = tempfile::tempdir()?;
    let d = tmp.path();
    let (speaker, a, b) = (
        ParticipantId::parse("speaker")?,
        ParticipantId::parse("a")?,
        ParticipantId::parse("b")?,
    );
    let (room, _events) = Room::start(RoomConfig::new(d.join("rec")))?;
    room.add(
        &speaker,
        "Speaker",
        Role::Party,
        &Source {
            audio: tone(d, "speaker", 440, 120.0)?,
            video: None,
        },
    )?;
    room.admit(&speaker)?;
    room.add_live(&a, "A", Role::Party, false)?;
    room.add_live(&b, "B", Role::Witness, false)?;
    let rx = Receiver::new()?;
    room.set_live_out(&a, Some(rx.out.clone()))?;

    // waiting: the card (320 wide), and nothing of the hearing
    let (p, w) = rx.next(SETTLE + 50, 2)?;
    assert!(w.iter().all(|w| *w == 320), "{w:?}");
    assert!(p[SETTLE..].iter().all(|x| *x < ABSENT), "{p:?}");

    // admitted: the view (640 wide, decodable at once: it starts on a keyframe) and the speaker
    room.admit(&a)?;
    rx.next(SETTLE, 0)?;
    let (p, w) = rx.next(50, 5)?;
    assert!(w.iter().rev().take(3).all(|w| *w == 640), "{w:?}");
    assert!(p.iter().all(|x| *x > PRESENT), "{p:?}");

    // the speaker muted: silence, the view goes on
    room.mute(&speaker)?;
    rx.next(SETTLE, 0)?;
    let (p, _) = rx.next(50, 2)?;
    assert!(p.iter().all(|x| *x < ABSENT), "{p:?}");
    room.unmute(&speaker)?;

    // stood down: the card again, silence
    room.stand_down(&a)?;
    rx.next(SETTLE, 0)?;
    let (p, w) = rx.next(50, 2)?;
    assert!(w.iter().rev().take(1).all(|w| *w == 320), "{w:?}");
    assert!(p.iter().all(|x| *x < ABSENT), "{p:?}");

    // taking others out, and then them while connected, does not stall what is still sent
    room.admit(&a)?;
    room.remove(&b)?;
    room.remove(&speaker)?;
    let (p, _) = rx.next(SETTLE + 25, 2)?;
    assert!(p[SETTLE..].iter().all(|x| *x < ABSENT), "{p:?}");
    room.remove(&a)?;
    assert!(
        room.set_live_out(&a, None).is_err(),
        "no longer in the room"
    );
    room.stop()?;
    Ok(())
}
