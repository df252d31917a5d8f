//! A hearing's tracks in, one transcript out: decode every track, find its speech, transcribe
//! the speech, move it onto the hearing clock and merge.
use std::path::PathBuf;
use std::str::FromStr;

use crate::audio;
use crate::clip;
use crate::engine::{Engine, Language};
use crate::error::{Error, Result};
use crate::transcript::{self, Transcript};
use crate::vad::{self, VadParams};

/// One participant's track: `LABEL=FILE[@OFFSET_MS]` on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Track {
    /// The speaker as it appears in the transcript (name and role).
    pub label: String,
    pub path: PathBuf,
    /// Where the track starts on the hearing clock.
    pub offset_ms: u64,
}

impl FromStr for Track {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let (label, rest) = s
            .split_once('=')
            .ok_or_else(|| Error::Invalid(format!("track {s:?} is not LABEL=FILE[@OFFSET_MS]")))?;
        let label = label.trim();
        if label.is_empty() {
            return Err(Error::Invalid(format!("track {s:?} has an empty label")));
        }
        // A trailing @digits is the offset; any other @ belongs to the file name.
        let (path, offset_ms) = match rest.rsplit_once('@') {
            Some((p, o)) if !o.is_empty() && o.bytes().all(|b| b.is_ascii_digit()) => {
                let o = o
                    .parse()
                    .map_err(|_| Error::Invalid(format!("offset {o:?} is too large")))?;
                (p, o)
            }
            _ => (rest, 0),
        };
        if path.is_empty() {
            return Err(Error::Invalid(format!("track {s:?} has no file")));
        }
        Ok(Track {
            label: label.to_owned(),
            path: PathBuf::from(path),
            offset_ms,
        })
    }
}

/// How to transcribe.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub language: Language,
    pub threads: usize,
    pub vad: VadParams,
}

/// What the pipeline reports while it works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// All tracks decoded; this much speech (ms) will be transcribed.
    Speech { total_ms: u64 },
    /// Another `ms` of speech is done.
    Done { ms: u64 },
}

/// One decoded track with its speech regions.
pub struct Prepared {
    pub track: Track,
    pub samples: Vec<f32>,
    pub regions: Vec<vad::Region>,
}

impl Prepared {
    pub fn len_ms(&self) -> u64 {
        self.samples.len() as u64 * 1000 / u64::from(audio::SAMPLE_RATE)
    }
}

/// Decodes and runs the VAD on every track; fails on the first bad one before any inference.
pub fn prepare(tracks: &[Track], params: VadParams) -> Result<Vec<Prepared>> {
    if tracks.is_empty() {
        return Err(Error::Invalid("no --track given".into()));
    }
    tracks
        .iter()
        .map(|t| {
            let samples = audio::decode_file(&t.path)?;
            let regions = vad::detect(&samples, params);
            tracing::debug!(track = %t.label, regions = regions.len(), "voice activity");
            Ok(Prepared {
                track: t.clone(),
                samples,
                regions,
            })
        })
        .collect()
}

/// Transcribes prepared tracks into one transcript.
pub fn transcribe(
    engine: &Engine,
    prepared: &[Prepared],
    opts: &Options,
    progress: &mut dyn FnMut(Progress),
) -> Result<Transcript> {
    engine.check_language(opts.language)?;
    let total_ms = prepared
        .iter()
        .flat_map(|p| &p.regions)
        .map(|r| r.end_ms - r.start_ms)
        .sum();
    progress(Progress::Speech { total_ms });
    // All tracks share one session and one joined clip, so they also share Whisper's windows.
    let mut session = engine.session(opts.language, opts.threads)?;
    session.pad_ms = opts.vad.pad_ms;
    let sources: Vec<clip::Source<'_>> = prepared
        .iter()
        .map(|p| clip::Source {
            samples: &p.samples,
            regions: &p.regions,
            offset_ms: p.track.offset_ms,
        })
        .collect();
    let labels: Vec<&str> = prepared.iter().map(|p| p.track.label.as_str()).collect();
    let segments = session.decode(&sources, &labels)?;
    progress(Progress::Done { ms: total_ms });
    let language = match opts.language {
        Language::En => "en".to_owned(),
        Language::Zh => "zh".to_owned(),
        // The language Whisper detected on the joined clip; nothing said: nothing to detect.
        Language::Auto => session
            .detected
            .clone()
            .filter(|_| !segments.is_empty())
            .unwrap_or_else(|| "en".to_owned()),
    };
    let duration_ms = prepared
        .iter()
        .map(|p| p.track.offset_ms + p.len_ms())
        .max()
        .unwrap_or(0);
    Ok(Transcript {
        language,
        model: engine.info().clone(),
        duration_ms,
        segments: transcript::merge([segments]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn track_specs_parse() {
        let t: Track = "Judge Wang=/a/b@c.wav@1500".parse().unwrap();
        assert_eq!(t.label, "Judge Wang");
        assert_eq!(t.path, PathBuf::from("/a/b@c.wav"));
        assert_eq!(t.offset_ms, 1500);
        let t: Track = "Clerk=x.ogg".parse().unwrap();
        assert_eq!((t.path.to_str().unwrap(), t.offset_ms), ("x.ogg", 0));
        for bad in ["nolabel.wav", "=x.wav", "Judge=", "Judge=@100"] {
            assert!(bad.parse::<Track>().is_err(), "{bad}");
        }
    }
}
