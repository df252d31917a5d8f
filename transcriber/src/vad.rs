//! Voice activity: which parts of a track hold speech. Only those parts go to Whisper, so
//! silence costs almost nothing and cannot be turned into invented text.
//!
//! earshot (pure Rust, no model file) scores 16 ms frames; a small hysteresis turns scores into
//! regions, which are padded and merged.

/// Frame length earshot takes: 256 samples = 16 ms at 16 kHz.
pub const FRAME: usize = 256;
const FRAME_MS: u64 = 16;

/// Tuning of [`detect`]; the defaults suit conversational speech on a close microphone.
#[derive(Debug, Clone, Copy)]
pub struct VadParams {
    /// Score at or above which a frame counts as speech.
    pub threshold: f32,
    /// Silence this long ends a region.
    pub min_silence_ms: u64,
    /// Regions shorter than this (after hysteresis, before padding) are dropped as clicks.
    pub min_speech_ms: u64,
    /// Added before and after each region so word edges are not clipped.
    pub pad_ms: u64,
    /// A region whose median per-frame zero-crossing rate is above this is noise, not speech.
    /// earshot scores loud broadband hiss as voice (every frame of white noise at half scale
    /// scored ≥ 0.5 here), and Whisper turns such a region into invented sentences. Measured on
    /// espeak-ng speech: 0.11–0.17 (a fricative-heavy sentence the highest); white noise: 0.50.
    pub max_zcr: f32,
}

impl Default for VadParams {
    fn default() -> Self {
        VadParams {
            threshold: 0.5,
            min_silence_ms: 600,
            min_speech_ms: 200,
            pad_ms: 200,
            max_zcr: 0.35,
        }
    }
}

/// A speech region in milliseconds from the start of the track, `start_ms < end_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub start_ms: u64,
    pub end_ms: u64,
}

/// Turns per-frame speech decisions into regions; kept separate from earshot so streaming
/// callers feed frames as they arrive.
#[derive(Debug)]
pub struct Segmenter {
    params: VadParams,
    frames: u64,
    /// First frame of the current run of speech, if in one.
    speech_start: Option<u64>,
    /// Last speech frame seen.
    last_speech: u64,
}

impl Segmenter {
    pub fn new(params: VadParams) -> Self {
        Segmenter {
            params,
            frames: 0,
            speech_start: None,
            last_speech: 0,
        }
    }

    /// Feeds one frame's score; returns a region when the frame ends one (after the silence).
    pub fn push(&mut self, score: f32) -> Option<Region> {
        let i = self.frames;
        self.frames += 1;
        if score >= self.params.threshold {
            self.speech_start.get_or_insert(i);
            self.last_speech = i;
            return None;
        }
        let start = self.speech_start?;
        if (i - self.last_speech) * FRAME_MS >= self.params.min_silence_ms {
            self.speech_start = None;
            return self.region(start, self.last_speech);
        }
        None
    }

    /// Ends the stream: the open region, if any.
    pub fn finish(&mut self) -> Option<Region> {
        let start = self.speech_start.take()?;
        self.region(start, self.last_speech)
    }

    /// Start (ms) of the region in progress, if speech is going on.
    pub fn in_speech_since(&self) -> Option<u64> {
        self.speech_start.map(|f| f * FRAME_MS)
    }

    /// Milliseconds seen so far.
    pub fn position_ms(&self) -> u64 {
        self.frames * FRAME_MS
    }

    fn region(&self, first: u64, last: u64) -> Option<Region> {
        let start = first * FRAME_MS;
        let end = (last + 1) * FRAME_MS;
        if end - start < self.params.min_speech_ms {
            return None;
        }
        Some(Region {
            start_ms: start.saturating_sub(self.params.pad_ms),
            end_ms: end + self.params.pad_ms,
        })
    }
}

/// A speech region with its samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Speech {
    pub region: Region,
    pub samples: Vec<f32>,
}

const PER_MS: usize = (crate::audio::SAMPLE_RATE / 1000) as usize;

/// Streaming voice activity over one track: fed chunks as they are decoded (or as they arrive
/// live), it returns each speech region with its samples once the region has ended, and keeps
/// only the audio a future region can still need, so a long track is never held in memory.
pub struct Scanner {
    detector: earshot::Detector,
    segmenter: Segmenter,
    params: VadParams,
    /// Samples from track index `base` on.
    buf: Vec<f32>,
    base: usize,
    /// Samples at the end of `buf` not yet scored (less than a frame).
    pending: usize,
}

impl Scanner {
    pub fn new(params: VadParams) -> Self {
        Scanner {
            detector: earshot::Detector::default(),
            segmenter: Segmenter::new(params),
            params,
            buf: Vec::new(),
            base: 0,
            pending: 0,
        }
    }

