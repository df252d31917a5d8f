//! Output formats for the command line. The renderings themselves (JSON, WebVTT with voice tags,
//! SRT, the plain-text court transcript) belong to the domain, so the server's RecordService and
//! this CLI produce the same bytes: see `hearing_core::domain::transcript_export`.
pub use hearing_core::domain::transcript_export::{srt, text, vtt, Heading};

use crate::transcript::Transcript;
use hearing_core::domain::transcript_export as domain;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Vtt,
    Srt,
    Txt,
}

impl From<Format> for domain::Format {
    fn from(f: Format) -> Self {
        match f {
            Format::Json => domain::Format::Json,
            Format::Vtt => domain::Format::Vtt,
            Format::Srt => domain::Format::Srt,
            Format::Txt => domain::Format::Txt,
        }
    }
}

pub fn render(t: &Transcript, format: Format, heading: &Heading) -> String {
    domain::render(t, format.into(), heading)
}
