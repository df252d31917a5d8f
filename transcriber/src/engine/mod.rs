//! Whisper inference over a track's speech regions: each region is decoded on its own (no
//! context carried between regions), segments that fail Whisper's no-speech and log-probability
//! guards are dropped, and words get DTW token times where the model has alignment heads.
use std::borrow::Cow;
use std::path::Path;

use whisper_rs::{
    DtwMode, DtwModelPreset, DtwParameters, FullParams, SamplingStrategy, WhisperContext,
    WhisperContextParameters, WhisperState,
};

mod parallel;
mod words;

pub use words::to_simplified;

use crate::audio::SAMPLE_RATE;
use crate::clip;
use crate::error::{Error, Result};
use crate::model::{self, ggml::Hparams};
use crate::transcript::{ModelInfo, Segment, Word};
use crate::vad::{Region, Speech};
use parallel::{one_by_one, side_by_side};
use words::{collapsed, join_words, only_symbols, pieces_of, words_from_pieces};

/// The spoken language to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Language {
    En,
    Zh,
    /// Let Whisper detect it (multilingual models only).
    Auto,
}

impl Language {
    fn code(self) -> Option<&'static str> {
        match self {
            Language::En => Some("en"),
            Language::Zh => Some("zh"),
            Language::Auto => None,
        }
    }
}

/// Decoding guards; the defaults are Whisper's own.
#[derive(Debug, Clone, Copy)]
pub struct Guards {
    /// A segment whose no-speech probability is above this …
    pub no_speech: f32,
    /// … and whose mean token log-probability is below this is dropped.
    pub logprob: f32,
    /// A segment whose mean log-probability is below this is dropped whatever else.
    pub min_logprob: f32,
}

impl Default for Guards {
    fn default() -> Self {
        Guards {
            no_speech: 0.6,
            logprob: -1.0,
            min_logprob: -1.5,
        }
    }
}

/// A loaded model.
pub struct Engine {
    ctx: WhisperContext,
    info: ModelInfo,
    hparams: Hparams,
    /// whisper.cpp times tokens by DTW over the model's alignment heads.
    dtw: bool,
}

impl Engine {
    /// Loads a ggml Whisper model; `--model PATH` with any whisper.cpp file works.
    pub fn load(path: &Path) -> Result<Self> {
        whisper_rs::install_logging_hooks();
        let hparams = model::check_ggml(path)?;
        let mut params = WhisperContextParameters::default();
        let preset = dtw_preset(&hparams);
        let dtw = preset.is_some();
        if let Some(preset) = preset {
            params.dtw_parameters(DtwParameters {
                mode: DtwMode::ModelPreset {
                    model_preset: preset,
                },
                ..DtwParameters::default()
            });
        }
        let path_str = path
            .to_str()
            .ok_or_else(|| Error::Invalid("model path is not UTF-8".into()))?;
        let ctx =
            WhisperContext::new_with_params(path_str, params).map_err(|e| Error::BadGgml {
                path: path.to_owned(),
                reason: format!("whisper.cpp refused it ({e})"),
            })?;
        let info = match model::Manifest::beside(path) {
            Some(m) => ModelInfo {
                name: m.name,
                sha256: m.sha256,
            },
            None => ModelInfo {
                name: path
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                sha256: model::sha256_file(path)?,
            },
        };
        Ok(Engine {
            ctx,
            info,
            hparams,
            dtw,
        })
    }

