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

/// Speech regions of a whole 16 kHz track, padded, merged where they touch, clipped to the track.
pub fn detect(samples: &[f32], params: VadParams) -> Vec<Region> {
    let mut detector = earshot::Detector::default();
    let mut seg = Segmenter::new(params);
    let mut raw = Vec::new();
    for frame in samples.chunks(FRAME) {
        let score = if frame.len() == FRAME {
            detector.predict_f32(frame)
        } else {
            let mut padded = [0f32; FRAME];
            padded[..frame.len()].copy_from_slice(frame);
            detector.predict_f32(&padded)
        };
        raw.extend(seg.push(score));
    }
    raw.extend(seg.finish());
    let len_ms = samples.len() as u64 * 1000 / u64::from(crate::audio::SAMPLE_RATE);
    let mut regions = merge(raw, len_ms);
    regions.retain(|r| !is_noise(samples, *r, params));
    regions
}

/// Whether a region sounds like broadband noise rather than speech (see [`VadParams::max_zcr`]).
pub fn is_noise(samples: &[f32], r: Region, params: VadParams) -> bool {
    let per_ms = (crate::audio::SAMPLE_RATE / 1000) as u64;
    let a = ((r.start_ms * per_ms) as usize).min(samples.len());
    let b = ((r.end_ms * per_ms) as usize).min(samples.len());
    let mut rates: Vec<f32> = samples[a..b]
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
    fn silence_has_no_regions() {
        assert!(detect(&vec![0.0; 16_000 * 3], VadParams::default()).is_empty());
    }
}
