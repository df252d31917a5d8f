//! Renderings of a [`Transcript`]: JSON, WebVTT with voice tags, SRT, and a plain-text court
//! transcript.
use std::fmt::Write;

use super::transcript::{Segment, Transcript};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Vtt,
    Srt,
    Txt,
}

/// Header lines of the plain-text transcript.
#[derive(Debug, Clone, Default)]
pub struct Heading {
    pub case: Option<String>,
    pub hearing: Option<String>,
}

pub fn render(t: &Transcript, format: Format, heading: &Heading) -> String {
    match format {
        Format::Json => serde_json::to_string_pretty(t).expect("transcript serialises") + "\n",
        Format::Vtt => vtt(t),
        Format::Srt => srt(t),
        Format::Txt => text(t, heading),
    }
}

/// `HH:MM:SS` + `sep` + `mmm`.
fn clock(ms: u64, sep: char) -> String {
    let (h, m, s) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60);
    format!("{h:02}:{m:02}:{s:02}{sep}{:03}", ms % 1000)
}

fn vtt_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub fn vtt(t: &Transcript) -> String {
    let mut out = String::from("WEBVTT\n");
    for (i, s) in t.segments.iter().enumerate() {
        let _ = write!(
            out,
            "\n{}\n{} --> {}\n<v {}>{}\n",
            i + 1,
            clock(s.start_ms, '.'),
            clock(s.end_ms, '.'),
            vtt_escape(&s.speaker),
            vtt_escape(&s.text)
        );
    }
    out
}

pub fn srt(t: &Transcript) -> String {
    let mut out = String::new();
    for (i, s) in t.segments.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = write!(
            out,
            "{}\n{} --> {}\n{}: {}\n",
            i + 1,
            clock(s.start_ms, ','),
            clock(s.end_ms, ','),
            s.speaker,
            s.text
        );
    }
    out
}

/// Paragraphs: consecutive segments of one speaker less than this apart are joined.
const PARAGRAPH_GAP_MS: u64 = 2_000;

pub fn text(t: &Transcript, h: &Heading) -> String {
    let mut out = String::from("TRANSCRIPT OF PROCEEDINGS\n");
    if let Some(c) = &h.case {
        let _ = writeln!(out, "Case: {c}");
    }
    if let Some(hr) = &h.hearing {
        let _ = writeln!(out, "Hearing: {hr}");
    }
    let _ = writeln!(
        out,
        "Duration: {}\nLanguage: {}\nMachine transcript by Whisper model {} (sha256 {})\n",
        &clock(t.duration_ms, '.')[..8],
        t.language,
        t.model.name,
        t.model.sha256
    );
    let sep = if t.language == "zh" { "" } else { " " };
    let mut paragraphs: Vec<(&Segment, u64, String)> = Vec::new();
    for s in &t.segments {
        match paragraphs.last_mut() {
            Some((first, end, text))
                if first.speaker == s.speaker && s.start_ms <= *end + PARAGRAPH_GAP_MS =>
            {
                text.push_str(sep);
                text.push_str(&s.text);
                *end = (*end).max(s.end_ms);
            }
            _ => paragraphs.push((s, s.end_ms, s.text.clone())),
        }
    }
    for (first, end, text) in paragraphs {
        let _ = writeln!(
            out,
            "[{} - {}] {}:\n    {}\n",
            clock(first.start_ms, '.'),
            clock(end, '.'),
            first.speaker.to_uppercase(),
            text
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::transcript::{ModelInfo, Word};

    fn seg(speaker: &str, start_ms: u64, end_ms: u64, text: &str) -> Segment {
        Segment {
            start_ms,
            end_ms,
            speaker: speaker.into(),
            text: text.into(),
            words: vec![Word {
                start_ms,
                end_ms,
                text: text.into(),
                p: 0.9,
            }],
        }
    }

    fn transcript(duration_ms: u64, segments: Vec<Segment>) -> Transcript {
        Transcript {
            language: "en".into(),
            model: ModelInfo {
                name: "tiny.en".into(),
                sha256: "ab".into(),
            },
            duration_ms,
            segments,
        }
    }

    fn sample() -> Transcript {
        transcript(
            3_723_004,
            vec![
                seg("Judge Wang", 500, 11_024, "Please be seated."),
                seg("Judge Wang", 12_000, 13_000, "We begin."),
                seg("Counsel <A>", 3_661_001, 3_662_000, "Thank you & good day."),
            ],
        )
    }

    #[test]
    fn vtt_has_voice_tags_and_escapes() {
        let v = vtt(&sample());
        assert!(v.starts_with(
            "WEBVTT\n\n1\n00:00:00.500 --> 00:00:11.024\n<v Judge Wang>Please be seated.\n"
        ));
        assert!(v.contains(
            "01:01:01.001 --> 01:01:02.000\n<v Counsel &lt;A&gt;>Thank you &amp; good day.\n"
        ));
    }

    #[test]
    fn srt_numbers_cues_with_commas() {
        let s = srt(&sample());
        assert!(
            s.starts_with("1\n00:00:00,500 --> 00:00:11,024\nJudge Wang: Please be seated.\n\n2\n")
        );
    }

    #[test]
    fn text_joins_a_speakers_paragraph() {
        let h = Heading {
            case: Some("2026-CV-17".into()),
            hearing: Some("Pre-trial".into()),
        };
        let t = text(&sample(), &h);
        assert!(t.contains("Case: 2026-CV-17\nHearing: Pre-trial\nDuration: 01:02:03"));
        assert!(t.contains(
            "[00:00:00.500 - 00:00:13.000] JUDGE WANG:\n    Please be seated. We begin.\n"
        ));
    }

    /// A paragraph is one speaker's: another speaker close by, or the same one more than
    /// `PARAGRAPH_GAP_MS` later, starts a new one.
    #[test]
    fn text_starts_a_paragraph_for_a_new_speaker_or_after_a_pause() {
        let t = transcript(
            6_000,
            vec![
                seg("Judge", 0, 1_000, "A."),
                seg("Counsel", 1_500, 2_000, "B."),
                seg("Counsel", 4_001, 6_000, "C."),
            ],
        );
        assert_eq!(
            text(&t, &Heading::default()),
            "TRANSCRIPT OF PROCEEDINGS\n\
             Duration: 00:00:06\n\
             Language: en\n\
             Machine transcript by Whisper model tiny.en (sha256 ab)\n\n\
             [00:00:00.000 - 00:00:01.000] JUDGE:\n    A.\n\n\
             [00:00:01.500 - 00:00:02.000] COUNSEL:\n    B.\n\n\
             [00:00:04.001 - 00:00:06.000] COUNSEL:\n    C.\n\n"
        );
    }

    #[test]
    fn json_round_trips() {
        let t = sample();
        let back: Transcript =
            serde_json::from_str(&render(&t, Format::Json, &Heading::default())).unwrap();
        assert_eq!(back, t);
    }
}
