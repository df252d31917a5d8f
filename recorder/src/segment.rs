//! Which file each encoded buffer goes to. Pure logic, no GStreamer.
//!
//! Time on the record is cut into spans of at most `len`, starting at each switch onto the
//! record: a buffer's span follows from its timestamp (hearing clock) and the record switches
//! alone, so every stream of a file (video, audio) and every participant's track agree on the
//! boundaries without talking to each other. A file is named after its span's start and closed
//! once every one of its streams has moved past it. Video files start on a keyframe: frames
//! before the first keyframe of a span are dropped and a keyframe is asked for, ahead of each
//! planned boundary so that normally nothing is dropped.
use std::collections::BTreeMap;
use std::time::Duration;

use crate::state::Switch;

/// The planned span `[start, end)` of the file a buffer at `t` belongs to, or `None` when `t`
/// is off the record.
pub fn span_at(switches: &[Switch], len: Duration, t: Duration) -> Option<(Duration, Duration)> {
    let i = switches.iter().rposition(|s| s.at <= t)?;
    let s = &switches[i];
    if !s.on {
        return None;
    }
    let k = (t - s.at).as_nanos() / len.as_nanos().max(1);
    let start = s.at + len * k as u32;
    let mut end = start + len;
    if let Some(next) = switches.get(i + 1) {
        end = end.min(next.at);
    }
    Some((start, end))
}

/// What to do with one buffer.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Decision {
    /// Open the file for the span starting here before writing.
    pub open: Option<Duration>,
    /// Write the buffer to the file starting at `.0`, with timestamp `.1` (relative to it);
    /// `None`: drop it (off the record, or a video frame before the span's first keyframe).
    pub write: Option<(Duration, Duration)>,
    /// Close these files (keyed by their span's start): every stream has moved past them.
    pub close: Vec<Duration>,
    /// Ask the video encoder for a keyframe at this hearing time.
    pub keyframe_at: Option<Duration>,
}

#[derive(Debug)]
struct OpenFile {
    started: Vec<bool>,
    done: Vec<bool>,
    keyframe_asked: bool,
}

#[derive(Debug)]
pub struct Segmenter {
    len: Duration,
    needs_key: Vec<bool>,
    open: BTreeMap<Duration, OpenFile>,
    closed_up_to: Option<Duration>,
    asked_ahead: Option<Duration>,
}

/// How long before a planned boundary the encoder is asked for a keyframe there.
const KEYFRAME_LEAD: Duration = Duration::from_millis(500);

impl Segmenter {
    /// `needs_key[i]`: stream `i` is video and must start each file on a keyframe.
    pub fn new(len: Duration, needs_key: Vec<bool>) -> Self {
        assert!(!len.is_zero() && !needs_key.is_empty());
        Self {
            len,
            needs_key,
            open: BTreeMap::new(),
            closed_up_to: None,
            asked_ahead: None,
        }
    }

    pub fn route(
        &mut self,
        switches: &[Switch],
        stream: usize,
        pts: Duration,
        key: bool,
    ) -> Decision {
        let mut d = Decision::default();
        let span = span_at(switches, self.len, pts);
        // this stream has moved past every open file that starts earlier than this buffer's span
        let here = span.map(|(s, _)| s);
        for (start, f) in self.open.iter_mut() {
            if Some(*start) != here && *start <= pts {
                f.done[stream] = true;
            }
        }
        let finished: Vec<Duration> = self
            .open
            .iter()
            .filter(|(_, f)| f.done.iter().all(|d| *d))
            .map(|(s, _)| *s)
            .collect();
        for s in &finished {
            self.open.remove(s);
            self.closed_up_to = self.closed_up_to.max(Some(*s));
        }
        d.close = finished;
        let Some((start, end)) = span else {
            return d;
        };
        if self.closed_up_to.is_some_and(|c| start <= c) {
            // a straggler for a file already closed: it cannot be reopened
            return d;
        }
        let n = self.needs_key.len();
        let needs_key = self.needs_key[stream];
        let f = self.open.entry(start).or_insert_with(|| {
            d.open = Some(start);
            OpenFile {
                started: vec![false; n],
                done: vec![false; n],
                keyframe_asked: false,
            }
        });
        if needs_key && !f.started[stream] && !key {
            if !f.keyframe_asked {
                f.keyframe_asked = true;
                d.keyframe_at = Some(pts);
            }
            return d;
        }
        f.started[stream] = true;
        d.write = Some((start, pts - start));
        if needs_key && end.saturating_sub(pts) <= KEYFRAME_LEAD && self.asked_ahead != Some(end) {
            self.asked_ahead = Some(end);
            d.keyframe_at = Some(end);
        }
        d
    }

