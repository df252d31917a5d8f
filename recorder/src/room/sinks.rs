//! Where media leaves the room's pipeline: each encoded `appsink` into the files
//! ([`Outputs`](super::outputs::Outputs)), and a live participant's decoded audio to live
//! captions.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use super::build::PartBin;
use super::outputs::Which;
use super::{Heard, Inner};
use crate::error::{Error, Result};
use crate::state::ParticipantId;

pub(super) fn connect_sink(
    inner: &Arc<Inner>,
    sink: &gst_app::AppSink,
    which: Which,
    stream: usize,
) {
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
pub(super) fn tap_heard(
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
