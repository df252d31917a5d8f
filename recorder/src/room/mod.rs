//! The GStreamer room: carries out what [`RoomState`] decides. Every change is a property on a
//! mixer pad (position, alpha, mute) or a branch added/removed at the mixers, so nothing stops
//! the media already flowing. Methods block briefly; call them from a plain thread (or
//! `spawn_blocking`), never on an async executor.
mod build;
mod fanout;
mod live_out;
mod n1;
mod outputs;
mod track_clock;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use crate::error::{Error, Result};
use crate::health::Health;
use crate::layout::layout;
use crate::manifest::{FileKind, Gap, Manifest};
use crate::speaker::{db, smooth, SpeakerDetector};
use crate::state::{Command, Event, ParticipantId, RecordState, Role, RoomState, Switch};
use crate::writer::StreamKind;
pub use build::LiveIn;
use build::PartBin;
pub use live_out::LiveOut;
use live_out::Sends;
use n1::{Feed, N1Mix};
use outputs::{Ctx, Output, Outputs, Which};

#[derive(Clone, Debug)]
pub struct RoomConfig {
    /// Output directory (created); a manifest already there continues the same hearing.
    pub out: PathBuf,
    pub width: i32,
    pub height: i32,
    pub fps: i32,
    /// Longest mixed segment / track file before it is closed and hashed.
    pub segment: Duration,
    /// No media for this long from a present participant raises `Stalled`.
    pub stall_after: Duration,
    pub x264_preset: String,
    pub video_kbps: u32,
    /// Hearing clock zero for a new recording (default: when the room starts); a hearing's room
    /// passes the time the hearing opened, so the room's clock is the control plane's.
    pub started: Option<chrono::DateTime<chrono::Utc>>,
    /// Whether the room starts on the record (default) or waits for [`Room::on_record`].
    pub start_on_record: bool,
    /// Where what the hearing hears from each live participant goes while on the record (for
    /// live captions): their decoded audio, only while admitted, unmuted and on the record.
    /// Never blocks the media: when the receiver falls behind, audio for it is dropped.
    pub heard: Option<std::sync::mpsc::SyncSender<Heard>>,
}

/// A stretch of one live participant's decoded audio, as the hearing heard it.
#[derive(Debug)]
pub struct Heard {
    pub id: ParticipantId,
    /// The transcript's speaker: name and role.
    pub speaker: String,
    /// Hearing time of the first sample.
    pub at: Duration,
    /// 48 kHz mono.
    pub samples: Vec<i16>,
}

/// How a participant is named as a speaker: "Judge Wang (Judge)".
pub fn speaker_label(name: &str, role: Role) -> String {
    format!("{name} ({})", role.label())
}

impl RoomConfig {
    pub fn new(out: impl Into<PathBuf>) -> Self {
        Self {
            out: out.into(),
            width: 1280,
            height: 720,
            // A court record is talking heads and still documents: 15 fps keeps lips in sync
            // for the viewer and halves the encode against 30 fps. Configurable.
            fps: 15,
            segment: Duration::from_secs(120),
            stall_after: Duration::from_secs(2),
            x264_preset: "veryfast".into(),
            video_kbps: 1200,
            started: None,
            start_on_record: true,
            heard: None,
        }
    }
}

/// A participant's media when fed from files (bots, tests, the CLI).
#[derive(Clone, Debug)]
pub struct Source {
    /// Any audio file GStreamer can decode (WAV, Opus, …).
    pub audio: PathBuf,
    /// A video file; `None` shows a test pattern with the participant's label.
    pub video: Option<PathBuf>,
}

struct PartMedia {
    bin: PartBin,
    comp_pad: gst::Pad,
    mix_pad: gst::Pad,
    /// Hearing time of the participant's stream time zero (when they were added).
    offset: Duration,
    /// Open while what they say is heard on the record (see [`RoomConfig::heard`]).
    heard: Option<Arc<AtomicBool>>,
}

struct Control {
    state: RoomState,
    media: BTreeMap<ParticipantId, PartMedia>,
    /// The exhibit pane's branch, its compositor pad, and what it shows.
    exhibit: Option<(gst::Bin, gst::Pad, crate::exhibit::Shown)>,
    health: Health,
    speaker: SpeakerDetector,
    /// Smoothed mean-square level of each participant in the mix.
    levels: BTreeMap<ParticipantId, f64>,
    /// Each live participant's N-1 mix, and every (source, listener) feed into them.
    n1: BTreeMap<ParticipantId, N1Mix>,
    feeds: BTreeMap<(ParticipantId, ParticipantId), Feed>,
    /// Each muted participant: since when (hearing time) and why. Their track is cut meanwhile.
    muted_since: BTreeMap<ParticipantId, (Duration, String)>,
}

