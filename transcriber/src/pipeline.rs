//! A hearing's tracks in, one transcript out: decode every track, find its speech, transcribe
//! the speech, move it onto the hearing clock and merge.
use std::borrow::Cow;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::str::FromStr;

use crate::audio;
use crate::clip;
use crate::engine::{Engine, Language, Session};
use crate::error::{Error, Result};
use crate::transcript::{self, Segment, Transcript};
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

/// What the pipeline reports while it works, in milliseconds of work: of audio read for [`run`]
/// (which reads and transcribes together), of speech transcribed for [`transcribe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// The whole work, once known.
    Total { ms: u64 },
    /// Another `ms` is done.
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
/// bad track before any inference. All of the hearing's speech is then held at once (230 MB per
/// hour of speech): [`run`] reads and transcribes together instead, and is what the CLI and the
/// worker use; this and [`transcribe`] are the reference it is tested against.
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

/// Transcribes a hearing's tracks into one transcript, reading them side by side while the
/// windows already filled are transcribed: memory holds a few windows of speech however long the
/// hearing, and the clip and its windows are exactly those of [`prepare`] and [`transcribe`].
/// Every track is opened before any inference, so a missing file fails first.
pub fn run(
    engine: &Engine,
    tracks: &[Track],
    opts: &Options,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Transcript> {
    engine.check_language(opts.language)?;
    if tracks.is_empty() {
        return Err(Error::Invalid("no --track given".into()));
    }
    let mut feeds = tracks
        .iter()
        .enumerate()
        .map(|(i, t)| Feed::open(i, t, opts.vad))
        .collect::<Result<Vec<_>>>()?;
    if let Some(ms) = feeds.iter().map(|f| f.duration_ms).sum::<Option<u64>>() {
        progress(Progress::Total { ms });
    }
    let mut session = engine.session(opts.language, opts.threads)?;
    session.pad_ms = opts.vad.pad_ms;
    let mut packer = session.packer();
    let (pad_ms, gap_ms) = (session.pad_ms, session.gap_ms);
    let one_window = |pieces: Vec<clip::Piece<'static>>| {
        let clip = clip::from_pieces(pieces, pad_ms, gap_ms);
        let w = clip::Window {
            start_ms: 0,
            end_ms: clip.len_ms,
            speech_ms: clip.chunks.iter().map(|c| c.len_ms).sum(),
        };
        (Cow::Owned(clip), w)
    };
    let mut filling: Vec<clip::Piece<'static>> = Vec::new();
    // The next full window: regions are taken in clock order as soon as no track can still
    // produce an earlier one, and packed as `Clip::windows` packs a whole clip.
    let mut next = || -> Result<Option<(Cow<'static, clip::Clip<'static>>, clip::Window)>> {
        loop {
            while let Some(piece) = next_in_order(&mut feeds) {
                if piece.len_ms() == 0 {
                    continue;
                }
                if !packer.joins(piece.len_ms()) && !filling.is_empty() {
                    let full = std::mem::replace(&mut filling, vec![piece]);
                    return Ok(Some(one_window(full)));
                }
                filling.push(piece);
            }
            // Read on in the track that holds the others back.
            match feeds
                .iter_mut()
                .filter(|f| f.reading.is_some())
                .min_by_key(|f| f.frontier_ms())
            {
                Some(feed) => progress(Progress::Done {
                    ms: feed.advance()?,
                }),
                None if filling.is_empty() => return Ok(None),
                None => return Ok(Some(one_window(std::mem::take(&mut filling)))),
            }
        }
    };
    let labels: Vec<&str> = tracks.iter().map(|t| t.label.as_str()).collect();
    let segments = session.decode_windows(opts.threads, &mut next, &labels, &|_| {})?;
    let duration_ms = feeds
        .iter()
        .map(|f| f.offset_ms + f.len_ms)
        .max()
        .unwrap_or(0);
    Ok(Transcript {
        language: language_of(opts.language, &session, &segments),
        model: engine.info().clone(),
        duration_ms,
        segments: transcript::merge([segments]),
    })
}

