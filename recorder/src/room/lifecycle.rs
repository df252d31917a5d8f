//! Starting a room (continuing a hearing whose manifest is already there) and stopping it
//! (draining the encoders, closing and hashing every open file).
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;

use super::control::Control;
use super::live_out::{self, Sends};
use super::outputs::{Ctx, Output, Outputs, Which};
use super::sinks::connect_sink;
use super::{build, Inner, Room, RoomConfig};
use crate::error::{Error, Result};
use crate::health::Health;
use crate::manifest::{FileKind, Gap, Manifest};
use crate::speaker::SpeakerDetector;
use crate::state::{Command, Event, RoomState, Switch};
use crate::writer::StreamKind;

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