    pub fn hparams(&self) -> &Hparams {
        &self.hparams
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    pub fn is_multilingual(&self) -> bool {
        self.ctx.is_multilingual()
    }

    /// Checks a language against the model before any audio is decoded.
    pub fn check_language(&self, language: Language) -> Result<()> {
        if language != Language::En && !self.is_multilingual() {
            return Err(Error::Invalid(format!(
                "model {} is English-only; --language {} needs a multilingual model such as base",
                self.info.name,
                language.code().unwrap_or("auto")
            )));
        }
        Ok(())
    }

    /// A decoding session for one track (whisper.cpp keeps its buffers in the state).
    pub fn session(&self, language: Language, threads: usize) -> Result<Session<'_>> {
        self.check_language(language)?;
        Ok(Session {
            engine: self,
            states: vec![self.ctx.create_state()?],
            language,
            threads,
            guards: Guards::default(),
            pad_ms: crate::vad::VadParams::default().pad_ms,
            window_ms: WINDOW_MS,
            gap_ms: GAP_MS,
            full_context: false,
            detected: None,
        })
    }
}

/// Encoder positions (20 ms each) for a window of `len_ms`: the audio plus
/// [`CONTEXT_MARGIN_MS`], in steps of 64, at most the model's 30 s. A window longer than 30 s gets
/// the model's full context (0) and whisper.cpp's own 30 s steps through it.
fn audio_ctx(len_ms: u64, n_audio_ctx: i32) -> i32 {
    let full = n_audio_ctx.max(1) as u64;
    if len_ms >= full * 20 {
        return 0;
    }
    let positions = (len_ms + CONTEXT_MARGIN_MS).div_ceil(20).div_ceil(64) * 64;
    positions.min(full) as i32
}

/// The DTW alignment heads whisper.cpp ships for the standard model sizes, picked from the shape.
fn dtw_preset(h: &Hparams) -> Option<DtwModelPreset> {
    let english = h.n_vocab == 51864;
    Some(match (h.n_audio_layer, h.n_text_state, english) {
        (4, 384, true) => DtwModelPreset::TinyEn,
        (4, 384, false) => DtwModelPreset::Tiny,
        (6, 512, true) => DtwModelPreset::BaseEn,
        (6, 512, false) => DtwModelPreset::Base,
        (12, 768, true) => DtwModelPreset::SmallEn,
        (12, 768, false) => DtwModelPreset::Small,
        _ => return None,
    })
}

/// Transcribes the regions of one track.
pub struct Session<'e> {
    engine: &'e Engine,
    /// whisper.cpp states, one per window decoded at once (created as needed).
    states: Vec<WhisperState>,
    language: Language,
    threads: usize,
    pub guards: Guards,
    /// Padding the VAD put before each region (see [`crate::vad::VadParams::pad_ms`]).
    pub pad_ms: u64,
    /// Longest window of joined regions given to Whisper at once.
    pub window_ms: u64,
    /// Silence put between joined regions (see [`GAP_MS`]).
    pub gap_ms: u64,
    /// Encode every window over Whisper's full 30 s, as openai-whisper and faster-whisper do,
    /// instead of over the audio it holds (slower; for comparing with them).
    pub full_context: bool,
    /// The language Whisper reported for the last region.
    pub detected: Option<String>,
}

/// The longest window of joined regions. whisper.cpp's encoder cost grows faster than the audio
/// (attention is quadratic), so windows shorter than Whisper's 30 s, encoded over only what they
/// hold, cost less per second; much shorter ones lose words (too little context). 20 s was the
/// best of 10–30 s in `scripts/bench-transcriber.sh` (docs/BENCHMARKS.md).
pub const WINDOW_MS: u64 = 20_000;

/// Silence between joined regions. DTW places words a little late, so a region's last word can
/// land past its end; in the gap it still belongs to its region (and speaker) instead of the
/// next one, which is usually someone else's.
pub const GAP_MS: u64 = 600;

/// Silence encoded after a window's audio. Whisper was trained on 30 s windows mostly ending in
/// silence or padding; without this margin, short windows lost words at their ends. 0.5 s lost
/// words; 1.5 s kept the words of 3 s on both benchmark recordings with tiny.en and base, for
/// 5–10 % less CPU (docs/BENCHMARKS.md).
const CONTEXT_MARGIN_MS: u64 = 1_500;

