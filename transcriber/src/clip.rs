//! A track's speech regions joined into one clip for Whisper, and the way back from clip time to
//! track time.
//!
//! whisper.cpp always encodes a full 30 s window, so decoding each region on its own costs a
//! window per sentence. Joining the regions (each keeps its padding of silence) fills windows with
//! speech, as faster-whisper does with its VAD; the silence between regions is still never
//! decoded, and words are mapped back to the region they were spoken in.
use std::borrow::Cow;

use crate::audio::SAMPLE_RATE;
use crate::transcript::Word;
use crate::vad::Speech;

/// One region inside the clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    /// Index of the [`Source`] it came from.
    pub track: usize,
    pub clip_start_ms: u64,
    /// Start on the hearing clock (the region start plus the track's offset).
    pub track_start_ms: u64,
    pub len_ms: u64,
    /// Where the speech begins on the clock (the region start without its padding).
    pub onset_ms: u64,
}

/// One track's speech regions (with their 16 kHz samples) and where the track starts on the
/// hearing clock.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub speech: &'a [Speech],
    pub offset_ms: u64,
}

/// Where each region sits in the joined clip. The samples stay where the VAD left them (a
/// hearing's speech can run to gigabytes); a window's are joined when it is decoded.
#[derive(Debug, Clone, Default)]
pub struct Clip<'a> {
    pub chunks: Vec<Chunk>,
    /// The samples of each chunk: borrowed from the VAD's regions, or owned by a clip made for
    /// one window of a hearing being read.
    parts: Vec<Cow<'a, [f32]>>,
    /// The clip's length.
    pub len_ms: u64,
    /// The silence between consecutive chunks.
    gap_ms: u64,
}

const SAMPLES_PER_MS: u64 = SAMPLE_RATE as u64 / 1000;

/// Joins the regions of every source in hearing-clock order, so all tracks share Whisper's
/// 30 s windows (overlapping speech is placed one after the other, never mixed); `pad_ms` is the
/// padding the VAD added to each region.
/// `gap_ms` of silence goes between consecutive regions; a clip time in a gap belongs to the
/// region before it.
pub fn build<'a>(sources: &[Source<'a>], pad_ms: u64, gap_ms: u64) -> Clip<'a> {
    let mut items: Vec<Piece<'a>> = sources
        .iter()
        .enumerate()
        .flat_map(|(i, s)| {
            s.speech.iter().map(move |sp| Piece {
                track: i,
                clock_ms: s.offset_ms + sp.region.start_ms,
                samples: Cow::Borrowed(&sp.samples),
            })
        })
        .collect();
    items.sort_by_key(|p| (p.clock_ms, p.track));
    from_pieces(items, pad_ms, gap_ms)
}

/// One region on its way into a clip: the track it came from, where it starts on the hearing
/// clock (padding included) and its samples.
#[derive(Debug, Clone)]
pub struct Piece<'a> {
    pub track: usize,
    pub clock_ms: u64,
    pub samples: Cow<'a, [f32]>,
}

impl Piece<'_> {
    /// Its length in whole milliseconds, the length its chunk gets.
    pub fn len_ms(&self) -> u64 {
        self.samples.len() as u64 / SAMPLES_PER_MS
    }
}

/// A clip of `pieces`, already in clock order (see [`build`]); pieces without samples are left
/// out.
pub fn from_pieces<'a>(pieces: Vec<Piece<'a>>, pad_ms: u64, gap_ms: u64) -> Clip<'a> {
    let mut clip = Clip {
        gap_ms,
        ..Clip::default()
    };
    for p in pieces {
        let len_ms = p.len_ms();
        if len_ms == 0 {
            continue;
        }
        if !clip.chunks.is_empty() {
            clip.len_ms += gap_ms;
        }
        clip.chunks.push(Chunk {
            track: p.track,
            clip_start_ms: clip.len_ms,
            track_start_ms: p.clock_ms,
            len_ms,
            onset_ms: p.clock_ms + pad_ms.min(len_ms / 2),
        });
        let n = (len_ms * SAMPLES_PER_MS) as usize;
        clip.parts.push(match p.samples {
            Cow::Borrowed(s) => Cow::Borrowed(&s[..n]),
            Cow::Owned(mut v) => {
                v.truncate(n);
                Cow::Owned(v)
            }
        });
        clip.len_ms += len_ms;
    }
    clip
}

/// Decides where windows end as chunks arrive one by one in clip order, the way
/// [`Clip::windows`] cuts a whole clip, so a clip built a window at a time (a hearing read as it
/// is decoded) is cut exactly as the whole clip would be.
#[derive(Debug, Clone)]
pub struct Packer {
    max_ms: u64,
    gap_ms: u64,
    /// Length of the window being filled, if one is.
    open_ms: Option<u64>,
}

impl Packer {
    pub fn new(max_ms: u64, gap_ms: u64) -> Self {
        Packer {
            max_ms,
            gap_ms,
            open_ms: None,
        }
    }

