//! The crate's one error type. Every message names the file, field or value at fault, so the
//! CLI can print it on one line.
use std::path::PathBuf;

/// Everything that can go wrong while importing, fetching, decoding or transcribing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The input is not a CTranslate2 Whisper model we can convert.
    #[error("{path}: not a usable CTranslate2 Whisper model: {reason}")]
    BadModel { path: PathBuf, reason: String },
    /// The ggml file is not something whisper.cpp loads.
    #[error("{path}: not a Whisper ggml model: {reason}")]
    BadGgml { path: PathBuf, reason: String },
    #[error("model fetch failed: {0}")]
    Fetch(String),
    #[error("{path}: cannot decode audio: {reason}")]
    Audio { path: PathBuf, reason: String },
    #[error("whisper: {0}")]
    Whisper(String),
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// The case record (jobs, transcripts) refused or failed.
    #[error("case record: {0}")]
    Record(#[from] hearing_core::CoreError),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}

impl From<whisper_rs::WhisperError> for Error {
    fn from(e: whisper_rs::WhisperError) -> Self {
        Error::Whisper(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