impl Session<'_> {
    /// Segments of one region of `samples` (16 kHz, the whole track), times in ms from the start
    /// of the track. `speaker` labels them.
    pub fn region(
        &mut self,
        samples: &[f32],
        region: Region,
        speaker: &str,
    ) -> Result<Vec<Segment>> {
        let a = (region.start_ms as usize * 16).min(samples.len());
        let b = (region.end_ms as usize * 16).min(samples.len());
        let speech = [Speech {
            region,
            samples: samples[a..b].to_vec(),
        }];
        self.decode(
            &[clip::Source {
                speech: &speech,
                offset_ms: 0,
            }],
            &[speaker],
        )
    }

    /// Segments of the regions of several tracks, joined into one clip in hearing-clock order
    /// (see [`crate::clip`]); times are on the hearing clock, `speakers[i]` labels source `i`.
    ///
    /// The clip goes to Whisper in windows of whole regions of at most `window_ms`, and each
    /// window's encoder runs only over the audio it has (`audio_ctx`): whisper.cpp otherwise
    /// encodes a full 30 s whatever a window holds, and the encoder is most of the cost.
    pub fn decode(
        &mut self,
        sources: &[clip::Source<'_>],
        speakers: &[&str],
    ) -> Result<Vec<Segment>> {
        self.decode_reporting(sources, speakers, &|_| {})
    }

    /// [`Session::decode`], calling `done(ms)` as each window is finished with the length of the
    /// regions it held (their sum over all windows is the regions' total length).
    pub fn decode_reporting(
        &mut self,
        sources: &[clip::Source<'_>],
        speakers: &[&str],
        done: &(dyn Fn(u64) + Sync),
    ) -> Result<Vec<Segment>> {
        let clip = clip::build(sources, self.pad_ms, self.gap_ms);
        let windows = clip.windows(self.window_ms);
        tracing::debug!(
            chunks = clip.chunks.len(),
            windows = windows.len(),
            clip_ms = clip.len_ms,
            "decoding a joined clip"
        );
        let mut windows = windows.into_iter();
        let clip = &clip;
        let workers = self.threads.min(windows.len());
        self.decode_windows(
            workers,
            &mut || Ok(windows.next().map(|w| (Cow::Borrowed(clip), w))),
            speakers,
            done,
        )
    }

    /// A window packer with this session's settings, for callers that build the clip a window
    /// at a time (see [`Session::decode_windows`]).
    pub fn packer(&self) -> clip::Packer {
        clip::Packer::new(self.window_ms, self.gap_ms)
    }

    /// Decodes the windows `next` hands out, in that order, until it returns `None`, on
    /// `workers` whisper.cpp states side by side. Windows share nothing (no context is carried
    /// over), so each worker takes the next window as it is free, with its share of the threads:
    /// ggml's threads within one small product mostly wait for each other. `next` runs on this
    /// thread, so it may read audio while the workers decode; it runs at most `workers` windows
    /// ahead of them. Segments come back in window order.
    pub fn decode_windows<'c>(
        &mut self,
        workers: usize,
        next: &mut dyn FnMut() -> Result<Option<(Cow<'c, clip::Clip<'c>>, clip::Window)>>,
        speakers: &[&str],
        done: &(dyn Fn(u64) + Sync),
    ) -> Result<Vec<Segment>> {
        let workers = workers.max(1);
        let per_worker = (self.threads / workers).max(1);
        while self.states.len() < workers {
            self.states.push(self.engine.ctx.create_state()?);
        }
        let mut states = std::mem::take(&mut self.states);
        let this = &*self;
        let decode = |state: &mut WhisperState, clip: &clip::Clip, w: &clip::Window| {
            let d = this.decode_window(state, per_worker, clip, w, speakers)?;
            done(w.speech_ms);
            Ok(d)
        };
        let result = if workers == 1 {
            // A single worker (a live caption) runs on this thread and spawns none.
            one_by_one(&mut states[0], next, &decode)
        } else {
            side_by_side(&mut states[..workers], next, &decode)
        };
        self.states = states;
        let mut decoded = result?;
        decoded.sort_by_key(|(i, _)| *i);
        let mut out = Vec::new();
        for (_, d) in decoded {
            self.detected = d.detected;
            out.extend(d.segments);
        }
        Ok(out)
    }

    /// Window `w` of the clip on `state` with `threads`: Whisper's segments, split at chunk
    /// boundaries and placed on the hearing clock.
    ///
    /// Joined regions save the encoder's time, but Whisper may skip one of them, typically a
    /// sentence cut off at its start next to the same sentence said in full (a speaker who
    /// repeats themself), and DTW then stretches the words it did write over the region it
    /// skipped: one region loses its words and another's land in it. A window in which some
    /// region is not accounted for by the words placed in it is therefore decoded again one
    /// region at a time, as live captions decode them.
    fn decode_window(
        &self,
        state: &mut WhisperState,
        threads: usize,
        clip: &clip::Clip,
        w: &clip::Window,
        speakers: &[&str],
    ) -> Result<Decoded> {
        let chunks = clip.chunks_in(w);
        let (mut runs, mut detected) = self.heard(state, threads, clip, w)?;
        if chunks.len() > 1 {
            if let Some(missed) = chunks.clone().find(|&c| !accounted_for(clip, c, &runs)) {
                tracing::debug!(
                    chunk = missed,
                    chunks = chunks.len(),
                    "a region of a joined window is not accounted for: decoding them one by one"
                );
                runs.clear();
                for c in chunks {
                    let (r, d) = self.heard(state, threads, clip, &clip.window_of(c))?;
                    runs.extend(r);
                    detected = d;
                }
            }
        }
        let chinese = detected.as_deref() == Some("zh") || self.language == Language::Zh;
        // A chunk's first segment is the one that comes first in `runs`.
        let mut seen = vec![false; clip.chunks.len()];
        let mut out = Vec::new();
        for (chunk, mut words) in runs {
            // DTW tends to place a region's first word a few hundred ms late; the VAD onset
            // is the better estimate, so a region's speech never starts after it.
            let onset = clip.chunks[chunk].onset_ms;
            if !std::mem::replace(&mut seen[chunk], true) && words[0].start_ms > onset {
                words[0].start_ms = onset;
            }
            out.push(Segment {
                start_ms: words[0].start_ms,
                end_ms: words.last().map(|w| w.end_ms).unwrap_or(0),
                speaker: speakers[clip.chunks[chunk].track].to_owned(),
                text: join_words(&words, chinese),
                words,
            });
        }
        Ok(Decoded {
            segments: out,
            detected,
        })
    }

    /// What Whisper writes for window `w`: the words of each segment that passes the guards,
    /// placed on the hearing clock as (chunk, words) runs in order, and the language it found.
    fn heard(
        &self,
        state: &mut WhisperState,
        threads: usize,
        clip: &clip::Clip,
        w: &clip::Window,
    ) -> Result<(Runs, Option<String>)> {
        let start_ms = w.start_ms;
        let samples = &clip.samples(w)[..];
        let len_ms = samples.len() as u64 * 1000 / u64::from(SAMPLE_RATE);
        // whisper.cpp rejects clips under 100 ms and decodes short ones poorly: pad with silence.
        let padded;
        let audio = if samples.len() < SAMPLE_RATE as usize {
            padded = [samples, &vec![0.0; SAMPLE_RATE as usize - samples.len()]].concat();
            &padded[..]
        } else {
            samples
        };
        let mut params = self.params(threads);
        if !self.full_context {
            params.set_audio_ctx(audio_ctx(len_ms, self.engine.hparams.n_audio_ctx));
        }
        state.full(params, audio)?;
        let detected = whisper_rs::get_lang_str(state.full_lang_id_from_state()).map(str::to_owned);
        let chinese = detected.as_deref() == Some("zh") || self.language == Language::Zh;
        let eot = self.engine.ctx.token_eot();
        let mut runs = Vec::new();
        for seg in state.as_iter() {
            let (pieces, mean_logprob) = pieces_of(&seg, eot);
            if pieces.is_empty() {
                continue;
            }
            let nsp = seg.no_speech_probability();
            if (nsp > self.guards.no_speech && mean_logprob < self.guards.logprob)
                || mean_logprob < self.guards.min_logprob
            {
                tracing::debug!(nsp, mean_logprob, "dropped segment failing whisper guards");
                continue;
            }
            let seg_end = seg.end_timestamp().max(0) as u64 * 10;
            let mut words = words_from_pieces(&pieces, seg_end, len_ms, chinese);
            if collapsed(&words) {
                tracing::debug!(
                    n = words.len(),
                    "dropped segment whose words have no duration"
                );
                continue;
            }
            if only_symbols(&words) {
                tracing::debug!("dropped segment of symbols only");
                continue;
            }
            for w in &mut words {
                w.start_ms += start_ms;
                w.end_ms += start_ms;
            }
            runs.extend(clip.place(words));
        }
        Ok((runs, detected))
    }

    fn params(&self, threads: usize) -> FullParams<'static, 'static> {
        let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        params.set_n_threads(threads as i32);
        params.set_language(self.language.code());
        params.set_detect_language(false);
        params.set_no_context(true);
        // whisper.cpp's older token timing (from timestamp-token probabilities and the signal's
        // energy) is only needed where DTW cannot time tokens: with DTW, a word ends where the
        // next starts and a segment's last word at the segment's end, which that timing never
        // passes. Its energy pass over every window's samples cost 1.7 % of the CPU.
        params.set_token_timestamps(!self.engine.dtw);
        params.set_suppress_blank(true);
        params.set_suppress_nst(true);
        params.set_no_speech_thold(self.guards.no_speech);
        params.set_logprob_thold(self.guards.logprob);
        params.set_temperature(0.0);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_special(false);
        params.set_print_timestamps(false);
        params
    }
}

