//! One output file: `appsrc`(s) → `matroskamux` → `filesink`, in a small pipeline of its own so
//! that opening and closing files never touches the room's pipeline. `filesink` is unbuffered:
//! what the muxer wrote is in the kernel, so a `kill -9` loses only what was still in flight.
use std::path::{Path, PathBuf};
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StreamKind {
    Video,
    Audio,
}

pub(crate) struct FileWriter {
    pipeline: gst::Pipeline,
    srcs: Vec<(gst_app::AppSrc, bool)>,
    pub path: PathBuf,
    /// Hearing time of the file's zero.
    pub start: Duration,
    /// The file's zero is its first buffer (not its planned start): the time of that buffer
    /// relative to the planned start, once known.
    zero_at_first: Option<Option<Duration>>,
    /// Hearing time of the end of the last buffer written.
    pub end: Duration,
}

impl FileWriter {
    /// A file planned to start at hearing time `start`. With `zero_at_first`, its zero is its
    /// first buffer instead (a participant's track: they may start speaking, or connect, later
    /// than the file's planned start, and a player or the transcriber reading the file from its
    /// first sample must find it at the file's zero).
    pub fn open(
        path: &Path,
        start: Duration,
        kinds: &[StreamKind],
        zero_at_first: bool,
    ) -> Result<Self> {
        let pipeline = gst::Pipeline::with_name("file-writer");
        let mux = gst::ElementFactory::make("matroskamux")
            .property("writing-app", "OpenCourt recorder")
            .build()?;
        let sink = gst::ElementFactory::make("filesink")
            .property("location", path.to_string_lossy().as_ref())
            .property("sync", false)
            .build()?;
        sink.set_property_from_str("buffer-mode", "unbuffered");
        pipeline.add_many([&mux, &sink])?;
        mux.link(&sink)?;
        let mut srcs = Vec::new();
        for kind in kinds {
            let src = gst_app::AppSrc::builder()
                .format(gst::Format::Time)
                .is_live(false)
                .block(false)
                .max_bytes(64 << 20)
                .build();
            pipeline.add(&src)?;
            let tmpl = match kind {
                StreamKind::Video => "video_%u",
                StreamKind::Audio => "audio_%u",
            };
            let pad = mux
                .request_pad_simple(tmpl)
                .ok_or_else(|| Error::Gst("matroskamux gave no pad".into()))?;
            src.static_pad("src")
                .expect("appsrc has a src pad")
                .link(&pad)
                .map_err(|e| Error::Gst(format!("linking appsrc: {e:?}")))?;
            srcs.push((src, false));
        }
        pipeline.set_state(gst::State::Playing)?;
        Ok(Self {
            pipeline,
            srcs,
            path: path.to_owned(),
            start,
            zero_at_first: zero_at_first.then_some(None),
            end: start,
        })
    }

    /// Writes `buffer` of stream `i` at `rel` (its time in the file), with `caps` set first.
    /// Fails with the writer's error once writing the file has failed (disk full, an I/O
    /// error, the muxer refusing): the failure is seen at the next buffer, not when the file
    /// closes, and nothing more is written to it.
    pub fn push(
        &mut self,
        i: usize,
        caps: &gst::Caps,
        buffer: &gst::Buffer,
        rel: Duration,
        end: Duration,
    ) -> std::result::Result<(), String> {
        if let Some(e) = self.failure() {
            return Err(e);
        }
        let rel = match &mut self.zero_at_first {
            Some(first) => {
                let zero = *first.get_or_insert_with(|| {
                    self.start += rel;
                    rel
                });
                rel.saturating_sub(zero)
            }
            None => rel,
        };
        let (src, has_caps) = &mut self.srcs[i];
        if !*has_caps {
            src.set_caps(Some(caps));
            *has_caps = true;
        }
        let mut b = buffer.copy();
        {
            let b = b.make_mut();
            let t = gst::ClockTime::from_nseconds(rel.as_nanos() as u64);
            b.set_pts(t);
            b.set_dts(t);
        }
        // a flushing or stopped appsrc refuses: the file is being closed and the error is moot
        let _ = src.push_buffer(b);
        self.end = self.end.max(end);
        Ok(())
    }

    /// The error writing this file met, if it met one.
    fn failure(&self) -> Option<String> {
        let bus = self.pipeline.bus()?;
        let msg = bus.pop_filtered(&[gst::MessageType::Error])?;
        match msg.view() {
            gst::MessageView::Error(e) => Some(match e.debug() {
                Some(d) => format!("{} ({d})", e.error()),
                None => e.error().to_string(),
            }),
            _ => None,
        }
    }

    /// Ends every stream, waits for the muxer to write its index, and releases the file.
    pub fn finish(self) -> Result<()> {
        for (src, _) in &self.srcs {
            // refused only when the writer already failed; the bus tells
            let _ = src.end_of_stream();
        }
        let bus = self.pipeline.bus().expect("a pipeline has a bus");
        let msg = bus.timed_pop_filtered(
            gst::ClockTime::from_seconds(10),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        );
        self.pipeline.set_state(gst::State::Null)?;
        match msg {
            Some(m) => match m.view() {
                gst::MessageView::Eos(_) => Ok(()),
                gst::MessageView::Error(e) => Err(Error::Gst(format!(
                    "writing {}: {}",
                    self.path.display(),
                    e.error()
                ))),
                _ => Ok(()),
            },
            None => Err(Error::Gst(format!(
                "writing {}: no end of stream after 10 s",
                self.path.display()
            ))),
        }
    }
}