impl Control {
    /// Follows mutes in `ev` (a mute said for `reason`): a muted participant's track is cut
    /// (nothing of theirs is kept) from their mute to their unmute, removal or the room's stop;
    /// returns each cut that ended, as a [`Event::TrackGap`] for the hearing's log.
    fn track_gaps(&mut self, ev: &[Event], reason: &str) -> Vec<Event> {
        let mut gaps = Vec::new();
        let mut gap = |id: &ParticipantId, (from, reason): (Duration, String), to: Duration| {
            gaps.push(Event::TrackGap {
                id: id.clone(),
                from,
                to,
                reason,
            })
        };
        for e in ev {
            match e {
                Event::Muted { id, at } => {
                    self.muted_since
                        .insert(id.clone(), (*at, reason.to_string()));
                }
                Event::Unmuted { id, at } | Event::Removed { id, at } => {
                    if let Some(since) = self.muted_since.remove(id) {
                        gap(id, since, *at);
                    }
                }
                Event::Stopped { at } => {
                    for (id, since) in std::mem::take(&mut self.muted_since) {
                        gap(&id, since, *at);
                    }
                }
                _ => {}
            }
        }
        gaps
    }
}

/// Label colours (ARGB): white, and gold for the current speaker.
const LABEL: u32 = 0xffff_ffff;
const LABEL_SPEAKING: u32 = 0xffff_d700;

struct Inner {
    cfg: RoomConfig,
    core: build::Core,
    ctx: Arc<Ctx>,
    outputs: Arc<Mutex<Outputs>>,
    /// Where each live participant's N-1 mix and view or card go (locked after `control`).
    sends: Sends,
    control: Mutex<Control>,
    stop: AtomicBool,
    /// When the room's own pipeline (its mixers or encoders) first failed, and how: the mixed
    /// recording from then to the stop is lost ([`Event::RecordingLost`] at the stop).
    failed: Mutex<Option<(Duration, String)>>,
}

pub struct Room {
    inner: Arc<Inner>,
    ticker: Option<JoinHandle<()>>,
}

fn ns(d: Duration) -> gst::ClockTime {
    gst::ClockTime::from_nseconds(d.as_nanos() as u64)
}

impl Inner {
    /// The hearing clock now.
    fn now(&self) -> Duration {
        let rt = self
            .core
            .pipeline
            .current_running_time()
            .map_or(0, |t| t.nseconds());
        self.ctx.offset + Duration::from_nanos(rt)
    }

    fn request_keyframe(&self, at: Duration) {
        let rt = ns(at.saturating_sub(self.ctx.offset));
        let ev = gstreamer_video::UpstreamForceKeyUnitEvent::builder()
            .running_time(rt)
            .all_headers(true)
            .build();
        if let Some(pad) = self.core.video_sink.static_pad("sink") {
            pad.push_event(ev);
        }
    }

