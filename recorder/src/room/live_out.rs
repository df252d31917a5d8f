//! What the room sends back to live participants, carried out as [`Fanout`] decides: each N-1
//! mix's Opus to its listener, the view's and the waiting card's VP8 to whoever should see
//! them. Buffers are pushed into `appsrc`s of the participant's connection (another pipeline),
//! so a connection coming or going never touches the room's pipeline.
use std::sync::{Arc, Mutex};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use super::build::{push, Core};
use super::fanout::Fanout;
use crate::state::ParticipantId;

/// Where the room's media for one live participant goes: `appsrc`s in their connection's
/// pipeline (`format=time is-live=true do-timestamp=true`), fed Opus (their N-1 mix) and, when
/// the connection takes video, VP8 (the view, or the waiting card). Cheap to clone.
#[derive(Clone, Debug)]
pub struct LiveOut {
    audio: gst_app::AppSrc,
    video: Option<gst_app::AppSrc>,
}

impl LiveOut {
    pub fn new(audio: gst_app::AppSrc, video: Option<gst_app::AppSrc>) -> Self {
        Self { audio, video }
    }

    pub(crate) fn takes_video(&self) -> bool {
        self.video.is_some()
    }
}

pub(crate) type Sends = Arc<Mutex<Fanout<LiveOut>>>;

/// Sends a listener's N-1 mix to their connection (dropped while they have none).
pub(crate) fn connect_n1(sink: &gst_app::AppSink, sends: &Sends, id: ParticipantId) {
    let sends = sends.clone();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |s| {
                let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                if let Some(out) = sends.lock().expect("sends lock").audio(&id) {
                    push(&out.audio, &sample);
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
}

/// Sends the view to the admitted and the waiting card to the waiting.
pub(crate) fn connect_video(core: &Core, sends: &Sends) {
    let view = sends.clone();
    core.view_sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |s| {
                let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let key = sample
                    .buffer()
                    .is_some_and(|b| !b.flags().contains(gst::BufferFlags::DELTA_UNIT));
                for out in view.lock().expect("sends lock").view(key) {
                    if let Some(v) = &out.video {
                        push(v, &sample);
                    }
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    let card = sends.clone();
    core.card_sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |s| {
                let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                for out in card.lock().expect("sends lock").card() {
                    if let Some(v) = &out.video {
                        push(v, &sample);
                    }
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
}

/// Encodes the view and the card only while someone is shown them; with `key`, asks the view's
/// encoder for a keyframe now (someone starts receiving it). Call without the sends lock held.
pub(crate) fn update(core: &Core, view: bool, card: bool, key: bool) {
    core.view_gate.set_property("drop", !view);
    core.card_gate.set_property("drop", !card);
    if key {
        let ev = gstreamer_video::UpstreamForceKeyUnitEvent::builder()
            .all_headers(true)
            .build();
        if let Some(pad) = core.view_sink.static_pad("sink") {
            pad.push_event(ev);
        }
    }
}
