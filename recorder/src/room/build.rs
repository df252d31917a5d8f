//! Building the room's elements. Only construction here; [`super::Room`] decides what to do.
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use super::track_clock::TrackClock;
use super::RoomConfig;
use crate::error::{Error, Result};

/// An Opus packet's length when it does not say (WebRTC sends 20 ms).
const OPUS_FRAME: gst::ClockTime = gst::ClockTime::from_mseconds(20);

/// The fixed part of the room: the two mixers, the recording's video and audio encodes, and
/// what is sent back to every live participant (the view, and the waiting card).
pub(crate) struct Core {
    pub pipeline: gst::Pipeline,
    pub compositor: gst::Element,
    pub audiomixer: gst::Element,
    pub utc_overlay: gst::Element,
    pub video_sink: gst_app::AppSink,
    pub audio_sink: gst_app::AppSink,
    /// The courtroom view (VP8) sent to admitted participants, and the `valve` that stops its
    /// encode while nobody is shown it.
    pub view_sink: gst_app::AppSink,
    pub view_gate: gst::Element,
    /// The waiting card (VP8, 1 fps, every frame a keyframe) sent to the waiting room.
    pub card_sink: gst_app::AppSink,
    pub card_gate: gst::Element,
}

/// What participants are sent of the view: small enough for a phone on a poor network, at no
/// more than 15 fps; scaled and encoded once for everyone.
const VIEW_W: i32 = 640;
const VIEW_H: i32 = 360;
const VIEW_FPS: i32 = 15;

pub(crate) fn by_name(bin: &gst::Bin, name: &str) -> Result<gst::Element> {
    bin.by_name(name)
        .ok_or_else(|| Error::Gst(format!("no element {name}")))
}

pub(crate) fn appsink(bin: &gst::Bin, name: &str) -> Result<gst_app::AppSink> {
    by_name(bin, name)?
        .downcast::<gst_app::AppSink>()
        .map_err(|_| Error::Gst(format!("{name} is not an appsink")))
}

/// Escapes a string for use inside double quotes in a launch description.
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