    /// Puts every pad where the state says: tiles by layout, hidden and muted otherwise.
    fn apply_layout(&self, c: &Control) {
        let view = c.state.in_view();
        let l = layout(
            view.len(),
            c.exhibit.is_some(),
            self.cfg.width,
            self.cfg.height,
        );
        for (id, m) in &c.media {
            let p = c
                .state
                .participant(id)
                .expect("media only for participants");
            let pos = view.iter().position(|v| &v.id == id);
            match pos {
                Some(i) => {
                    let r = l.tiles[i];
                    m.comp_pad.set_property("xpos", r.x);
                    m.comp_pad.set_property("ypos", r.y);
                    m.comp_pad.set_property("width", r.w);
                    m.comp_pad.set_property("height", r.h);
                    m.comp_pad.set_property("alpha", 1.0f64);
                    m.bin.resize(r.w, r.h);
                }
                None => m.comp_pad.set_property("alpha", 0.0f64),
            }
            m.mix_pad.set_property("mute", !p.admitted || p.muted);
            if let Some(h) = &m.heard {
                h.store(
                    p.admitted && !p.muted && c.state.is_on_record(),
                    Ordering::Relaxed,
                );
            }
            // muted, nothing of theirs is kept either: the court does not hear them
            m.bin.track.set_open(p.admitted && !p.muted);
        }
        // a source is heard in a listener's N-1 mix as in the main mix, and only while the
        // listener is in the hearing: the waiting room hears nothing of it
        let heard = |id: &ParticipantId| {
            c.state
                .participant(id)
                .is_some_and(|p| p.admitted && !p.muted)
        };
        let admitted = |id: &ParticipantId| c.state.participant(id).is_some_and(|p| p.admitted);
        for ((from, to), f) in &c.feeds {
            f.pad.set_property("mute", !(heard(from) && admitted(to)));
        }
        let mut sends = self.sends.lock().expect("sends lock");
        let mut key = false;
        for id in c.n1.keys() {
            key |= sends.set_admitted(id, admitted(id));
        }
        let (view, card) = sends.wants(LiveOut::takes_video);
        drop(sends);
        live_out::update(&self.core, view, card, key);
        if let (Some((_, pad, _)), Some(r)) = (&c.exhibit, l.exhibit) {
            pad.set_property("xpos", r.x);
            pad.set_property("ypos", r.y);
            pad.set_property("width", r.w);
            pad.set_property("height", r.h);
        }
    }

    /// Applies `cmd` and commits the new state; returns its events (not yet sent).
    fn transition(&self, c: &mut Control, cmd: Command) -> Result<Vec<Event>> {
        let (s, ev) = c.state.apply(cmd, self.now())?;
        c.state = s;
        Ok(ev)
    }

    fn emit_all(&self, ev: Vec<Event>) {
        for e in ev {
            self.ctx.emit(e);
        }
    }

    fn tick(self: &Arc<Self>) {
        let now = self.now();
        let mut events = Vec::new();
        {
            let mut c = self.control.lock().expect("control lock");
            for m in c.media.values() {
                m.bin.apply_pending_size();
            }
            let c = &mut *c;
            for (id, m) in &c.media {
                // zero: no buffer yet (a buffer's end is after zero), so nothing has stalled
                let seen = match m.bin.last_seen.load(Ordering::Relaxed) {
                    0 => None,
                    ns => Some(m.offset + Duration::from_nanos(ns)),
                };
                events.extend(c.health.check(id, seen, now));
            }
            let mut heard = Vec::new();
            for (id, m) in &c.media {
                let p = f64::from_bits(m.bin.power.swap(0f64.to_bits(), Ordering::Relaxed));
                let level = c.levels.entry(id.clone()).or_insert(0.0);
                *level = smooth(*level, p);
                let audible = c
                    .state
                    .participant(id)
                    .is_some_and(|p| p.admitted && !p.muted);
                if audible {
                    heard.push((id.clone(), db(*level)));
                }
            }
            if let Some(ev) = c.speaker.update(&heard, now) {
                for (id, m) in &c.media {
                    let on = c.speaker.current() == Some(id);
                    m.bin
                        .label
                        .set_property("color", if on { LABEL_SPEAKING } else { LABEL });
                }
                events.push(ev);
            }
        }
        self.outputs
            .lock()
            .expect("outputs lock")
            .close_overdue(&self.ctx, now);
        self.emit_all(events);
        let bus = self.core.pipeline.bus().expect("pipeline bus");
        while let Some(msg) =
            bus.pop_filtered(&[gst::MessageType::Error, gst::MessageType::Warning])
        {
            let gst::MessageView::Error(e) = msg.view() else {
                if let gst::MessageView::Warning(w) = msg.view() {
                    tracing::warn!(warning = %w.error(), "media warning");
                }
                continue;
            };
            let src = msg.src();
            let message = format!(
                "the room's pipeline failed at {}: {}",
                src.map(|s| s.path_string()).unwrap_or_default(),
                e.error()
            );
            tracing::error!(%message, "media error");
            // The mixers and encoders sit at the pipeline's top level (a participant's own
            // elements are in their bin): when one of them fails, the mixed recording stops.
            let core = src
                .and_then(|s| s.parent())
                .is_some_and(|p| &p == self.core.pipeline.upcast_ref::<gst::Object>());
            if core {
                let mut failed = self.failed.lock().expect("failed lock");
                failed.get_or_insert((now, message.clone()));
            }
            // the presiding judge is told at once, in the hearing's log
            self.ctx.emit(Event::RecordingFault {
                file: String::new(),
                kind: FileKind::Mix,
                at: now,
                message,
            });
        }
    }
}

