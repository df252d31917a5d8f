//! Routes every encoded buffer (mixed video, mixed audio, each participant's track) to its file
//! as [`Segmenter`] decides, and closes, hashes and lists files in the manifest.
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc::Sender;
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::Duration;

use gstreamer as gst;

use crate::manifest::{hash_file, rel_name, FileEntry, FileKind, Manifest};
use crate::segment::{mix_file_name, track_file_name, Segmenter};
use crate::state::{Event, ParticipantId, Switch};
use crate::writer::{FileWriter, StreamKind};

/// What the output side shares with the threads that close files.
pub(crate) struct Ctx {
    pub dir: PathBuf,
    pub manifest: Mutex<Manifest>,
    pub events: Mutex<Sender<Event>>,
    pub closers: Mutex<Vec<JoinHandle<()>>>,
    /// Hearing time at the pipeline's running time zero.
    pub offset: Duration,
}

impl Ctx {
    pub fn emit(&self, ev: Event) {
        tracing::debug!(event = ?ev, "room event");
        // nobody listening is fine: the manifest is the durable record
        let _ = self.events.lock().expect("events lock").send(ev);
    }
}

pub(crate) struct Output {
    kind: FileKind,
    kinds: Vec<StreamKind>,
    seg: Segmenter,
    caps: Vec<Option<gst::Caps>>,
    writers: BTreeMap<Duration, FileWriter>,
    /// Writing failed and no new file has taken over yet.
    fault: Option<Fault>,
}

/// A failed file of an output, until a new file takes over.
struct Fault {
    /// Hearing time from which nothing of the output is kept (the failed file's start: what
    /// it holds is not hashed or logged).
    lost_from: Duration,
    reason: String,
    /// The hearing time after which opening a new file is tried again.
    retry_at: Duration,
}

/// How often a new file is tried while an output cannot write.
const RETRY: Duration = Duration::from_secs(1);

impl Output {
    pub fn new(kind: FileKind, kinds: Vec<StreamKind>, len: Duration) -> Self {
        let needs_key = kinds.iter().map(|k| *k == StreamKind::Video).collect();
        Self {
            caps: vec![None; kinds.len()],
            kind,
            kinds,
            seg: Segmenter::new(len, needs_key),
            writers: BTreeMap::new(),
            fault: None,
        }
    }

    fn has_video(&self) -> bool {
        self.kinds.contains(&StreamKind::Video)
    }

    fn file_name(&self, start: Duration) -> String {
        match &self.kind {
            FileKind::Mix => mix_file_name(start),
            FileKind::Track { participant } => track_file_name(participant, start),
        }
    }

    fn close(&mut self, ctx: &std::sync::Arc<Ctx>, starts: Vec<Duration>) {
        for s in starts {
            if let Some(w) = self.writers.remove(&s) {
                spawn_closer(ctx.clone(), w, self.kind.clone());
            }
        }
    }

    /// Closes every open file (the participant left or the room stops at `now`).
    pub fn finish(&mut self, ctx: &std::sync::Arc<Ctx>, now: Duration) {
        let all = self.seg.finish();
        self.close(ctx, all);
        self.recovered(ctx, now);
    }

    /// The writer of file `start` failed at `at` with `message`: said at once; the file is
    /// closed and the output writes nothing until a new file opens.
    fn failed(
        &mut self,
        ctx: &std::sync::Arc<Ctx>,
        start: Duration,
        at: Duration,
        message: String,
    ) {
        let Some(w) = self.writers.remove(&start) else {
            return;
        };
        let file = rel_name(&ctx.dir, &w.path);
        tracing::error!(%file, %message, "writing a recording file failed");
        let lost_from = self.fault.as_ref().map_or(w.start, |f| f.lost_from);
        self.fault = Some(Fault {
            lost_from,
            reason: format!("writing {file} failed: {message}"),
            retry_at: at,
        });
        ctx.emit(Event::RecordingFault {
            file,
            kind: self.kind.clone(),
            at,
            message,
        });
        spawn_closer(ctx.clone(), w, self.kind.clone());
    }

    /// A new file took over at `at` (or the output ended then): what was lost is said.
    fn recovered(&mut self, ctx: &Ctx, at: Duration) {
        if let Some(f) = self.fault.take() {
            ctx.emit(Event::RecordingLost {
                kind: self.kind.clone(),
                from: f.lost_from,
                to: at.max(f.lost_from),
                reason: f.reason,
            });
        }
    }

    /// Opens a file for the span starting at `start`, to take its first buffer at `t`; `None`
    /// when it cannot, which is a fault like a failed write: said at once (the first failure of
    /// a run), retried, and the media lost said when a file opens. A file replacing a failed
    /// one is named after `t` and starts there.
    fn open(&mut self, ctx: &Ctx, start: Duration, t: Duration) -> Option<FileWriter> {
        // a track's zero is its first buffer, and its name says so, which is what crash
        // recovery reads its start from; so is a file replacing a failed one
        let zero_at_first = matches!(self.kind, FileKind::Track { .. }) || self.fault.is_some();
        let name_at = if zero_at_first { t.max(start) } else { start };
        let path = ctx.dir.join(self.file_name(name_at));
        match FileWriter::open(&path, start, &self.kinds, zero_at_first) {
            Ok(w) => {
                tracing::info!(file = %path.display(), "opened");
                Some(w)
            }
            Err(e) => {
                let file = rel_name(&ctx.dir, &path);
                let message = format!("opening {file} failed: {e}");
                tracing::error!(%file, %message, "opening a recording file failed");
                match self.fault.as_mut() {
                    // still failing: tried again later, already said
                    Some(f) => f.retry_at = t + RETRY,
                    None => {
                        self.fault = Some(Fault {
                            lost_from: start.min(t),
                            reason: message.clone(),
                            retry_at: t + RETRY,
                        });
                        ctx.emit(Event::RecordingFault {
                            file,
                            kind: self.kind.clone(),
                            at: t,
                            message,
                        });
                    }
                }
                None
            }
        }
    }
}

