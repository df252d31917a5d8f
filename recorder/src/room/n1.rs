//! Each live participant's N-1 mix (everyone but themselves), built and linked at runtime.
//! Every participant's bin has a `tee` after its decoded audio (`mixtee`); a [`Feed`] is one tee
//! branch (a queue ghosted out of the source's bin) into one listener's N-1 mixer. Only
//! construction and teardown here; [`super::Room`] decides what is muted.
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use super::build::{appsink, by_name};
use crate::error::{Error, Result};

/// One listener's N-1 mix: a live audiomixer (with its own silent live source, so it produces
/// on the clock with no other participant, or all of them muted) encoded to Opus.
pub(crate) struct N1Mix {
    pub bin: gst::Bin,
    mixer: gst::Element,
    pub sink: gst_app::AppSink,
}

pub(crate) fn n1_mix(name: &str) -> Result<N1Mix> {
    let desc = "audiotestsrc is-live=true wave=silence samplesperbuffer=960 \
           ! audio/x-raw,format=S16LE,rate=48000,channels=1 ! nmix. \
         audiomixer name=nmix latency=40000000 output-buffer-duration=20000000 \
           ! audio/x-raw,format=S16LE,rate=48000,channels=1 ! audioconvert \
           ! opusenc bitrate=32000 audio-type=voice frame-size=20 complexity=5 \
           ! appsink name=nsink sync=false async=false max-buffers=0";
    let bin = gst::parse::bin_from_description(desc, false)?;
    bin.set_property("name", name);
    Ok(N1Mix {
        mixer: by_name(&bin, "nmix")?,
        sink: appsink(&bin, "nsink")?,
        bin,
    })
}

/// One source's decoded audio into one listener's N-1 mixer.
pub(crate) struct Feed {
    /// The mixer pad: muted unless both source and listener are in the hearing.
    pub pad: gst::Pad,
    tee_pad: gst::Pad,
    queue: gst::Element,
    /// Ghosts of the queue's output (on the source's bin) and of the mixer pad (on the N-1 bin).
    out: gst::GhostPad,
    inp: gst::GhostPad,
}

impl Feed {
    /// Links `source` (a participant's running bin) into `mix`, muted.
    pub fn link(source: &gst::Bin, mix: &N1Mix) -> Result<Feed> {
        // the ghost pads are named after the other end: unique on each bin
        let (from, to) = (source.name(), mix.bin.name());
        let gst_err = |what: &str| Error::Gst(format!("n-1 feed: {what}"));
        let tee = by_name(source, "mixtee")?;
        // as long as the participants' other queues (build::QUEUE)
        let queue = gst::ElementFactory::make("queue")
            .property("max-size-time", 3_000_000_000u64)
            .property("max-size-buffers", 0u32)
            .property("max-size-bytes", 0u32)
            .build()
            .map_err(|_| gst_err("queue"))?;
        source.add(&queue)?;
        let pad = mix
            .mixer
            .request_pad_simple("sink_%u")
            .ok_or_else(|| gst_err("mixer pad"))?;
        pad.set_property("mute", true);
        let inp = gst::GhostPad::builder_with_target(&pad)?
            .name(format!("from-{from}"))
            .build();
        mix.bin.add_pad(&inp)?;
        let qsrc = queue
            .static_pad("src")
            .ok_or_else(|| gst_err("queue src"))?;
        let out = gst::GhostPad::builder_with_target(&qsrc)?
            .name(format!("to-{to}"))
            .build();
        source.add_pad(&out)?;
        out.link(&inp)
            .map_err(|e| gst_err(&format!("link to the mixer: {e:?}")))?;
        queue.set_state(gst::State::Playing)?;
        // last: from here the tee's thread pushes into the queue
        let tee_pad = tee
            .request_pad_simple("src_%u")
            .ok_or_else(|| gst_err("tee pad"))?;
        tee_pad
            .link(
                &queue
                    .static_pad("sink")
                    .ok_or_else(|| gst_err("queue sink"))?,
            )
            .map_err(|e| gst_err(&format!("link to the tee: {e:?}")))?;
        Ok(Feed {
            pad,
            tee_pad,
            queue,
            out,
            inp,
        })
    }

    /// Releases the listener's side: the mixer pad (which unblocks the queue's thread if it
    /// waits in the mixer). Enough when the source's whole bin is going away.
    pub fn release_listener(&self, mix: &N1Mix) {
        let _ = self.out.unlink(&self.inp);
        let _ = mix.bin.remove_pad(&self.inp);
        mix.mixer.release_request_pad(&self.pad);
    }

    /// Releases the source's side (its tee pad and the queue), when the source stays.
    pub fn release_source(&self, source: &gst::Bin) {
        if let Ok(tee) = by_name(source, "mixtee") {
            if let Some(sink) = self.queue.static_pad("sink") {
                let _ = self.tee_pad.unlink(&sink);
            }
            tee.release_request_pad(&self.tee_pad);
        }
        let _ = self.queue.set_state(gst::State::Null);
        let _ = source.remove_pad(&self.out);
        let _ = source.remove(&self.queue);
    }
}

/// Stops and removes a listener's N-1 mix once no feed reaches it.
pub(crate) fn remove_mix(pipeline: &gst::Pipeline, mix: &N1Mix) -> Result<()> {
    mix.bin.set_state(gst::State::Null)?;
    pipeline.remove(&mix.bin)?;
    Ok(())
}
