//! Decoding any file GStreamer can read to 16 kHz mono f32, the only input Whisper and the VAD
//! take. Thin glue: `uridecodebin ! audioconvert ! audiorate ! audioresample ! appsink`.
use std::path::Path;
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use crate::error::{Error, Result};

/// Whisper's sample rate.
pub const SAMPLE_RATE: u32 = 16_000;

/// Decodes the first audio stream of `path` to 16 kHz mono samples in [-1, 1].
pub fn decode_file(path: &Path) -> Result<Vec<f32>> {
    let mut samples = Vec::new();
    decode_file_with(path, &mut |chunk| samples.extend_from_slice(chunk))?;
    Ok(samples)
}

/// Decodes `path` as [`decode_file`] does, handing the samples over chunk by chunk as they are
/// decoded, so a long track need not be held in memory; returns the number of samples.
pub fn decode_file_with(path: &Path, on_chunk: &mut dyn FnMut(&[f32])) -> Result<u64> {
    let fail = |reason: String| Error::Audio {
        path: path.to_owned(),
        reason,
    };
    if !path.is_file() {
        return Err(fail("no such file".into()));
    }
    gst::init().map_err(|e| fail(format!("GStreamer init: {e}")))?;
    let abs = std::fs::canonicalize(path).map_err(Error::io(path))?;
    let uri = gst::glib::filename_to_uri(&abs, None).map_err(|e| fail(e.to_string()))?;

    let pipeline = gst::Pipeline::new();
    let make = |name: &str| {
        gst::ElementFactory::make(name).build().map_err(|_| {
            fail(format!(
                "GStreamer element {name} is missing (install gstreamer1.0-plugins-base)"
            ))
        })
    };
    let src = make("uridecodebin")?;
    src.set_property("uri", uri.as_str());
    let convert = make("audioconvert")?;
    // A track written as received (WebRTC) has holes where no packets came (a dropped
    // connection): filled with silence from its timestamps, so sample n is at n/16000 s in the
    // file and the transcript's times stay on the hearing clock.
    let rate = make("audiorate")?;
    let resample = make("audioresample")?;
    let caps = gst_audio_caps();
    // A bounded queue: decoding runs far ahead of the VAD reading it, and unbounded the whole
    // track piled up here (an hour of four tracks peaked 230 MB higher).
    let sink = gst_app::AppSink::builder()
        .caps(&caps)
        .sync(false)
        .max_buffers(64)
        .build();
    pipeline
        .add_many([&src, &convert, &rate, &resample, sink.upcast_ref()])
        .map_err(|e| fail(e.to_string()))?;
    gst::Element::link_many([&convert, &rate, &resample, sink.upcast_ref()])
        .map_err(|e| fail(e.to_string()))?;

    // The first audio stream goes to the converter; every other stream (video, a second audio
    // track) is drained into a fakesink, since an unlinked pad would stop the pipeline.
    let convert_weak = convert.downgrade();
    let pipeline_weak = pipeline.downgrade();
    src.connect_pad_added(move |_, pad| {
        let (Some(convert), Some(pipeline)) = (convert_weak.upgrade(), pipeline_weak.upgrade())
        else {
            return;
        };
        let sink_pad = convert
            .static_pad("sink")
            .expect("audioconvert has a sink pad");
        let is_audio = pad
            .current_caps()
            .and_then(|c| c.structure(0).map(|s| s.name().starts_with("audio/")))
            .unwrap_or(false);
        if is_audio && !sink_pad.is_linked() && pad.link(&sink_pad).is_ok() {
            return;
        }
        if let Ok(fake) = gst::ElementFactory::make("fakesink")
            .property("sync", false)
            .build()
        {
            let _ = pipeline.add(&fake);
            let _ = fake.sync_state_with_parent();
            if let Some(p) = fake.static_pad("sink") {
                let _ = pad.link(&p);
            }
        }
    });

    let result = pull_all(&pipeline, &sink, on_chunk);
    let _ = pipeline.set_state(gst::State::Null);
    result.map_err(fail)
}

fn gst_audio_caps() -> gst::Caps {
    gst::Caps::builder("audio/x-raw")
        .field("format", "F32LE")
        .field("layout", "interleaved")
        .field("rate", SAMPLE_RATE as i32)
        .field("channels", 1i32)
        .build()
}

fn pull_all(
    pipeline: &gst::Pipeline,
    sink: &gst_app::AppSink,
    on_chunk: &mut dyn FnMut(&[f32]),
) -> Result<u64, String> {
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|_| first_error(pipeline).unwrap_or_else(|| "cannot start decoding".into()))?;
    let bus = pipeline.bus().expect("a pipeline has a bus");
    let mut n: u64 = 0;
    let mut chunk = Vec::new();
    loop {
        if let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_mseconds(100)) {
            if let Some(buffer) = sample.buffer() {
                let map = buffer.map_readable().map_err(|e| e.to_string())?;
                chunk.clear();
                chunk.extend(
                    map.chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                );
                n += chunk.len() as u64;
                on_chunk(&chunk);
            }
            continue;
        }
        if sink.is_eos() {
            break;
        }
        while let Some(msg) = bus.pop() {
            match msg.view() {
                gst::MessageView::Error(e) => return Err(describe(e.error(), e.debug())),
                gst::MessageView::Eos(_) if n == 0 => return Err("no audio stream".into()),
                _ => {}
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(n)
}

fn first_error(pipeline: &gst::Pipeline) -> Option<String> {
    let bus = pipeline.bus()?;
    while let Some(msg) = bus.pop() {
        if let gst::MessageView::Error(e) = msg.view() {
            return Some(describe(e.error(), e.debug()));
        }
    }
    None
}

fn describe(err: gst::glib::Error, _debug: Option<gst::glib::GString>) -> String {
    let msg = err.to_string();
    if msg.contains("Could not determine type") || msg.contains("not-linked") {
        "not an audio file GStreamer can decode".into()
    } else if msg.contains("missing") || msg.contains("plugin") {
        format!("{msg} (a GStreamer plugin package may be missing)")
    } else {
        msg
    }
}