/// One track being read: its decoder and voice activity while it lasts, and the regions found
/// but not yet placed in the clip.
struct Feed {
    track: usize,
    offset_ms: u64,
    /// `None` once the track has ended.
    reading: Option<(audio::Reader, vad::Scanner)>,
    found: VecDeque<vad::Speech>,
    duration_ms: Option<u64>,
    /// The length of the whole track, once it has ended.
    len_ms: u64,
    chunk: Vec<f32>,
}

impl Feed {
    /// Opens the track and decodes its first audio, so a file that is not audio fails here.
    fn open(track: usize, t: &Track, vad: VadParams) -> Result<Feed> {
        let mut feed = Feed {
            track,
            offset_ms: t.offset_ms,
            reading: Some((audio::Reader::open(&t.path)?, vad::Scanner::new(vad))),
            found: VecDeque::new(),
            duration_ms: None,
            len_ms: 0,
            chunk: Vec::new(),
        };
        feed.advance()?;
        feed.duration_ms = match &feed.reading {
            Some((r, _)) => r.duration_ms(),
            None => Some(feed.len_ms),
        };
        Ok(feed)
    }

    /// The earliest clock time a region this track has not yet found can start.
    fn frontier_ms(&self) -> u64 {
        match &self.reading {
            Some((_, scanner)) => self.offset_ms + scanner.kept_from_ms(),
            None => u64::MAX,
        }
    }

    /// Reads the next chunk through the VAD (or ends the track); returns the ms read.
    fn advance(&mut self) -> Result<u64> {
        let Some((reader, scanner)) = &mut self.reading else {
            return Ok(0);
        };
        if reader.next_chunk(&mut self.chunk)? {
            self.found.extend(scanner.push(&self.chunk));
            return Ok(self.chunk.len() as u64 * 1000 / u64::from(audio::SAMPLE_RATE));
        }
        if let Some((_, scanner)) = self.reading.take() {
            let (last, len_ms) = scanner.finish();
            self.found.extend(last);
            self.len_ms = len_ms;
        }
        Ok(0)
    }
}

/// The region that comes next in the clip, if no track can still find one that comes before
/// it: the clip orders regions by (clock start, track), as [`clip::build`] does.
fn next_in_order(feeds: &mut [Feed]) -> Option<clip::Piece<'static>> {
    let (clock_ms, track) = feeds
        .iter()
        .filter_map(|f| {
            let s = f.found.front()?;
            Some((f.offset_ms + s.region.start_ms, f.track))
        })
        .min()?;
    // A region another track has yet to find starts at its frontier or later.
    let safe = feeds
        .iter()
        .filter(|f| f.track != track)
        .all(|f| (clock_ms, track) < (f.frontier_ms(), f.track));
    if !safe {
        return None;
    }
    let speech = feeds[track].found.pop_front()?;
    Some(clip::Piece {
        track,
        clock_ms,
        samples: Cow::Owned(speech.samples),
    })
}

/// The transcript's language: the one asked for, or the one Whisper detected (English when
/// nothing was said).
fn language_of(asked: Language, session: &Session<'_>, segments: &[Segment]) -> String {
    match asked {
        Language::En => "en".to_owned(),
        Language::Zh => "zh".to_owned(),
        Language::Auto => session
            .detected
            .clone()
            .filter(|_| !segments.is_empty())
            .unwrap_or_else(|| "en".to_owned()),
    }
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
    progress(Progress::Total { ms: total_ms });
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
    let duration_ms = prepared
        .iter()
        .map(|p| p.track.offset_ms + p.len_ms)
        .max()
        .unwrap_or(0);
    Ok(Transcript {
        language: language_of(opts.language, &session, &segments),
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