    /// Feeds 16 kHz mono samples; returns the regions that ended within them.
    pub fn push(&mut self, chunk: &[f32]) -> Vec<Speech> {
        self.buf.extend_from_slice(chunk);
        self.pending += chunk.len();
        let mut out = Vec::new();
        while self.pending >= FRAME {
            let start = self.buf.len() - self.pending;
            let score = score(&mut self.detector, &self.buf[start..start + FRAME]);
            self.pending -= FRAME;
            if let Some(r) = self.segmenter.push(score) {
                out.extend(self.take(r));
            }
        }
        self.trim();
        out
    }

    /// Ends the track: the last region, if one is open, and the track's length in ms.
    pub fn finish(mut self) -> (Vec<Speech>, u64) {
        let mut out = Vec::new();
        if self.pending > 0 {
            let mut frame = [0f32; FRAME];
            frame[..self.pending].copy_from_slice(&self.buf[self.buf.len() - self.pending..]);
            let score = score(&mut self.detector, &frame);
            if let Some(r) = self.segmenter.push(score) {
                out.extend(self.take(r));
            }
        }
        if let Some(r) = self.segmenter.finish() {
            out.extend(self.take(r));
        }
        let len_ms = ((self.base + self.buf.len()) / PER_MS) as u64;
        (out, len_ms)
    }

    /// Where the audio it still holds begins (ms from the track start): no region it returns
    /// from now on starts earlier.
    pub fn kept_from_ms(&self) -> u64 {
        (self.base / PER_MS) as u64
    }

    /// The samples of `r` (clipped to what the track has), unless they are noise.
    fn take(&self, r: Region) -> Option<Speech> {
        let a = (r.start_ms as usize * PER_MS).max(self.base);
        let b = (r.end_ms as usize * PER_MS).min(self.base + self.buf.len());
        if b <= a {
            return None;
        }
        let samples = self.buf[a - self.base..b - self.base].to_vec();
        if noise_like(&samples, self.params) {
            return None;
        }
        let region = Region {
            start_ms: (a / PER_MS) as u64,
            end_ms: (b / PER_MS) as u64,
        };
        Some(Speech { region, samples })
    }

    /// Drops audio before the padding of the open region, or, in silence, before the padding a
    /// region starting now would get.
    fn trim(&mut self) {
        let keep_from_ms = match self.segmenter.in_speech_since() {
            Some(start_ms) => start_ms.saturating_sub(self.params.pad_ms),
            None => self
                .segmenter
                .position_ms()
                .saturating_sub(self.params.pad_ms + 100),
        };
        let keep_from = keep_from_ms as usize * PER_MS;
        if keep_from > self.base {
            let drop = (keep_from - self.base).min(self.buf.len() - self.pending);
            let drop = drop - drop % PER_MS;
            self.buf.drain(..drop);
            self.base += drop;
        }
    }
}

/// earshot's score for one frame. Decoded and resampled audio can overshoot full scale (a loud
/// voice through Opus, a resampler's ringing), and earshot takes only [-1, 1] (in a debug build
/// it panics, which stopped a hearing's live captions), so the frame is clipped first.
fn score(detector: &mut earshot::Detector, frame: &[f32]) -> f32 {
    let mut clipped = [0f32; FRAME];
    for (c, s) in clipped.iter_mut().zip(frame) {
        *c = s.clamp(-1.0, 1.0);
    }
    detector.predict_f32(&clipped)
}

/// Speech regions of a whole 16 kHz track, padded and clipped to the track, noise dropped.
pub fn detect(samples: &[f32], params: VadParams) -> Vec<Region> {
    let mut scanner = Scanner::new(params);
    let mut out: Vec<Region> = scanner
        .push(samples)
        .into_iter()
        .map(|s| s.region)
        .collect();
    out.extend(scanner.finish().0.into_iter().map(|s| s.region));
    out
}

/// Whether region `r` of `samples` sounds like broadband noise rather than speech (see
/// [`VadParams::max_zcr`]).
pub fn is_noise(samples: &[f32], r: Region, params: VadParams) -> bool {
    let a = (r.start_ms as usize * PER_MS).min(samples.len());
    let b = (r.end_ms as usize * PER_MS).min(samples.len());
    noise_like(&samples[a..b], params)
}

fn noise_like(samples: &[f32], params: VadParams) -> bool {
    let mut rates: Vec<f32> = samples
        .chunks_exact(FRAME)
        .map(|f| {
            let crossings = f
                .windows(2)
                .filter(|w| (w[0] >= 0.0) != (w[1] >= 0.0))
                .count();
            crossings as f32 / (FRAME - 1) as f32
        })
        .collect();
    if rates.is_empty() {
        return false;
    }
    let mid = rates.len() / 2;
    let (_, median, _) = rates.select_nth_unstable_by(mid, f32::total_cmp);
    *median > params.max_zcr
}

