//! The hearing room: one GStreamer pipeline per hearing that mixes every participant into the
//! courtroom view, records it in crash-safe segments and keeps each participant's own audio.
//!
//! The decisions (who is in the view, what is on the record, which file a buffer goes to, when a
//! track has stalled) are plain Rust in [`state`], [`layout`], [`segment`], [`health`] and [`speaker`]; the
//! [`room`] module is the GStreamer glue that carries them out. See README.md.
pub mod cli;
pub mod error;
pub mod exhibit;
pub mod health;
pub mod layout;
pub mod manifest;
pub mod recover;
pub mod room;
pub mod segment;
pub mod speaker;
pub mod state;
mod writer;

pub use error::{Error, Result};
pub use manifest::{verify, Manifest, VerifyReport};
pub use room::{speaker_label, Heard, LiveIn, LiveOut, Room, RoomConfig, Source};
pub use state::{Event, ParticipantId, Role};