pub(crate) fn core(cfg: &RoomConfig) -> Result<Core> {
    let (w, h, fps) = (cfg.width, cfg.height, cfg.fps);
    // Both mixers are live (a tiny live background source each, which also keeps the formats
    // negotiated while nobody is in the room; not `force-live`, which in 1.22 busy-loops at
    // half a core when a live source is linked too): they produce output on the clock whether or not
    // a participant delivers, so a stalled or absent input never holds up the others (it is
    // mixed as silence / its last frame), and file-fed participants are paced to real time.
    let desc = format!(
        "compositor name=comp background=black latency=40000000 \
           ! video/x-raw,format=I420,width={w},height={h},framerate={fps}/1,pixel-aspect-ratio=1/1 \
           ! textoverlay name=utc valignment=top halignment=left font-desc=\"Sans 14\" \
             shaded-background=true text=\" \" \
           ! tee name=vt \
         vt. ! queue name=qview leaky=downstream max-size-buffers=2 max-size-bytes=0 max-size-time=0 \
           ! valve name=viewgate drop=true drop-mode=forward-sticky-events ! videoscale ! videorate drop-only=true \
           ! video/x-raw,width={VIEW_W},height={VIEW_H},framerate={view_fps}/1 \
           ! vp8enc deadline=1 cpu-used=8 keyframe-max-dist={view_gop} end-usage=cbr \
             target-bitrate=600000 threads=1 \
           ! appsink name=viewsink sync=false async=false max-buffers=0 \
         videotestsrc is-live=true pattern=black \
           ! video/x-raw,format=I420,width=320,height=180,framerate=1/1 \
           ! valve name=cardgate drop=true drop-mode=forward-sticky-events \
           ! textoverlay text=\"Waiting to be admitted\" valignment=center halignment=center \
             font-desc=\"Sans 14\" \
           ! vp8enc deadline=1 cpu-used=8 keyframe-max-dist=1 target-bitrate=100000 threads=1 \
           ! appsink name=cardsink sync=false async=false max-buffers=0 \
         vt. ! x264enc speed-preset={preset} tune=zerolatency key-int-max={gop} bitrate={kbps} \
           ! h264parse ! video/x-h264,stream-format=avc,alignment=au \
           ! appsink name=vsink sync=false async=false max-buffers=0 \
         videotestsrc is-live=true pattern=black ! video/x-raw,format=I420,width=16,height=16,framerate={fps}/1 ! comp. \
         audiomixer name=amix latency=40000000 output-buffer-duration=20000000 \
           ! audio/x-raw,format=S16LE,rate=48000,channels=1 ! audioconvert \
           ! opusenc bitrate=64000 audio-type=voice complexity=5 ! appsink name=asink sync=false async=false max-buffers=0 \
         audiotestsrc is-live=true wave=silence samplesperbuffer=960 \
           ! audio/x-raw,format=S16LE,rate=48000,channels=1 ! amix.",
        preset = cfg.x264_preset,
        gop = fps * 4,
        kbps = cfg.video_kbps,
        view_fps = fps.min(VIEW_FPS),
        // a keyframe every two seconds: a lost packet costs at most that (and new receivers
        // ask for one at once)
        view_gop = fps.min(VIEW_FPS) * 2,
    );
    let bin = gst::parse::launch(&desc)?
        .downcast::<gst::Pipeline>()
        .map_err(|_| Error::Gst("not a pipeline".into()))?;
    let comp = by_name(bin.upcast_ref(), "comp")?;
    // the background pad is invisible
    if let Some(pad) = comp.sink_pads().first() {
        pad.set_property("alpha", 0.0f64);
    }
    Ok(Core {
        compositor: comp,
        audiomixer: by_name(bin.upcast_ref(), "amix")?,
        utc_overlay: by_name(bin.upcast_ref(), "utc")?,
        video_sink: appsink(bin.upcast_ref(), "vsink")?,
        audio_sink: appsink(bin.upcast_ref(), "asink")?,
        view_sink: appsink(bin.upcast_ref(), "viewsink")?,
        view_gate: by_name(bin.upcast_ref(), "viewgate")?,
        card_sink: appsink(bin.upcast_ref(), "cardsink")?,
        card_gate: by_name(bin.upcast_ref(), "cardgate")?,
        pipeline: bin,
    })
}

/// One participant's media: decoded audio to the mix and to their own track encoder, and a
/// labelled video tile (their video, or a test pattern at 1 fps that costs almost nothing).
pub(crate) struct PartBin {
    pub bin: gst::Bin,
    /// Ghost pads to link to the room's audiomixer and compositor.
    pub audio_out: gst::Pad,
    pub video_out: gst::Pad,
    /// Closes their own track while they are not admitted.
    pub track: TrackGate,
    pub track_sink: gst_app::AppSink,
    /// Stream time (ns) of the end of the last audio buffer decoded.
    pub last_seen: Arc<AtomicU64>,
    /// Mean square (f64 bits) of the last audio buffer entering the room's mix.
    pub power: Arc<AtomicU64>,
    /// The tile's label, highlighted while this participant speaks.
    pub label: gst::Element,
    /// Size (and rate) of the tile as produced by this branch; set to the tile's size.
    pub tile_caps: gst::Element,
    pub tile_fps: i32,
    /// The tile has produced a frame (its first negotiation is over).
    pub flowing: Arc<AtomicBool>,
    /// A size asked for before then.
    pub pending_size: Arc<Mutex<Option<(i32, i32)>>>,
}

pub(crate) fn video_caps(w: i32, h: i32, fps: i32) -> gst::Caps {
    gst::Caps::builder("video/x-raw")
        .field("format", "I420")
        .field("width", w)
        .field("height", h)
        .field("framerate", gst::Fraction::new(fps, 1))
        .field("pixel-aspect-ratio", gst::Fraction::new(1, 1))
        .build()
}

