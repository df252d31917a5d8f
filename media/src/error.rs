//! The one error type of the media crate. The gRPC edge maps it to status codes.

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The client's SDP is not usable; the message says why (sent to the client).
    #[error("sdp: {0}")]
    InvalidSdp(String),
    /// There is no connection to act on (a candidate before any offer).
    #[error("{0}")]
    NoConnection(String),
    /// GStreamer refused or failed; logged, never sent to clients.
    #[error("gstreamer: {0}")]
    Gst(String),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

impl MediaError {
    pub(crate) fn gst(what: impl std::fmt::Display) -> Self {
        MediaError::Gst(what.to_string())
    }
}

impl From<gstreamer::glib::Error> for MediaError {
    fn from(e: gstreamer::glib::Error) -> Self {
        MediaError::gst(e)
    }
}

impl From<gstreamer::glib::BoolError> for MediaError {
    fn from(e: gstreamer::glib::BoolError) -> Self {
        MediaError::gst(e)
    }
}

impl From<gstreamer::StateChangeError> for MediaError {
    fn from(e: gstreamer::StateChangeError) -> Self {
        MediaError::gst(e)
    }
}

impl From<gstreamer::PadLinkError> for MediaError {
    fn from(e: gstreamer::PadLinkError) -> Self {
        MediaError::gst(e)
    }
}

pub type Result<T, E = MediaError> = std::result::Result<T, E>;