/// Which output a sample belongs to.
#[derive(Clone, Debug)]
pub(crate) enum Which {
    Mix,
    Track(ParticipantId),
}

pub(crate) struct Outputs {
    pub switches: Vec<Switch>,
    pub mix: Output,
    pub tracks: BTreeMap<ParticipantId, Output>,
    pub stopping: bool,
}

impl Outputs {
    /// Handles one encoded sample; returns a hearing time at which the video encoder should
    /// produce a keyframe, if one is needed.
    pub fn on_sample(
        &mut self,
        ctx: &std::sync::Arc<Ctx>,
        which: &Which,
        stream: usize,
        sample: &gst::Sample,
    ) -> Option<Duration> {
        if self.stopping {
            return None;
        }
        let (buffer, caps) = (sample.buffer_owned()?, sample.caps_owned()?);
        let segment = sample.segment()?.downcast_ref::<gst::ClockTime>()?;
        let rt = match which {
            // a live participant's track goes by the packets' own times, not their arrival
            Which::Track(_) => track_time(&buffer),
            Which::Mix => None,
        };
        let rt = rt.or_else(|| segment.to_running_time(buffer.pts()?))?;
        let t = ctx.offset + Duration::from_nanos(rt.nseconds());
        let dur = buffer
            .duration()
            .map_or(Duration::ZERO, |d| Duration::from_nanos(d.nseconds()));
        let key = !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT);
        let switches = &self.switches;
        let out = match which {
            Which::Mix => &mut self.mix,
            Which::Track(id) => self.tracks.get_mut(id)?,
        };
        out.caps[stream] = Some(caps.clone());
        let mut d = out.seg.route(switches, stream, t, key);
        out.close(ctx, d.close);
        if let Some(start) = d.open {
            if let Some(w) = out.open(ctx, start, t) {
                out.writers.insert(start, w);
                out.recovered(ctx, t);
            }
        }
        if let Some((start, rel)) = d.write {
            if !out.writers.contains_key(&start) {
                // the span's file failed: a new one takes over once it can (for video, at a
                // keyframe, asked for now)
                let video = out.kinds[stream] == StreamKind::Video;
                let retry = out.fault.as_ref().is_some_and(|f| t >= f.retry_at);
                if retry && video && !key {
                    d.keyframe_at = d.keyframe_at.or(Some(t));
                } else if retry && (key || !video) && (!out.has_video() || video) {
                    // a failure sets the next try itself
                    if let Some(w) = out.open(ctx, start, t) {
                        out.writers.insert(start, w);
                        out.recovered(ctx, t);
                    }
                }
            }
            if let Some(w) = out.writers.get_mut(&start) {
                if let Err(message) = w.push(stream, &caps, &buffer, rel, t + dur) {
                    out.failed(ctx, start, t, message);
                }
            }
        }
        d.keyframe_at
    }

    /// Closes files a stopped stream left open past their planned end.
    pub fn close_overdue(&mut self, ctx: &std::sync::Arc<Ctx>, now: Duration) {
        let grace = Duration::from_secs(3);
        let switches = self.switches.clone();
        for out in std::iter::once(&mut self.mix).chain(self.tracks.values_mut()) {
            let late = out.seg.overdue(&switches, now, grace);
            out.close(ctx, late);
        }
    }
}

/// The time [`super::LiveIn`] gave a packet on its participant's track, if it gave one.
fn track_time(buffer: &gst::BufferRef) -> Option<gst::ClockTime> {
    buffer
        .iter_meta::<gst::ReferenceTimestampMeta>()
        .find(|m| {
            m.reference()
                .structure(0)
                .is_some_and(|s| s.name() == super::build::TRACK_TIME)
        })
        .map(|m| m.timestamp())
}

fn spawn_closer(ctx: std::sync::Arc<Ctx>, w: FileWriter, kind: FileKind) {
    let h = std::thread::Builder::new()
        .name("file-closer".into())
        .spawn({
            let ctx = ctx.clone();
            move || {
                let (path, start, end) = (w.path.clone(), w.start, w.end);
                let result = w.finish().and_then(|()| hash_file(&path));
                match result {
                    Ok((sha256, size)) => {
                        let entry = FileEntry {
                            file: rel_name(&ctx.dir, &path),
                            kind,
                            sha256,
                            size,
                            duration_ms: (end - start).as_millis() as u64,
                            start_ms: start.as_millis() as u64,
                            end_ms: end.as_millis() as u64,
                            recovered: false,
                        };
                        let saved = {
                            let mut m = ctx.manifest.lock().expect("manifest lock");
                            m.files.push(entry.clone());
                            m.files
                                .sort_by(|a, b| (a.start_ms, &a.file).cmp(&(b.start_ms, &b.file)));
                            m.save(&ctx.dir)
                        };
                        if let Err(e) = saved {
                            ctx.emit(Event::MediaError {
                                message: e.to_string(),
                            });
                        }
                        tracing::info!(file = %entry.file, size, "closed");
                        ctx.emit(Event::FileClosed(entry));
                    }
                    Err(e) => ctx.emit(Event::MediaError {
                        message: e.to_string(),
                    }),
                }
            }
        })
        .expect("spawning a thread");
    ctx.closers.lock().expect("closers lock").push(h);
}