impl PartBin {
    /// Makes the branch produce frames of the tile's size (renegotiates; the compositor
    /// scales the frames still in flight). Until the branch has produced its first frame the
    /// size is kept for [`PartBin::apply_pending_size`]: a source asked to renegotiate while
    /// it is still starting (everyone's tile changes as people join) can stop with
    /// not-negotiated.
    pub fn resize(&self, w: i32, h: i32) {
        if !self.flowing.load(Ordering::Relaxed) {
            *self.pending_size.lock().expect("pending size") = Some((w, h));
            return;
        }
        self.set_size(w, h);
    }

    /// Applies a size asked for before the branch produced its first frame, once it has.
    pub fn apply_pending_size(&self) {
        if self.flowing.load(Ordering::Relaxed) {
            if let Some((w, h)) = self.pending_size.lock().expect("pending size").take() {
                self.set_size(w, h);
            }
        }
    }

    fn set_size(&self, w: i32, h: i32) {
        let caps = self.tile_caps.property::<gst::Caps>("caps");
        let same = caps.structure(0).is_some_and(|s| {
            s.get::<i32>("width").ok() == Some(w) && s.get::<i32>("height").ok() == Some(h)
        });
        if !same {
            self.tile_caps
                .set_property("caps", video_caps(w, h, self.tile_fps));
        }
    }
}

/// Where a participant's own track is gated while they are not admitted.
pub(crate) enum TrackGate {
    /// File-fed: their track mixer's pad (muted: the mixer records silence on the clock).
    Mixer(gst::Pad),
    /// Live: their encoded audio is written as received, so while closed it is dropped.
    Drop(Arc<AtomicBool>),
}

impl TrackGate {
    pub fn set_open(&self, open: bool) {
        match self {
            TrackGate::Mixer(pad) => pad.set_property("mute", !open),
            TrackGate::Drop(flag) => flag.store(open, Ordering::Relaxed),
        }
    }
}

/// Where a live participant's media enters the room: encoded Opus and VP8 as received (over
/// WebRTC), stamped with the room's clock as they arrive, and their audio also with its time
/// on their track ([`TrackClock`]). Cheap to clone.
#[derive(Clone)]
pub struct LiveIn {
    audio: gst_app::AppSrc,
    video: Option<gst_app::AppSrc>,
    /// The time line of their track, shared by every connection they make.
    track_clock: Arc<Mutex<TrackClock>>,
}

/// What a packet's [`gst::ReferenceTimestampMeta`] is named when it carries the packet's time on
/// the participant's track (see [`TrackClock`]); the mix goes by arrival.
pub(crate) const TRACK_TIME: &str = "timestamp/x-opencourt-track";

impl LiveIn {
    /// One Opus packet (`audio/x-opus`, from `opusparse`): decoded into the mix and written
    /// untranscoded to the participant's track.
    pub fn push_audio(&self, sample: &gst::Sample) {
        push_with(&self.audio, sample, |b| {
            // no room time before the room runs, and then the track is not open either
            let Some(arrival) = self.audio.current_running_time() else {
                return;
            };
            let own = sample.segment().and_then(|s| {
                s.downcast_ref::<gst::ClockTime>()?
                    .to_running_time(b.pts()?)
            });
            let dur = b.duration();
            let at = self.track_clock.lock().expect("track clock").stamp(
                own.map(|t| Duration::from_nanos(t.nseconds())),
                Duration::from_nanos(dur.unwrap_or(OPUS_FRAME).nseconds()),
                Duration::from_nanos(arrival.nseconds()),
            );
            let at = gst::ClockTime::from_nseconds(at.as_nanos() as u64);
            gst::ReferenceTimestampMeta::add(b, &gst::Caps::new_empty_simple(TRACK_TIME), at, dur);
        });
    }

    /// One VP8 frame (`video/x-vp8`): decoded into their tile. Ignored when the room was told
    /// they have no camera.
    pub fn push_video(&self, sample: &gst::Sample) {
        if let Some(v) = &self.video {
            push(v, sample);
        }
    }
}

pub(crate) fn push(src: &gst_app::AppSrc, sample: &gst::Sample) {
    push_with(src, sample, |_| {});
}

