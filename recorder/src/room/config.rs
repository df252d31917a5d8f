//! How a room is set up ([`RoomConfig`]), what it is fed from ([`Source`]) and what it hands
//! to live captions ([`Heard`]).
use std::path::PathBuf;
use std::time::Duration;

use crate::state::{ParticipantId, Role};

#[derive(Clone, Debug)]
pub struct RoomConfig {
    /// Output directory (created); a manifest already there continues the same hearing.
    pub out: PathBuf,
    pub width: i32,
    pub height: i32,
    pub fps: i32,
    /// Longest mixed segment / track file before it is closed and hashed.
    pub segment: Duration,
    /// No media for this long from a present participant raises `Stalled`.
    pub stall_after: Duration,
    pub x264_preset: String,
    pub video_kbps: u32,
    /// Hearing clock zero for a new recording (default: when the room starts); a hearing's room
    /// passes the time the hearing opened, so the room's clock is the control plane's.
    pub started: Option<chrono::DateTime<chrono::Utc>>,
    /// Whether the room starts on the record (default) or waits for [`Room::on_record`](super::Room::on_record).
    pub start_on_record: bool,
    /// Where what the hearing hears from each live participant goes while on the record (for
    /// live captions): their decoded audio, only while admitted, unmuted and on the record.
    /// Never blocks the media: when the receiver falls behind, audio for it is dropped.
    pub heard: Option<std::sync::mpsc::SyncSender<Heard>>,
}

/// A stretch of one live participant's decoded audio, as the hearing heard it.
#[derive(Debug)]
pub struct Heard {
    pub id: ParticipantId,
    /// The transcript's speaker: name and role.
    pub speaker: String,
    /// Hearing time of the first sample.
    pub at: Duration,
    /// 48 kHz mono.
    pub samples: Vec<i16>,
}

/// How a participant is named as a speaker: "Judge Wang (Judge)".
pub fn speaker_label(name: &str, role: Role) -> String {
    format!("{name} ({})", role.label())
}

impl RoomConfig {
    pub fn new(out: impl Into<PathBuf>) -> Self {
        Self {
            out: out.into(),
            width: 1280,
            height: 720,
            // A court record is talking heads and still documents: 15 fps keeps lips in sync
            // for the viewer and halves the encode against 30 fps. Configurable.
            fps: 15,
            segment: Duration::from_secs(120),
            stall_after: Duration::from_secs(2),
            x264_preset: "veryfast".into(),
            video_kbps: 1200,
            started: None,
            start_on_record: true,
            heard: None,
        }
    }
}

/// A participant's media when fed from files (bots, tests, the CLI).
#[derive(Clone, Debug)]
pub struct Source {
    /// Any audio file GStreamer can decode (WAV, Opus, …).
    pub audio: PathBuf,
    /// A video file; `None` shows a test pattern with the participant's label.
    pub video: Option<PathBuf>,
}
