//! Speaker-attributed, timestamped transcripts from each participant's own audio track.
//!
//! [`model`] converts and fetches Whisper weights; [`audio`] decodes tracks; [`vad`] finds the
//! speech; [`engine`] transcribes it with whisper.cpp; [`pipeline`] puts the tracks on the hearing
//! clock and merges them; [`export`] renders JSON, WebVTT, SRT and text; [`cli`] is the commands;
//! [`accuracy`] scores a transcript against what was said (the measure of every accuracy bound).
pub mod accuracy;
pub mod audio;
pub mod cli;
pub mod clip;
pub mod engine;
pub mod error;
pub mod export;
mod fsutil;
pub mod incremental;
pub mod model;
pub mod pipeline;
pub mod transcript;
pub mod vad;
pub mod worker;

pub use error::{Error, Result};