/// [`push`], letting `mark` add to the buffer (it still has the sender's times) first.
fn push_with(src: &gst_app::AppSrc, sample: &gst::Sample, mark: impl FnOnce(&mut gst::BufferRef)) {
    let (Some(buffer), Some(caps)) = (sample.buffer(), sample.caps_owned()) else {
        return;
    };
    if src.caps().as_ref() != Some(&caps) {
        src.set_caps(Some(&caps));
    }
    // stamped by the appsrc (`do-timestamp`) with the room's running time on arrival
    let mut b = buffer.copy();
    {
        let b = b.make_mut();
        mark(b);
        b.set_pts(gst::ClockTime::NONE);
        b.set_dts(gst::ClockTime::NONE);
    }
    // refused only while the room is stopping
    let _ = src.push_buffer(b);
}

const QUEUE: &str = "max-size-time=3000000000 max-size-buffers=0 max-size-bytes=0";

/// The tile's label, and the queue the compositor reads from.
fn tile_tail(label: &str) -> String {
    format!(
        "textoverlay name=label valignment=bottom halignment=left \
           font-desc=\"Sans 22\" shaded-background=true text={label} \
           ! queue name=qvid {QUEUE}",
        label = quoted(label),
    )
}

pub(crate) fn participant(
    cfg: &RoomConfig,
    name: &str,
    label: &str,
    audio: &Path,
    video: Option<&Path>,
) -> Result<PartBin> {
    // Tiles are scaled here, to their size in the view, so the compositor only copies them:
    // a test pattern (1 fps) is then scaled once a second instead of at every output frame.
    let (video_desc, tile_fps) = match video {
        Some(_) => (
            "filesrc name=vsrc ! decodebin ! videoconvert ! videorate ! videoscale \
             ! capsfilter name=tilecaps",
            cfg.fps,
        ),
        None => (TEST_PATTERN, 1),
    };
    // The track mixer (live, with its own silent live source) makes the track continuous:
    // muted, stood down or stalled, it records silence on the clock.
    let desc = format!(
        "filesrc name=asrc ! decodebin ! audioconvert ! audioresample \
           ! audio/x-raw,format=S16LE,rate=48000,channels=1 ! identity name=seen ! tee name=mixtee \
         mixtee. ! queue name=qmix {QUEUE} \
         mixtee. ! queue name=qtrack {QUEUE} ! tmix. \
         audiotestsrc is-live=true wave=silence samplesperbuffer=960 \
           ! audio/x-raw,format=S16LE,rate=48000,channels=1 ! tmix. \
         audiomixer name=tmix latency=40000000 output-buffer-duration=20000000 \
           ! audio/x-raw,format=S16LE,rate=48000,channels=1 ! audioconvert \
           ! opusenc bitrate=32000 audio-type=voice complexity=5 ! appsink name=tsink sync=false async=false max-buffers=0 \
         {video_desc} ! {tail}",
        tail = tile_tail(label),
    );
    let bin = gst::parse::bin_from_description(&desc, false)?;
    bin.set_property("name", name);
    by_name(&bin, "asrc")?.set_property("location", audio.to_string_lossy().as_ref());
    if let Some(v) = video {
        by_name(&bin, "vsrc")?.set_property("location", v.to_string_lossy().as_ref());
    }
    let track_pad = by_name(&bin, "qtrack")?
        .static_pad("src")
        .and_then(|p| p.peer())
        .ok_or_else(|| Error::Gst("track mixer pad".into()))?;
    finish(bin, tile_fps, TrackGate::Mixer(track_pad))
}

