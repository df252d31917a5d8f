//! Decoding any file GStreamer can read to 16 kHz mono f32, the only input Whisper and the VAD
//! take. Thin glue: `uridecodebin ! audioconvert ! audiorate ! audioresample ! appsink`.
use std::path::{Path, PathBuf};
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
    let mut reader = Reader::open(path)?;
    let mut chunk = Vec::new();
    while reader.next_chunk(&mut chunk)? {
        on_chunk(&chunk);
    }
    Ok(reader.samples())
}

/// A file being decoded to 16 kHz mono, read a chunk at a time by whoever holds it (several
/// tracks can be read side by side). Decoding stays at most a few chunks ahead of the reader.
pub struct Reader {
    path: PathBuf,
    pipeline: gst::Pipeline,
    sink: gst_app::AppSink,
    /// Samples handed out so far.
    samples: u64,
}

impl Reader {
    /// Starts decoding `path`; fails if it is missing or GStreamer cannot start on it (a file
    /// that is not audio at all may only fail at the first [`Reader::next_chunk`]).
    pub fn open(path: &Path) -> Result<Reader> {
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
        // connection): filled with silence from its timestamps, so sample n is at n/16000 s in
        // the file and the transcript's times stay on the hearing clock.
        let rate = make("audiorate")?;
        let resample = make("audioresample")?;
        let caps = gst_audio_caps();
        // A bounded queue: decoding runs far ahead of the VAD reading it, and unbounded the
        // whole track piled up here (an hour of four tracks peaked 230 MB higher).
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

        // The first audio stream goes to the converter; every other stream (video, a second
        // audio track) is drained into a fakesink, since an unlinked pad would stop the pipeline.
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
        let reader = Reader {
            path: path.to_owned(),
            pipeline,
            sink,
            samples: 0,
        };
        reader
            .pipeline
            .set_state(gst::State::Playing)
            .map_err(|_| {
                fail(
                    first_error(&reader.pipeline).unwrap_or_else(|| "cannot start decoding".into()),
                )
            })?;
        Ok(reader)
    }

    /// Replaces `chunk` with the next decoded samples; false at the end of the audio.
    pub fn next_chunk(&mut self, chunk: &mut Vec<f32>) -> Result<bool> {
        let fail = |reason: String| Error::Audio {
            path: self.path.clone(),
            reason,
        };
        let bus = self.pipeline.bus().expect("a pipeline has a bus");
        loop {
            if let Some(sample) = self
                .sink
                .try_pull_sample(gst::ClockTime::from_mseconds(100))
            {
                let Some(buffer) = sample.buffer() else {
                    continue;
                };
                let map = buffer.map_readable().map_err(|e| fail(e.to_string()))?;
                chunk.clear();
                chunk.extend(
                    map.chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                );
                self.samples += chunk.len() as u64;
                return Ok(true);
            }
            if self.sink.is_eos() {
                return Ok(false);
            }
            while let Some(msg) = bus.pop() {
                match msg.view() {
                    gst::MessageView::Error(e) => return Err(fail(describe(e.error(), e.debug()))),
                    gst::MessageView::Eos(_) if self.samples == 0 => {
                        return Err(fail("no audio stream".into()))
                    }
                    _ => {}
                }
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// The file's length in ms, if its container says (asked once decoding has started).
    pub fn duration_ms(&self) -> Option<u64> {
        self.pipeline
            .query_duration::<gst::ClockTime>()
            .map(|d| d.mseconds())
    }

    /// Samples handed out so far.
    pub fn samples(&self) -> u64 {
        self.samples
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

fn gst_audio_caps() -> gst::Caps {
    gst::Caps::builder("audio/x-raw")
        .field("format", "F32LE")
        .field("layout", "interleaved")
        .field("rate", SAMPLE_RATE as i32)
        .field("channels", 1i32)
        .build()
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