fn connect_sink(inner: &Arc<Inner>, sink: &gst_app::AppSink, which: Which, stream: usize) {
    let weak = Arc::downgrade(inner);
    let outputs = inner.outputs.clone();
    let ctx = inner.ctx.clone();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |s| {
                let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let key = outputs
                    .lock()
                    .expect("outputs lock")
                    .on_sample(&ctx, &which, stream, &sample);
                if let (Some(at), Some(inner)) = (key, weak.upgrade()) {
                    inner.request_keyframe(at);
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
}

/// Sends a live participant's decoded audio (stamped on the room's clock) to `tx` while the
/// returned gate is open.
fn tap_heard(
    pb: &PartBin,
    tx: std::sync::mpsc::SyncSender<Heard>,
    id: ParticipantId,
    speaker: String,
    offset: Duration,
) -> Result<Arc<AtomicBool>> {
    let gate = Arc::new(AtomicBool::new(false));
    let open = gate.clone();
    let pad = pb
        .bin
        .by_name("seen")
        .and_then(|e| e.static_pad("src"))
        .ok_or_else(|| Error::Gst("no decoded-audio pad to tap".into()))?;
    let dropped = std::sync::atomic::AtomicU64::new(0);
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if !open.load(Ordering::Relaxed) {
            return gst::PadProbeReturn::Ok;
        }
        let Some(b) = info.buffer() else {
            return gst::PadProbeReturn::Ok;
        };
        let (Some(pts), Ok(map)) = (b.pts(), b.map_readable()) else {
            return gst::PadProbeReturn::Ok;
        };
        let samples = map
            .as_slice()
            .chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]))
            .collect();
        let heard = Heard {
            id: id.clone(),
            speaker: speaker.clone(),
            at: offset + Duration::from_nanos(pts.nseconds()),
            samples,
        };
        if tx.try_send(heard).is_err()
            && dropped.fetch_add(1, Ordering::Relaxed).is_multiple_of(500)
        {
            tracing::warn!(participant = %id, "live captions fell behind: audio for them dropped");
        }
        gst::PadProbeReturn::Ok
    });
    Ok(gate)
}