/// A participant fed live (WebRTC): Opus and VP8 pushed through [`LiveIn`]. Their Opus goes
/// to their track as received (no re-encode) and, decoded, to the mix; their video (or a test
/// pattern when `video` is false) to their tile.
pub(crate) fn live_participant(
    cfg: &RoomConfig,
    name: &str,
    label: &str,
    video: bool,
) -> Result<(PartBin, LiveIn)> {
    let src = "is-live=true do-timestamp=true format=time block=false max-bytes=4000000";
    let (video_desc, tile_fps) = if video {
        (
            format!(
                "appsrc name=vsrc {src} ! queue {QUEUE} ! vp8dec ! videoconvert ! videorate \
                 ! videoscale ! capsfilter name=tilecaps"
            ),
            cfg.fps,
        )
    } else {
        (TEST_PATTERN.to_string(), 1)
    };
    let desc = format!(
        "appsrc name=asrc {src} ! tee name=at \
         at. ! queue name=qtrack {QUEUE} ! appsink name=tsink sync=false async=false max-buffers=0 \
         at. ! queue {QUEUE} ! opusdec plc=true ! audioconvert ! audioresample \
           ! audio/x-raw,format=S16LE,rate=48000,channels=1 ! identity name=seen ! tee name=mixtee \
           ! queue name=qmix {QUEUE} \
         {video_desc} ! {tail}",
        tail = tile_tail(label),
    );
    let bin = gst::parse::bin_from_description(&desc, false)?;
    bin.set_property("name", name);
    let appsrc = |n: &str| -> Result<gst_app::AppSrc> {
        by_name(&bin, n)?
            .downcast::<gst_app::AppSrc>()
            .map_err(|_| Error::Gst(format!("{n} is not an appsrc")))
    };
    let live = LiveIn {
        audio: appsrc("asrc")?,
        video: if video { Some(appsrc("vsrc")?) } else { None },
        track_clock: Arc::default(),
    };
    let open = Arc::new(AtomicBool::new(false));
    let gate = open.clone();
    by_name(&bin, "qtrack")?
        .static_pad("sink")
        .ok_or_else(|| Error::Gst("track queue pad".into()))?
        .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if gate.load(Ordering::Relaxed) {
                gst::PadProbeReturn::Ok
            } else {
                // taken and dropped here: `Drop` leaves GStreamer 1.22 unreffing a null buffer
                // (gstreamer-rs 0.25 has already taken it), a critical every 20 ms
                info.data = None;
                gst::PadProbeReturn::Handled
            }
        });
    Ok((finish(bin, tile_fps, TrackGate::Drop(open))?, live))
}

/// A labelled test pattern at 1 fps for a participant without a camera.
const TEST_PATTERN: &str = "videotestsrc pattern=smpte ! capsfilter name=tilecaps";

/// The parts every participant's branch has: ghost pads to the mixers, the arrival and level
/// probes, and the tile.
fn finish(bin: gst::Bin, tile_fps: i32, track: TrackGate) -> Result<PartBin> {
    let ghost = |elem: &str, pad_name: &str| -> Result<gst::Pad> {
        let target = by_name(&bin, elem)?
            .static_pad("src")
            .ok_or_else(|| Error::Gst(format!("{elem} has no src pad")))?;
        let g = gst::GhostPad::builder_with_target(&target)?
            .name(pad_name)
            .build();
        bin.add_pad(&g)?;
        Ok(g.upcast())
    };
    let audio_out = ghost("qmix", "audio")?;
    let video_out = ghost("qvid", "video")?;
    let last_seen = Arc::new(AtomicU64::new(0));
    let seen_pad = by_name(&bin, "seen")?
        .static_pad("sink")
        .ok_or_else(|| Error::Gst("identity pad".into()))?;
    let ls = last_seen.clone();
    seen_pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if let Some(b) = info.buffer() {
            if let Some(pts) = b.pts() {
                let end = pts + b.duration().unwrap_or(gst::ClockTime::ZERO);
                ls.fetch_max(end.nseconds(), Ordering::Relaxed);
            }
        }
        gst::PadProbeReturn::Ok
    });
    // measured where the audio enters the mix (paced by it), not at the decoder, which runs
    // ahead by up to the queue's length
    let power = Arc::new(AtomicU64::new(0));
    let pw = power.clone();
    audio_out_target(&bin)?.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if let Some(map) = info.buffer().and_then(|b| b.map_readable().ok()) {
            let samples = map.as_slice().chunks_exact(2);
            let n = samples.len().max(1) as f64;
            let sum: f64 = samples
                .map(|c| (f64::from(i16::from_le_bytes([c[0], c[1]])) / 32768.0).powi(2))
                .sum();
            pw.store((sum / n).to_bits(), Ordering::Relaxed);
        }
        gst::PadProbeReturn::Ok
    });
    let tile_caps = by_name(&bin, "tilecaps")?;
    tile_caps.set_property("caps", video_caps(640, 360, tile_fps));
    let flowing = Arc::new(AtomicBool::new(false));
    let flag = flowing.clone();
    tile_caps
        .static_pad("src")
        .ok_or_else(|| Error::Gst("tile caps pad".into()))?
        .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            flag.store(true, Ordering::Relaxed);
            gst::PadProbeReturn::Remove
        });
    Ok(PartBin {
        tile_caps,
        tile_fps,
        flowing,
        pending_size: Arc::default(),
        label: by_name(&bin, "label")?,
        power,
        track_sink: appsink(&bin, "tsink")?,
        bin,
        audio_out,
        video_out,
        track,
        last_seen,
    })
}

