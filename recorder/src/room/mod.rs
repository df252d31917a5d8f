//! The GStreamer room: carries out what [`RoomState`](crate::state::RoomState) decides. Every
//! change is a property on a mixer pad (position, alpha, mute) or a branch added/removed at the
//! mixers, so nothing stops the media already flowing. Methods block briefly; call them from a
//! plain thread (or `spawn_blocking`), never on an async executor.
//!
//! [`Room`] and the layout it applies are here; starting and stopping in `lifecycle`,
//! participants in `participants`, the record switch in `record`, the exhibit pane in
//! `exhibit_pane`, the periodic checks in `tick`, where media leaves the pipeline in `sinks`.
mod build;
mod config;
mod control;
mod exhibit_pane;
mod fanout;
mod lifecycle;
mod live_out;
mod n1;
mod outputs;
mod participants;
mod record;
mod sinks;
mod tick;
mod track_clock;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;

use crate::error::Result;
use crate::layout::layout;
use crate::state::{Command, Event, ParticipantId};
pub use build::LiveIn;
pub use config::{speaker_label, Heard, RoomConfig, Source};
use control::Control;
pub use live_out::LiveOut;
use live_out::Sends;
use outputs::{Ctx, Outputs};

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
}

impl Room {
    /// The hearing clock (zero when the hearing first started in this directory).
    pub fn now(&self) -> Duration {
        self.inner.now()
    }
}
