//! The crate's one error type.
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A command that the room's state does not allow (unknown participant, already on record…).
    #[error("invalid room command: {0}")]
    Invalid(String),
    #[error("gstreamer: {0}")]
    Gst(String),
    #[error("io error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("manifest {path}: {message}")]
    Manifest { path: PathBuf, message: String },
    #[error("bad argument: {0}")]
    Arg(String),
    /// An exhibit that cannot be shown (no such file, no such page, not a PDF poppler reads).
    #[error("exhibit {path}: {message}")]
    Exhibit { path: PathBuf, message: String },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<gstreamer::glib::Error> for Error {
    fn from(e: gstreamer::glib::Error) -> Self {
        Error::Gst(e.to_string())
    }
}
impl From<gstreamer::glib::BoolError> for Error {
    fn from(e: gstreamer::glib::BoolError) -> Self {
        Error::Gst(e.to_string())
    }
}
impl From<gstreamer::StateChangeError> for Error {
    fn from(e: gstreamer::StateChangeError) -> Self {
        Error::Gst(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, Error>;