fn audio_out_target(bin: &gst::Bin) -> Result<gst::Pad> {
    by_name(bin, "qmix")?
        .static_pad("src")
        .ok_or_else(|| Error::Gst("qmix src".into()))
}

/// An exhibit: a still image, frozen at 1 fps (the compositor repeats it between frames).
/// Scaled (with borders, keeping its aspect) to the pane's `w`×`h` once, not at every frame.
pub(crate) fn exhibit(image: &Path, w: i32, h: i32) -> Result<(gst::Bin, gst::Pad)> {
    let desc = "filesrc name=src ! decodebin ! imagefreeze ! videoconvert ! videoscale \
                ! capsfilter name=caps ! queue name=q";
    let bin = gst::parse::bin_from_description(desc, false)?;
    by_name(&bin, "caps")?.set_property("caps", video_caps(w, h, 1));
    by_name(&bin, "src")?.set_property("location", image.to_string_lossy().as_ref());
    let target = by_name(&bin, "q")?
        .static_pad("src")
        .ok_or_else(|| Error::Gst("queue src".into()))?;
    let g = gst::GhostPad::builder_with_target(&target)?
        .name("video")
        .build();
    bin.add_pad(&g)?;
    Ok((bin, g.upcast()))
}

/// Starts a branch just added to the running room. Not `sync_state_with_parent`: while
/// another branch's decodebin is still prerolling the pipeline reports PAUSED, and a branch
/// synced then would stay paused (its live mixer never producing).
pub(crate) fn start_branch(bin: &gst::Bin) -> Result<()> {
    bin.set_state(gst::State::Playing)?;
    Ok(())
}

/// Releases the mixer pads a branch feeds (which unblocks its streaming thread), then stops
/// and removes the branch. What the branch still pushes is dropped first: pushed to an unlinked
/// pad it would fail as not-linked, which its queue (or an `imagefreeze`) reports as a stream
/// error (seen once in CI when an exhibit was hidden).
pub(crate) fn remove_branch(
    pipeline: &gst::Pipeline,
    bin: &gst::Bin,
    pads: &[(&gst::Element, &gst::Pad)],
) -> Result<()> {
    for (mixer, pad) in pads {
        if let Some(peer) = pad.peer() {
            peer.add_probe(gst::PadProbeType::DATA_DOWNSTREAM, |_, info| {
                // taken and dropped, as the track gate does (see `live_participant`)
                info.data = None;
                gst::PadProbeReturn::Handled
            });
            let _ = peer.unlink(*pad);
        }
        mixer.release_request_pad(*pad);
    }
    bin.set_state(gst::State::Null)?;
    pipeline.remove(bin)?;
    Ok(())
}

/// Writes the UTC date and time of each frame (hearing start + its running time) on the view.
pub(crate) fn install_utc_overlay(
    overlay: &gst::Element,
    offset: Duration,
    started: chrono::DateTime<chrono::Utc>,
) {
    let overlay = overlay.clone();
    let Some(pad) = overlay.static_pad("video_sink") else {
        return;
    };
    let last = Mutex::new(String::new());
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if let Some(pts) = info.buffer().and_then(|b| b.pts()) {
            let t = started + offset + Duration::from_nanos(pts.nseconds());
            let text = t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
            let mut last = last.lock().expect("overlay text lock");
            if *last != text {
                overlay.set_property("text", &text);
                *last = text;
            }
        }
        gst::PadProbeReturn::Ok
    });
}
