//! What the room checks every tick: stalled participants, the current speaker (their label
//! turns gold), files overdue to close, and errors on the pipeline's bus.
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;

use super::Inner;
use crate::manifest::FileKind;
use crate::speaker::{db, smooth};
use crate::state::Event;

/// Label colours (ARGB): white, and gold for the current speaker.
const LABEL: u32 = 0xffff_ffff;
const LABEL_SPEAKING: u32 = 0xffff_d700;

impl Inner {
    pub(super) fn tick(self: &Arc<Self>) {
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