impl Room {
    /// Starts a room writing into `cfg.out`; events arrive on the returned receiver.
    pub fn start(cfg: RoomConfig) -> Result<(Room, Receiver<Event>)> {
        gst::init()?;
        std::fs::create_dir_all(&cfg.out).map_err(|e| Error::io(&cfg.out, e))?;
        let now_utc = chrono::Utc::now();
        let (manifest, restarted) = match Manifest::load(&cfg.out)? {
            Some(m) => (m, true),
            None => (Manifest::new(cfg.started.unwrap_or(now_utc)), false),
        };
        let started = manifest.started()?;
        let offset = (now_utc - started).to_std().unwrap_or(Duration::ZERO);
        let (tx, rx) = channel();
        let mut restart_event = None;
        let mut manifest = manifest;
        let mut recovered = Vec::new();
        if restarted {
            recovered = crate::recover::recover(&cfg.out, &mut manifest)?;
            let from = Duration::from_millis(manifest.last_end_ms());
            manifest.gaps.push(Gap {
                from_ms: from.as_millis() as u64,
                to_ms: offset.as_millis() as u64,
                reason: "recorder restarted".into(),
            });
            restart_event = Some(Event::Restarted {
                gap_from: from,
                at: offset,
            });
        }
        manifest.save(&cfg.out)?;
        let core = build::core(&cfg)?;
        let state = RoomState::starting(offset, cfg.start_on_record);
        let ctx = Arc::new(Ctx {
            dir: cfg.out.clone(),
            manifest: Mutex::new(manifest),
            events: Mutex::new(tx),
            closers: Mutex::new(Vec::new()),
            offset,
        });
        let outputs = Arc::new(Mutex::new(Outputs {
            switches: state.switches.clone(),
            mix: Output::new(
                FileKind::Mix,
                vec![StreamKind::Video, StreamKind::Audio],
                cfg.segment,
            ),
            tracks: BTreeMap::new(),
            stopping: false,
        }));
        let inner = Arc::new(Inner {
            control: Mutex::new(Control {
                state,
                media: BTreeMap::new(),
                exhibit: None,
                health: Health::new(cfg.stall_after),
                speaker: SpeakerDetector::default(),
                levels: BTreeMap::new(),
                n1: BTreeMap::new(),
                feeds: BTreeMap::new(),
                muted_since: BTreeMap::new(),
            }),
            sends: Sends::default(),
            cfg,
            core,
            ctx,
            outputs,
            stop: AtomicBool::new(false),
            failed: Mutex::new(None),
        });
        connect_sink(&inner, &inner.core.video_sink, Which::Mix, 0);
        connect_sink(&inner, &inner.core.audio_sink, Which::Mix, 1);
        live_out::connect_video(&inner.core, &inner.sends);
        build::install_utc_overlay(&inner.core.utc_overlay, inner.ctx.offset, started);
        for f in recovered {
            inner.ctx.emit(Event::FileClosed(f));
        }
        if let Some(e) = restart_event {
            inner.ctx.emit(e);
        }
        inner.core.pipeline.set_state(gst::State::Playing)?;
        let ticker = std::thread::Builder::new()
            .name("room-ticker".into())
            .spawn({
                let inner = inner.clone();
                move || {
                    while !inner.stop.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(200));
                        inner.tick();
                    }
                }
            })
            .map_err(|e| Error::io("room-ticker", e))?;
        Ok((
            Room {
                inner,
                ticker: Some(ticker),
            },
            rx,
        ))
    }

    /// The hearing clock (zero when the hearing first started in this directory).
    pub fn now(&self) -> Duration {
        self.inner.now()
    }

    /// Adds a participant fed from files (bots, tests, the CLI), in the waiting room.
    pub fn add(&self, id: &ParticipantId, name: &str, role: Role, src: &Source) -> Result<()> {
        self.attach(id, name, role, false, |cfg, bin, label| {
            build::participant(cfg, bin, label, &src.audio, src.video.as_deref())
        })
        .map(|_| ())
    }

    /// Adds a participant fed live (WebRTC), in the waiting room: push their Opus (and, with
    /// `video`, VP8) into the returned [`LiveIn`], which stays valid across reconnections.
    pub fn add_live(
        &self,
        id: &ParticipantId,
        name: &str,
        role: Role,
        video: bool,
    ) -> Result<LiveIn> {
        let mut live = None;
        self.attach(id, name, role, true, |cfg, bin, label| {
            let (pb, l) = build::live_participant(cfg, bin, label, video)?;
            live = Some(l);
            Ok(pb)
        })?;
        live.ok_or_else(|| Error::Gst("live participant not built".into()))
    }

    /// Builds a participant's branch with `make` and links it into the running room.
    /// `live`: its buffers carry the room's running time already (stamped on arrival); a
    /// file-fed branch starts at stream time zero and is shifted to now.
    fn attach(
        &self,
        id: &ParticipantId,
        name: &str,
        role: Role,
        live: bool,
        make: impl FnOnce(&RoomConfig, &str, &str) -> Result<PartBin>,
    ) -> Result<()> {
        let inner = &self.inner;
        let mut c = inner.control.lock().expect("control lock");
        let cmd = Command::Add {
            id: id.clone(),
            name: name.into(),
            role,
        };
        // validate before building anything
        c.state.apply(cmd.clone(), inner.now())?;
        let label = format!("{name} — {}", role.label());
        let pb = make(&inner.cfg, &format!("p-{id}"), &label)?;
        let pipeline = &inner.core.pipeline;
        pipeline.add(&pb.bin)?;
        let comp_pad = inner
            .core
            .compositor
            .request_pad_simple("sink_%u")
            .ok_or_else(|| Error::Gst("compositor pad".into()))?;
        let mix_pad = inner
            .core
            .audiomixer
            .request_pad_simple("sink_%u")
            .ok_or_else(|| Error::Gst("audiomixer pad".into()))?;
        comp_pad.set_property("alpha", 0.0f64);
        mix_pad.set_property("mute", true);
        pb.track.set_open(false);
        let offset = if live {
            inner.ctx.offset
        } else {
            // joining a running room: their stream time zero is now on the room's clock
            let offset = inner.now();
            let rt = offset.saturating_sub(inner.ctx.offset).as_nanos() as i64;
            pb.video_out.set_offset(rt);
            // shifted before the tee, so the mix and their own track both get it
            if let Some(p) = pb.bin.by_name("seen").and_then(|e| e.static_pad("src")) {
                p.set_offset(rt);
            }
            offset
        };
        pb.audio_out
            .link(&mix_pad)
            .map_err(|e| Error::Gst(format!("link audio: {e:?}")))?;
        pb.video_out
            .link(&comp_pad)
            .map_err(|e| Error::Gst(format!("link video: {e:?}")))?;
        inner.outputs.lock().expect("outputs lock").tracks.insert(
            id.clone(),
            Output::new(
                FileKind::Track {
                    participant: id.to_string(),
                },
                vec![StreamKind::Audio],
                inner.cfg.segment,
            ),
        );
        connect_sink(inner, &pb.track_sink, Which::Track(id.clone()), 0);
        let heard = match (&inner.cfg.heard, live) {
            (Some(tx), true) => Some(tap_heard(
                &pb,
                tx.clone(),
                id.clone(),
                speaker_label(name, role),
                inner.ctx.offset,
            )?),
            _ => None,
        };
        build::start_branch(&pb.bin)?;
        let ctl = &mut *c;
        // everyone else's voice into their N-1 mix (live participants have one), theirs into
        // every other N-1 mix
        for (to, mix) in &ctl.n1 {
            ctl.feeds
                .insert((id.clone(), to.clone()), Feed::link(&pb.bin, mix)?);
        }
        if live {
            let mix = n1::n1_mix(&format!("n1-{id}"))?;
            pipeline.add(&mix.bin)?;
            inner.sends.lock().expect("sends lock").add(id);
            live_out::connect_n1(&mix.sink, &inner.sends, id.clone());
            build::start_branch(&mix.bin)?;
            for (from, m) in &ctl.media {
                ctl.feeds
                    .insert((from.clone(), id.clone()), Feed::link(&m.bin.bin, &mix)?);
            }
            ctl.n1.insert(id.clone(), mix);
        }
        let media = PartMedia {
            bin: pb,
            comp_pad,
            mix_pad,
            offset,
            heard,
        };
        c.media.insert(id.clone(), media);
        let ev = inner.transition(&mut c, cmd)?;
        inner.apply_layout(&c);
        drop(c);
        inner.emit_all(ev);
        Ok(())
    }

    fn simple(&self, cmd: Command) -> Result<()> {
        self.simple_because(cmd, "muted")
    }

    /// [`Room::simple`]; a mute among its events is for `reason`.
    fn simple_because(&self, cmd: Command, reason: &str) -> Result<()> {
        let inner = &self.inner;
        let mut c = inner.control.lock().expect("control lock");
        let mut ev = inner.transition(&mut c, cmd)?;
        let gaps = c.track_gaps(&ev, reason);
        ev.extend(gaps);
        inner.apply_layout(&c);
        drop(c);
        inner.emit_all(ev);
        Ok(())
    }

    pub fn admit(&self, id: &ParticipantId) -> Result<()> {
        self.simple(Command::Admit(id.clone()))
    }
    pub fn stand_down(&self, id: &ParticipantId) -> Result<()> {
        self.simple(Command::StandDown(id.clone()))
    }
    pub fn mute(&self, id: &ParticipantId) -> Result<()> {
        self.mute_because(id, "muted")
    }
    /// Mutes `id`: out of the mix, the captions and their own track (cut until they are
    /// unmuted, which then emits the cut as [`Event::TrackGap`] with `reason`).
    pub fn mute_because(&self, id: &ParticipantId, reason: &str) -> Result<()> {
        self.simple_because(Command::Mute(id.clone()), reason)
    }
    pub fn unmute(&self, id: &ParticipantId) -> Result<()> {
        self.simple(Command::Unmute(id.clone()))
    }

    /// Takes the participant out of the room: their track files are closed.
    pub fn remove(&self, id: &ParticipantId) -> Result<()> {
        let inner = &self.inner;
        let mut c = inner.control.lock().expect("control lock");
        let mut ev = inner.transition(&mut c, Command::Remove(id.clone()))?;
        let gaps = c.track_gaps(&ev, "");
        ev.extend(gaps);
        c.health.forget(id);
        c.levels.remove(id);
        let media = c.media.remove(id);
        // their feeds go first, in both directions, while every bin still runs
        let feeds: Vec<_> = c
            .feeds
            .keys()
            .filter(|(from, to)| from == id || to == id)
            .cloned()
            .collect();
        for key in feeds {
            let f = c.feeds.remove(&key).expect("listed above");
            if let Some(mix) = c.n1.get(&key.1) {
                f.release_listener(mix);
            }
            if let Some(m) = c.media.get(&key.0) {
                f.release_source(&m.bin.bin);
            }
        }
        let mix = c.n1.remove(id);
        inner.sends.lock().expect("sends lock").remove(id);
        inner.apply_layout(&c);
        drop(c);
        if let Some(mix) = mix {
            n1::remove_mix(&inner.core.pipeline, &mix)?;
        }
        if let Some(mut out) = inner
            .outputs
            .lock()
            .expect("outputs lock")
            .tracks
            .remove(id)
        {
            out.finish(&inner.ctx, inner.now());
        }
        if let Some(m) = media {
            build::remove_branch(
                &inner.core.pipeline,
                &m.bin.bin,
                &[
                    (&inner.core.compositor, &m.comp_pad),
                    (&inner.core.audiomixer, &m.mix_pad),
                ],
            )?;
        }
        inner.emit_all(ev);
        Ok(())
    }

    /// Sends `id`'s N-1 mix and the view (or, while they wait, the waiting card) to `out`,
    /// their current connection; `None` when it closes (set it before stopping the
    /// connection's pipeline). Only for live participants ([`Room::add_live`]).
    pub fn set_live_out(&self, id: &ParticipantId, out: Option<LiveOut>) -> Result<()> {
        let inner = &self.inner;
        let mut sends = inner.sends.lock().expect("sends lock");
        if !sends.has(id) {
            return Err(Error::Invalid(format!("{id} is not a live participant")));
        }
        let (_old, key) = sends.set_out(id, out);
        let (view, card) = sends.wants(LiveOut::takes_video);
        drop(sends);
        live_out::update(&inner.core, view, card, key);
        Ok(())
    }

    /// Goes off the record: the open files close at this moment, nothing is written until
    /// [`Room::on_record`].
    pub fn off_record(&self, reason: &str) -> Result<()> {
        self.record(Command::OffRecord {
            reason: reason.into(),
        })
    }

    pub fn on_record(&self, reason: &str) -> Result<()> {
        self.record(Command::OnRecord {
            reason: reason.into(),
        })
    }

    fn record(&self, cmd: Command) -> Result<()> {
        let inner = &self.inner;
        let mut c = inner.control.lock().expect("control lock");
        let before = c.state.record.clone();
        let ev = inner.transition(&mut c, cmd)?;
        inner.apply_layout(&c);
        inner.outputs.lock().expect("outputs lock").switches = c.state.switches.clone();
        let on = c.state.is_on_record();
        let at = inner.now();
        if let (RecordState::Off { since, reason }, RecordState::On { since: resumed }) =
            (before, &c.state.record)
        {
            // The gap ends at the switch the media layer routes buffers by, not at `at`, which
            // is read a little later: the first buffer of the new segment may come before `at`.
            let mut m = inner.ctx.manifest.lock().expect("manifest lock");
            m.gaps.push(Gap {
                from_ms: since.as_millis() as u64,
                to_ms: resumed.as_millis() as u64,
                reason,
            });
            m.save(&inner.ctx.dir)?;
        }
        drop(c);
        if on {
            // the new segment starts on a keyframe at once instead of waiting for one
            inner.request_keyframe(at);
        }
        inner.emit_all(ev);
        Ok(())
    }

    /// Shows an image (PNG or JPEG) or the first page of a PDF in the exhibit pane.
    pub fn show_exhibit(&self, name: &str, file: &Path) -> Result<()> {
        self.show_exhibit_page(name, file, 1)
    }

    /// Shows page `page` (from 1) of a PDF, rendered to an image, in the exhibit pane (an image
    /// has only page 1). A missing file or page is an error and changes nothing.
    pub fn show_exhibit_page(&self, name: &str, file: &Path, page: u32) -> Result<()> {
        let inner = &self.inner;
        // rendered at the view's size; the pane scales it down, keeping its shape
        let side = inner.cfg.width.max(inner.cfg.height).max(1) as u32;
        let shown = crate::exhibit::prepare(file, page, side)?;
        let mut c = inner.control.lock().expect("control lock");
        c.state
            .apply(Command::ShowExhibit { name: name.into() }, inner.now())?;
        let pane = layout(
            c.state.in_view().len(),
            true,
            inner.cfg.width,
            inner.cfg.height,
        )
        .exhibit
        .expect("a layout with an exhibit has a pane");
        let (bin, ghost) = build::exhibit(&shown.image, pane.w, pane.h)?;
        inner.core.pipeline.add(&bin)?;
        let pad = inner
            .core
            .compositor
            .request_pad_simple("sink_%u")
            .ok_or_else(|| Error::Gst("compositor pad".into()))?;
        pad.set_property_from_str("sizing-policy", "keep-aspect-ratio");
        ghost.set_offset(inner.now().saturating_sub(inner.ctx.offset).as_nanos() as i64);
        ghost
            .link(&pad)
            .map_err(|e| Error::Gst(format!("link exhibit: {e:?}")))?;
        build::start_branch(&bin)?;
        let old = c.exhibit.replace((bin, pad, shown));
        let ev = inner.transition(&mut c, Command::ShowExhibit { name: name.into() })?;
        inner.apply_layout(&c);
        drop(c);
        if let Some((b, p, _shown)) = old {
            build::remove_branch(&inner.core.pipeline, &b, &[(&inner.core.compositor, &p)])?;
        }
        inner.emit_all(ev);
        Ok(())
    }

    pub fn hide_exhibit(&self) -> Result<()> {
        let inner = &self.inner;
        let mut c = inner.control.lock().expect("control lock");
        let ev = inner.transition(&mut c, Command::HideExhibit)?;
        let old = c.exhibit.take();
        inner.apply_layout(&c);
        drop(c);
        if let Some((b, p, _shown)) = old {
            build::remove_branch(&inner.core.pipeline, &b, &[(&inner.core.compositor, &p)])?;
        }
        inner.emit_all(ev);
        Ok(())
    }

    /// Posts an error on the room's pipeline from its audio mixer, as a failing mixer would:
    /// for tests of what an error in the room's own pipeline leads to.
    #[doc(hidden)]
    pub fn fail_mixer_for_test(&self, why: &str) {
        let mixer = &self.inner.core.audiomixer;
        gst::element_error!(mixer, gst::CoreError::Failed, ("{}", why));
    }

    /// Ends the hearing: drains the encoders, closes and hashes every open file.
    pub fn stop(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        let Some(ticker) = self.ticker.take() else {
            return Ok(());
        };
        let inner = &self.inner;
        inner.stop.store(true, Ordering::Relaxed);
        let _ = ticker.join();
        if inner
            .control
            .lock()
            .expect("control lock")
            .exhibit
            .is_some()
        {
            self.hide_exhibit()?;
        }
        let mut ev = {
            let mut c = inner.control.lock().expect("control lock");
            let mut ev = inner.transition(&mut c, Command::Stop)?;
            let gaps = c.track_gaps(&ev, "");
            // the cuts come before `Stopped`, which is the last event
            ev.splice(0..0, gaps);
            ev
        };
        // nothing after this moment is on the record, however long the drain takes
        let end = inner.now();
        let lost = inner.failed.lock().expect("failed lock").take();
        if let Some((from, reason)) = lost {
            // before `Stopped`, the last event
            let last = ev.len().saturating_sub(1);
            ev.insert(
                last,
                Event::RecordingLost {
                    kind: FileKind::Mix,
                    from,
                    to: end.max(from),
                    reason,
                },
            );
        }
        inner
            .outputs
            .lock()
            .expect("outputs lock")
            .switches
            .push(Switch { at: end, on: false });
        // drain: every source ends, the mixers and encoders flush what they hold
        inner.core.pipeline.send_event(gst::event::Eos::new());
        let bus = inner.core.pipeline.bus().expect("pipeline bus");
        let _ = bus.timed_pop_filtered(
            gst::ClockTime::from_seconds(3),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        );
        {
            let mut o = inner.outputs.lock().expect("outputs lock");
            o.mix.finish(&inner.ctx, end);
            for t in o.tracks.values_mut() {
                t.finish(&inner.ctx, end);
            }
            o.stopping = true;
        }
        let closers: Vec<_> = std::mem::take(&mut *inner.ctx.closers.lock().expect("closers lock"));
        for h in closers {
            let _ = h.join();
        }
        inner.core.pipeline.set_state(gst::State::Null)?;
        inner.emit_all(ev);
        Ok(())
    }
}

impl Drop for Room {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            tracing::error!(error = %e, "stopping the room");
        }
    }
}