    /// Whether a chunk of `len_ms` joins the window being filled; if not, it starts the next.
    pub fn joins(&mut self, len_ms: u64) -> bool {
        match self.open_ms {
            Some(open) if open + self.gap_ms + len_ms <= self.max_ms => {
                self.open_ms = Some(open + self.gap_ms + len_ms);
                true
            }
            _ => {
                self.open_ms = Some(len_ms);
                false
            }
        }
    }
}

/// A stretch of the clip given to Whisper in one call: whole chunks, `start_ms..end_ms` in clip
/// time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start_ms: u64,
    pub end_ms: u64,
    /// Total length of the chunks it holds (without the gaps between them).
    pub speech_ms: u64,
}

impl Clip<'_> {
    /// The samples of `w`: its chunks' own, with silence in the gaps between them.
    pub fn samples(&self, w: &Window) -> Vec<f32> {
        let at = |ms: u64| (ms * SAMPLES_PER_MS) as usize;
        let mut out = vec![0.0; at(w.end_ms - w.start_ms)];
        let range = self.chunks_in(w);
        for (c, part) in self.chunks[range.clone()].iter().zip(&self.parts[range]) {
            let from = at(c.clip_start_ms - w.start_ms);
            let n = part.len().min(out.len() - from);
            out[from..from + n].copy_from_slice(&part[..n]);
        }
        out
    }

    /// Cuts the clip into windows of whole chunks, each at most `max_ms` long where a chunk
    /// allows (a chunk longer than that is a window of its own, and Whisper walks through it in
    /// its own 30 s steps). Every window starts where a chunk starts, so no region is split and
    /// the encoder never sees part of a sentence twice.
    pub fn windows(&self, max_ms: u64) -> Vec<Window> {
        let mut packer = Packer::new(max_ms, self.gap_ms);
        let mut out: Vec<Window> = Vec::new();
        for c in &self.chunks {
            let end = c.clip_start_ms + c.len_ms;
            // False for the first chunk, which opens the first window.
            let joins = packer.joins(c.len_ms);
            match out.last_mut() {
                Some(w) if joins => {
                    w.end_ms = end;
                    w.speech_ms += c.len_ms;
                }
                _ => out.push(Window {
                    start_ms: c.clip_start_ms,
                    end_ms: end,
                    speech_ms: c.len_ms,
                }),
            }
        }
        out
    }

    /// The chunks window `w` holds, in order.
    pub fn chunks_in(&self, w: &Window) -> std::ops::Range<usize> {
        let first = self
            .chunks
            .partition_point(|c| c.clip_start_ms < w.start_ms);
        let end = self.chunks.partition_point(|c| c.clip_start_ms < w.end_ms);
        first..end.max(first)
    }

    /// A window of chunk `i` alone.
    pub fn window_of(&self, i: usize) -> Window {
        let c = &self.chunks[i];
        Window {
            start_ms: c.clip_start_ms,
            end_ms: c.clip_start_ms + c.len_ms,
            speech_ms: c.len_ms,
        }
    }

    /// The chunk a clip time falls in (times past the end belong to the last chunk).
    pub fn chunk_of(&self, clip_ms: u64) -> usize {
        self.chunks
            .partition_point(|c| c.clip_start_ms <= clip_ms)
            .saturating_sub(1)
    }

    /// Track time of `clip_ms`, kept inside chunk `i`.
    pub fn to_track(&self, i: usize, clip_ms: u64) -> u64 {
        let c = &self.chunks[i];
        c.track_start_ms + clip_ms.saturating_sub(c.clip_start_ms).min(c.len_ms)
    }

    /// Moves words from clip time to track time and splits them where they change chunk, so no
    /// segment spans the silence between two regions. Returns (chunk, words) runs in order.
    pub fn place(&self, words: Vec<Word>) -> Vec<(usize, Vec<Word>)> {
        let mut runs: Vec<(usize, Vec<Word>)> = Vec::new();
        for mut w in words {
            let i = self.chunk_of(w.start_ms);
            let start = self.to_track(i, w.start_ms);
            let end = self.to_track(i, w.end_ms).max(start + 1);
            w.start_ms = start;
            w.end_ms = end;
            match runs.last_mut() {
                Some((c, ws)) if *c == i => ws.push(w),
                _ => runs.push((i, vec![w])),
            }
        }
        runs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vad::Region;

    fn word(text: &str, start_ms: u64, end_ms: u64) -> Word {
        Word {
            start_ms,
            end_ms,
            text: text.into(),
            p: 1.0,
        }
    }

    /// The speech of `regions` (start and end ms) cut from `samples`, as the VAD hands it over.
    fn cut(samples: &[f32], regions: &[(u64, u64)]) -> Vec<Speech> {
        regions
            .iter()
            .map(|&(start_ms, end_ms)| Speech {
                region: Region { start_ms, end_ms },
                samples: samples[(start_ms * 16) as usize..(end_ms * 16) as usize].to_vec(),
            })
            .collect()
    }

    fn source(speech: &[Speech], offset_ms: u64) -> Source<'_> {
        Source { speech, offset_ms }
    }

    #[test]
    fn regions_join_and_words_map_back() {
        let samples = vec![0.1f32; 16 * 20_000];
        let regions = [(1000, 3000), (10_000, 11_000)];
        let speech = cut(&samples, &regions);
        let clip = build(&[source(&speech, 0)], 200, 0);
        assert_eq!(clip.len_ms, 3000);
        assert_eq!(clip.chunks[1].clip_start_ms, 2000);
        assert_eq!(clip.chunks[1].onset_ms, 10_200);
        let runs = clip.place(vec![
            word("a", 300, 900),
            word("b", 1900, 2100), // runs past its region: clipped to it
            word("c", 2300, 2600),
        ]);
        assert_eq!(runs.len(), 2);
        assert_eq!((runs[0].1[1].start_ms, runs[0].1[1].end_ms), (2900, 3000));
        assert_eq!(runs[1].0, 1);
        assert_eq!(
            (runs[1].1[0].start_ms, runs[1].1[0].end_ms),
            (10_300, 10_600)
        );
    }

    #[test]
    fn a_word_in_the_gap_stays_with_the_region_before_it() {
        let a = vec![0.5f32; 16 * 2000];
        let b = vec![0.25f32; 16 * 2000];
        let ra = cut(&a, &[(0, 1000)]);
        let rb = cut(&b, &[(1000, 2000)]);
        let clip = build(&[source(&ra, 0), source(&rb, 0)], 100, 600);
        assert_eq!(clip.len_ms, 2600);
        assert_eq!(clip.chunks[1].clip_start_ms, 1600);
        let samples = clip.samples(&clip.windows(30_000)[0]);
        assert_eq!(samples.len(), 16 * 2600);
        assert_eq!(samples[16 * 1300], 0.0);
        assert_eq!(samples[16 * 1700], 0.25);
        // a window of its own gets the chunk's samples from its start
        let second = clip.windows(1000)[1];
        assert_eq!((second.start_ms, second.end_ms), (1600, 2600));
        assert_eq!(clip.samples(&second), vec![0.25; 16 * 1000]);
        // "late" was said at the end of track 0's region but aligned 300 ms past it.
        let runs = clip.place(vec![word("late", 1300, 1500), word("next", 1700, 1900)]);
        assert_eq!(runs.len(), 2);
        assert_eq!((runs[0].0, runs[0].1[0].start_ms), (0, 1000));
        assert_eq!((runs[1].0, runs[1].1[0].start_ms), (1, 1100));
    }

    #[test]
    fn windows_hold_whole_chunks() {
        let chunk = |clip_start_ms, len_ms| Chunk {
            track: 0,
            clip_start_ms,
            track_start_ms: clip_start_ms,
            len_ms,
            onset_ms: clip_start_ms,
        };
        let clip = Clip {
            parts: Vec::new(),
            len_ms: 75_000,
            gap_ms: 0,
            chunks: vec![
                chunk(0, 10_000),
                chunk(10_000, 15_000),
                chunk(25_000, 8_000),
                chunk(33_000, 40_000),
                chunk(73_000, 2_000),
            ],
        };
        let windows = clip.windows(30_000);
        let w: Vec<_> = windows.iter().map(|w| (w.start_ms, w.end_ms)).collect();
        assert_eq!(
            w,
            [
                (0, 25_000),
                (25_000, 33_000),
                (33_000, 73_000),
                (73_000, 75_000)
            ]
        );
        // Progress counts each window's regions once.
        let ms: Vec<_> = windows.iter().map(|w| w.speech_ms).collect();
        assert_eq!(ms, [25_000, 8_000, 40_000, 2_000]);
        assert!(Clip::default().windows(30_000).is_empty());
        // A window's chunks, and a chunk as a window of its own.
        assert_eq!(clip.chunks_in(&windows[0]), 0..2);
        assert_eq!(clip.chunks_in(&windows[3]), 4..5);
        assert_eq!(
            clip.window_of(1),
            Window {
                start_ms: 10_000,
                end_ms: 25_000,
                speech_ms: 15_000
            }
        );
    }

    #[test]
    fn tracks_interleave_in_clock_order() {
        let a = vec![0.0f32; 16 * 10_000];
        let b = vec![1.0f32; 16 * 10_000];
        let ra = cut(&a, &[(0, 1000), (5000, 6000)]);
        let rb = cut(&b, &[(1000, 2000)]);
        let clip = build(&[source(&ra, 0), source(&rb, 2000)], 100, 0);
        let order: Vec<_> = clip
            .chunks
            .iter()
            .map(|c| (c.track, c.track_start_ms))
            .collect();
        assert_eq!(order, [(0, 0), (1, 3000), (0, 5000)]);
        let samples = clip.samples(&clip.windows(30_000)[0]);
        assert_eq!(samples[16 * 1000], 1.0);
        assert_eq!(samples[16 * 2000], 0.0);
        let runs = clip.place(vec![word("x", 1500, 1600), word("y", 2500, 2600)]);
        assert_eq!((runs[0].0, runs[0].1[0].start_ms), (1, 3500));
        assert_eq!((runs[1].0, runs[1].1[0].start_ms), (2, 5500));
    }
}