    /// Files still open whose planned end is more than `grace` before `now` (a stream stopped
    /// producing): close them anyway.
    pub fn overdue(
        &mut self,
        switches: &[Switch],
        now: Duration,
        grace: Duration,
    ) -> Vec<Duration> {
        let late: Vec<Duration> = self
            .open
            .keys()
            .copied()
            .filter(|s| match span_at(switches, self.len, *s) {
                Some((_, end)) => end + grace < now,
                None => true,
            })
            .collect();
        for s in &late {
            self.open.remove(s);
            self.closed_up_to = self.closed_up_to.max(Some(*s));
        }
        late
    }

    /// Every file still open, to be closed when the room stops.
    pub fn finish(&mut self) -> Vec<Duration> {
        let all: Vec<Duration> = self.open.keys().copied().collect();
        self.open.clear();
        all
    }
}

/// The file name of the mixed recording for the span starting at `start` (hearing clock), so
/// names sort in time order and never collide, even across a restart.
pub fn mix_file_name(start: Duration) -> String {
    format!("mix-{:010}.mkv", start.as_millis())
}

pub fn track_file_name(id: &str, start: Duration) -> String {
    format!("track-{id}-{:010}.mka", start.as_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }
    fn sw(v: &[(u64, bool)]) -> Vec<Switch> {
        v.iter()
            .map(|(t, on)| Switch {
                at: ms(*t),
                on: *on,
            })
            .collect()
    }

    #[test]
    fn spans_follow_switches_and_length() {
        let s = sw(&[(0, true), (25_000, false), (30_000, true)]);
        let len = ms(10_000);
        assert_eq!(span_at(&s, len, ms(0)), Some((ms(0), ms(10_000))));
        assert_eq!(span_at(&s, len, ms(19_999)), Some((ms(10_000), ms(20_000))));
        assert_eq!(span_at(&s, len, ms(24_000)), Some((ms(20_000), ms(25_000))));
        assert_eq!(span_at(&s, len, ms(27_000)), None);
        assert_eq!(span_at(&s, len, ms(31_000)), Some((ms(30_000), ms(40_000))));
    }

    #[test]
    fn names_sort_in_time_order() {
        assert!(mix_file_name(ms(9_000)) < mix_file_name(ms(10_000)));
        assert_eq!(track_file_name("w1", ms(1500)), "track-w1-0000001500.mka");
    }

    /// Feeds video (stream 0, keyframe every `gop` frames at 25 fps) and audio (stream 1, 20 ms)
    /// interleaved as they would arrive, and returns (opened, closed, written per file).
    fn run(
        switches: &[Switch],
        len: Duration,
        total_ms: u64,
        gop: u64,
    ) -> Vec<(Duration, u64, u64)> {
        let mut seg = Segmenter::new(len, vec![true, false]);
        let mut files: BTreeMap<Duration, (u64, u64, bool)> = BTreeMap::new();
        let mut forced: Vec<Duration> = vec![]; // keyframe requests not yet honoured
        let apply =
            |d: Decision, stream: usize, files: &mut BTreeMap<Duration, (u64, u64, bool)>| {
                if let Some(o) = d.open {
                    assert!(files.insert(o, (0, 0, false)).is_none(), "opened twice");
                }
                if let Some((f, _)) = d.write {
                    let e = files.get_mut(&f).unwrap();
                    assert!(!e.2, "write after close");
                    if stream == 0 {
                        e.0 += 1
                    } else {
                        e.1 += 1
                    }
                }
                for c in d.close {
                    files.get_mut(&c).unwrap().2 = true;
                }
                d.keyframe_at
            };
        let mut frame = 0u64;
        for t in (0..total_ms).step_by(20) {
            let d = seg.route(switches, 1, ms(t), true);
            if let Some(k) = apply(d, 1, &mut files) {
                forced.push(k);
            }
            if t % 40 == 0 {
                let pts = ms(t);
                let key = frame.is_multiple_of(gop) || forced.iter().any(|k| *k <= pts);
                if key {
                    forced.clear();
                }
                frame += 1;
                let d = seg.route(switches, 0, pts, key);
                if let Some(k) = apply(d, 0, &mut files) {
                    forced.push(k);
                }
            }
        }
        for c in seg.finish() {
            files.get_mut(&c).unwrap().2 = true;
        }
        files
            .into_iter()
            .map(|(s, (v, a, closed))| {
                assert!(closed);
                (s, v, a)
            })
            .collect()
    }

    #[test]
    fn every_on_record_buffer_lands_in_exactly_one_file() {
        let s = sw(&[(0, true), (25_000, false), (30_000, true)]);
        let files = run(&s, ms(10_000), 42_000, 1000);
        let starts: Vec<u64> = files.iter().map(|f| f.0.as_millis() as u64).collect();
        assert_eq!(starts, vec![0, 10_000, 20_000, 30_000, 40_000]);
        // 25 fps video and 50/s audio, all of it on the record; keyframes were forced in time
        let (v, a): (u64, u64) = files
            .iter()
            .fold((0, 0), |acc, f| (acc.0 + f.1, acc.1 + f.2));
        assert_eq!(a, (25_000 + 12_000) / 20);
        // only the frames after going back on record, before the forced keyframe, are dropped
        assert!(v >= (25_000 + 12_000) / 40 - 1, "video frames {v}");
        assert_eq!(files[0].1, 250);
        assert_eq!(files[2].2, 5_000 / 20);
    }

    #[test]
    fn overdue_files_are_closed() {
        let s = sw(&[(0, true)]);
        let mut seg = Segmenter::new(ms(1000), vec![false, false]);
        let d = seg.route(&s, 0, ms(10), true);
        assert_eq!(d.open, Some(ms(0)));
        assert!(seg.overdue(&s, ms(1500), ms(1000)).is_empty());
        assert_eq!(seg.overdue(&s, ms(2500), ms(1000)), vec![ms(0)]);
        // stream 1 never started; a straggler for the closed file is dropped
        assert_eq!(seg.route(&s, 1, ms(900), true).write, None);
    }

    /// One video and one audio stream over a span boundary at 10 s (the record went on at 2 s,
    /// files are 8 s): each decision exactly.
    #[test]
    fn decisions_at_a_boundary() {
        let on = sw(&[(2_000, true)]);
        let mut s = Segmenter::new(ms(8_000), vec![true, false]);
        // Video opens the first file on a keyframe; timestamps are relative to the file.
        assert_eq!(
            s.route(&on, 0, ms(3_000), true),
            Decision {
                open: Some(ms(2_000)),
                write: Some((ms(2_000), ms(1_000))),
                ..Decision::default()
            }
        );
        // Audio is never asked for keyframes, even just before the boundary.
        assert_eq!(
            s.route(&on, 1, ms(9_800), false),
            Decision {
                write: Some((ms(2_000), ms(7_800))),
                ..Decision::default()
            }
        );
        // Video far from the boundary asks nothing; within the lead it asks once for the
        // boundary itself.
        assert_eq!(
            s.route(&on, 0, ms(9_000), false),
            Decision {
                write: Some((ms(2_000), ms(7_000))),
                ..Decision::default()
            }
        );
        assert_eq!(
            s.route(&on, 0, ms(9_600), false),
            Decision {
                write: Some((ms(2_000), ms(7_600))),
                keyframe_at: Some(ms(10_000)),
                ..Decision::default()
            }
        );
        assert_eq!(s.route(&on, 0, ms(9_700), false).keyframe_at, None);
        // Video moves on to the next file: the first stays open until audio moves on too.
        assert_eq!(
            s.route(&on, 0, ms(10_000), true),
            Decision {
                open: Some(ms(10_000)),
                write: Some((ms(10_000), ms(0))),
                ..Decision::default()
            }
        );
        assert_eq!(
            s.route(&on, 1, ms(10_020), false),
            Decision {
                write: Some((ms(10_000), ms(20))),
                close: vec![ms(2_000)],
                ..Decision::default()
            }
        );
    }

    /// A file is overdue only once its planned end is more than `grace` behind.
    #[test]
    fn overdue_means_more_than_the_grace() {
        let s = sw(&[(0, true)]);
        let mut seg = Segmenter::new(ms(1000), vec![false]);
        assert_eq!(seg.route(&s, 0, ms(10), true).open, Some(ms(0)));
        assert_eq!(seg.overdue(&s, ms(2000), ms(1000)), Vec::<Duration>::new());
        assert_eq!(seg.overdue(&s, ms(2001), ms(1000)), vec![ms(0)]);
    }
}
