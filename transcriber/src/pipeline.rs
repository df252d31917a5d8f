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

/// One track after decoding and voice activity: only its speech is kept in memory.
pub struct Prepared {
    pub track: Track,
    pub speech: Vec<vad::Speech>,
    /// Length of the whole track.
    pub len_ms: u64,
}

/// Decodes every track, streaming it through the VAD, so only speech is kept; fails on the first
/// bad track before any inference.
pub fn prepare(tracks: &[Track], params: VadParams) -> Result<Vec<Prepared>> {
    if tracks.is_empty() {
        return Err(Error::Invalid("no --track given".into()));
    }
    tracks
        .iter()
        .map(|t| {
            let mut scanner = vad::Scanner::new(params);
            let mut speech = Vec::new();
            audio::decode_file_with(&t.path, &mut |chunk| speech.extend(scanner.push(chunk)))?;
            let (last, len_ms) = scanner.finish();
            speech.extend(last);
            tracing::debug!(track = %t.label, regions = speech.len(), "voice activity");
            Ok(Prepared {
                track: t.clone(),
                speech,
                len_ms,
            })
        })
        .collect()
}

/// Transcribes prepared tracks into one transcript.
pub fn transcribe(
    engine: &Engine,
    prepared: &[Prepared],
    opts: &Options,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Transcript> {
    engine.check_language(opts.language)?;
    let total_ms = prepared
        .iter()
        .flat_map(|p| &p.speech)
        .map(|s| s.region.end_ms - s.region.start_ms)
        .sum();
    progress(Progress::Speech { total_ms });
    // All tracks share one session and one joined clip, so they also share Whisper's windows.
    let mut session = engine.session(opts.language, opts.threads)?;
    session.pad_ms = opts.vad.pad_ms;
    let sources: Vec<clip::Source<'_>> = prepared
        .iter()
        .map(|p| clip::Source {
            speech: &p.speech,
            offset_ms: p.track.offset_ms,
        })
        .collect();
    let labels: Vec<&str> = prepared.iter().map(|p| p.track.label.as_str()).collect();
    let segments =
        session.decode_reporting(&sources, &labels, &|ms| progress(Progress::Done { ms }))?;
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
        .map(|p| p.track.offset_ms + p.len_ms)
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