/// Merges overlapping or touching regions and clips them to `len_ms`.
pub fn merge(mut regions: Vec<Region>, len_ms: u64) -> Vec<Region> {
    regions.sort_by_key(|r| r.start_ms);
    let mut out: Vec<Region> = Vec::new();
    for mut r in regions {
        r.end_ms = r.end_ms.min(len_ms);
        if r.start_ms >= r.end_ms {
            continue;
        }
        match out.last_mut() {
            Some(last) if r.start_ms <= last.end_ms => last.end_ms = last.end_ms.max(r.end_ms),
            _ => out.push(r),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(scores: &[f32]) -> Vec<Region> {
        let mut s = Segmenter::new(VadParams::default());
        let mut out: Vec<Region> = scores.iter().filter_map(|&x| s.push(x)).collect();
        out.extend(s.finish());
        out
    }

    #[test]
    fn hysteresis_pads_and_drops_clicks() {
        // 10 frames silence, 50 speech (800 ms), 100 silence, one click frame, silence.
        let mut scores = vec![0.0; 10];
        scores.extend([0.9; 50]);
        scores.extend([0.1; 100]);
        scores.push(0.9);
        scores.extend([0.1; 100]);
        assert_eq!(
            run(&scores),
            vec![Region {
                start_ms: 0,
                end_ms: 960 + 200
            }]
        );
    }

    #[test]
    fn short_pauses_do_not_split() {
        let mut scores = vec![0.9; 30];
        scores.extend([0.0; 20]); // 320 ms pause < 600 ms
        scores.extend([0.9; 30]);
        let r = run(&scores);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].end_ms, 80 * 16 + 200);
    }

    #[test]
    fn merge_clips_and_joins() {
        let r = merge(
            vec![
                Region {
                    start_ms: 900,
                    end_ms: 2000,
                },
                Region {
                    start_ms: 0,
                    end_ms: 1000,
                },
            ],
            1500,
        );
        assert_eq!(
            r,
            vec![Region {
                start_ms: 0,
                end_ms: 1500
            }]
        );
    }

    #[test]
    fn white_noise_is_not_speech() {
        let mut x: u32 = 1;
        let noise: Vec<f32> = (0..16_000 * 3)
            .map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (x >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect();
        assert!(is_noise(
            &noise,
            Region {
                start_ms: 0,
                end_ms: 3000
            },
            VadParams::default()
        ));
        assert!(detect(&noise, VadParams::default()).is_empty());
        // A 200 Hz tone crosses zero 400 times a second: voiced-speech-like, kept.
        let tone: Vec<f32> = (0..16_000)
            .map(|i| (i as f32 * 200.0 * std::f32::consts::TAU / 16_000.0).sin())
            .collect();
        assert!(!is_noise(
            &tone,
            Region {
                start_ms: 0,
                end_ms: 1000
            },
            VadParams::default()
        ));
    }

    #[test]
    fn scanner_in_chunks_equals_scanner_at_once_and_keeps_little() {
        let tone: Vec<f32> = (0..16_000)
            .map(|i| 0.3 * (i as f32 * 220.0 * std::f32::consts::TAU / 16_000.0).sin())
            .collect();
        let track = [
            vec![0.0; 16_000],
            tone.clone(),
            vec![0.0; 48_000],
            tone,
            vec![0.0; 48_000],
        ]
        .concat();
        let whole = detect(&track, VadParams::default());
        let mut s = Scanner::new(VadParams::default());
        let mut chunked = Vec::new();
        let mut max_buf = 0;
        for c in track.chunks(1000) {
            chunked.extend(s.push(c).into_iter().map(|x| x.region));
            max_buf = max_buf.max(s.buf.len());
        }
        chunked.extend(s.finish().0.into_iter().map(|x| x.region));
        assert_eq!(whole, chunked);
        assert!(max_buf < 16_000 * 3, "buffer grew to {max_buf} samples");
    }

    #[test]
    fn audio_past_full_scale_is_scored_clipped() {
        // A 220 Hz tone peaking at 1.5: earshot panics on it unclipped (debug builds).
        let loud: Vec<f32> = (0..16_000)
            .map(|i| 1.5 * (i as f32 * 220.0 * std::f32::consts::TAU / 16_000.0).sin())
            .collect();
        let clipped: Vec<f32> = loud.iter().map(|s| s.clamp(-1.0, 1.0)).collect();
        let track = |tone: &[f32]| [vec![0.0; 16_000], tone.to_vec(), vec![0.0; 32_000]].concat();
        let mut s = Scanner::new(VadParams::default());
        let mut regions: Vec<Region> = s
            .push(&track(&loud))
            .into_iter()
            .map(|x| x.region)
            .collect();
        regions.extend(s.finish().0.into_iter().map(|x| x.region));
        assert_eq!(regions, detect(&track(&clipped), VadParams::default()));
    }

    #[test]
    fn silence_has_no_regions() {
        assert!(detect(&vec![0.0; 16_000 * 3], VadParams::default()).is_empty());
    }
}