/// Words placed on the hearing clock, a run per chunk and Whisper segment: (chunk, words).
type Runs = Vec<(usize, Vec<Word>)>;

/// One window's segments and the language Whisper found in it.
pub(super) struct Decoded {
    segments: Vec<Segment>,
    detected: Option<String>,
}

/// Whether the words placed in `chunk` account for its speech: together (each counted for at
/// most [`WORD_MS`]) they cover at least half of the region without its padding. Words end
/// where the next begins, so real speech covers nearly all of it, pauses included (the VAD
/// splits a region at any pause longer than 600 ms); a region Whisper skipped has no words, or
/// one word DTW stretched over it.
fn accounted_for(clip: &clip::Clip, chunk: usize, runs: &Runs) -> bool {
    let c = &clip.chunks[chunk];
    let pad = c.onset_ms - c.track_start_ms;
    let speech_ms = c.len_ms.saturating_sub(2 * pad);
    let covered: u64 = runs
        .iter()
        .filter(|(i, _)| *i == chunk)
        .flat_map(|(_, words)| words)
        .map(|w| (w.end_ms - w.start_ms).min(WORD_MS))
        .sum();
    covered * 2 >= speech_ms
}

/// The longest a spoken word is taken to last when judging whether a region was heard.
const WORD_MS: u64 = 700;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoder_context_covers_the_window_and_its_margin() {
        // 10 s + 1.5 s margin = 575 positions, rounded up to 576.
        assert_eq!(audio_ctx(10_000, 1500), 576);
        assert_eq!(audio_ctx(10_100, 1500), 640);
        assert_eq!(audio_ctx(0, 1500), 128);
        // Never more than the model has, and whisper.cpp's own stepping past 30 s.
        assert_eq!(audio_ctx(28_000, 1500), 1500);
        assert_eq!(audio_ctx(30_000, 1500), 0);
        assert_eq!(audio_ctx(95_000, 1500), 0);
    }
}
