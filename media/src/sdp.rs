//! What a client offers, read from its SDP: which m-lines carry Opus audio or VP8 video and with
//! which payload types. The answer must reuse those payload types: webrtcbin 1.22 answers
//! receive-only otherwise (media/README.md, "WebRTC on one machine").
use gstreamer_sdp::SDPMessage;

use crate::error::{MediaError, Result};

/// The largest offer we read; browsers' offers are a few kilobytes.
pub const MAX_SDP_BYTES: usize = 32 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Audio,
    Video,
}

/// One offered m-line we can use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stream {
    pub mline: u32,
    pub kind: Kind,
    /// The payload type the client gave Opus (audio) or VP8 (video).
    pub payload: u8,
}

/// A parsed, checked offer.
#[derive(Debug)]
pub struct Offer {
    pub message: SDPMessage,
    pub streams: Vec<Stream>,
}

impl Offer {
    /// Parses an SDP offer. It must have at least one audio m-line offering Opus.
    pub fn parse(text: &str) -> Result<Offer> {
        let bad = |m: &str| MediaError::InvalidSdp(m.to_string());
        if text.trim().is_empty() {
            return Err(bad("is required"));
        }
        if text.len() > MAX_SDP_BYTES {
            return Err(bad(&format!("is longer than {MAX_SDP_BYTES} bytes")));
        }
        if !text.starts_with("v=0") {
            return Err(bad("is not an SDP offer (it must start with \"v=0\")"));
        }
        crate::peer::init()?;
        let message = SDPMessage::parse_buffer(text.as_bytes())
            .map_err(|_| bad("could not be parsed as SDP"))?;
        let mut streams = Vec::new();
        for (i, m) in message.medias().enumerate() {
            let (kind, codec) = match m.media() {
                Some("audio") => (Kind::Audio, "opus"),
                Some("video") => (Kind::Video, "vp8"),
                _ => continue,
            };
            // port 0 is a rejected or stopped m-line, unless it is bundled (RFC 8843: an
            // offerer using max-bundle, as webrtcbin does, sends `bundle-only` m-lines so)
            if m.port() == 0 && m.attribute_val("bundle-only").is_none() {
                continue;
            }
            if let Some(payload) = payload_of(m, codec) {
                streams.push(Stream {
                    mline: i as u32,
                    kind,
                    payload,
                });
            }
        }
        if !streams.iter().any(|s| s.kind == Kind::Audio) {
            return Err(bad(
                "offers no Opus audio (an m=audio line with a=rtpmap:<pt> opus/48000/2)",
            ));
        }
        if message.attribute_val("fingerprint").is_none()
            && !message
                .medias()
                .any(|m| m.attribute_val("fingerprint").is_some())
        {
            return Err(bad("has no DTLS fingerprint (a=fingerprint)"));
        }
        Ok(Offer { message, streams })
    }
}

/// The payload type whose `a=rtpmap` names `codec` (case-insensitive).
fn payload_of(m: &gstreamer_sdp::SDPMediaRef, codec: &str) -> Option<u8> {
    m.attributes()
        .filter(|a| a.key() == "rtpmap")
        .filter_map(|a| a.value())
        .find_map(|v| {
            let (pt, rest) = v.split_once(' ')?;
            let name = rest.split('/').next()?;
            name.eq_ignore_ascii_case(codec)
                .then(|| pt.trim().parse().ok())
                .flatten()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHROME_LIKE: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
a=group:BUNDLE 0 1\r\na=fingerprint:sha-256 AB:CD\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendrecv\r\n\
a=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\n\
m=video 9 UDP/TLS/RTP/SAVPF 96 102\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sendrecv\r\n\
a=rtpmap:96 VP8/90000\r\na=rtpmap:102 H264/90000\r\n";

    #[test]
    fn reads_opus_and_vp8_payload_types() {
        let o = Offer::parse(CHROME_LIKE).unwrap();
        assert_eq!(
            o.streams,
            vec![
                Stream {
                    mline: 0,
                    kind: Kind::Audio,
                    payload: 111
                },
                Stream {
                    mline: 1,
                    kind: Kind::Video,
                    payload: 96
                },
            ]
        );
    }

    #[test]
    fn a_bundle_only_line_is_offered_a_stopped_one_is_not() {
        let bundled = CHROME_LIKE.replace(
            "m=video 9 UDP/TLS/RTP/SAVPF 96 102\r\n",
            "m=video 0 UDP/TLS/RTP/SAVPF 96 102\r\na=bundle-only\r\n",
        );
        assert_eq!(Offer::parse(&bundled).unwrap().streams.len(), 2);
        let stopped = CHROME_LIKE.replace("m=video 9 ", "m=video 0 ");
        assert_eq!(Offer::parse(&stopped).unwrap().streams.len(), 1);
    }

    #[test]
    fn refuses_garbage_empty_and_audio_less_offers() {
        for (sdp, why) in [
            ("", "required"),
            ("hello, court", "v=0"),
            (
                "v=0\r\nm=video 9 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n",
                "Opus",
            ),
            (
                "v=0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
                "Opus",
            ),
        ] {
            let e = Offer::parse(sdp).unwrap_err().to_string();
            assert!(e.starts_with("sdp: ") && e.contains(why), "{sdp:?}: {e}");
        }
        let no_fp = CHROME_LIKE.replace("a=fingerprint:sha-256 AB:CD\r\n", "");
        assert!(Offer::parse(&no_fp)
            .unwrap_err()
            .to_string()
            .contains("fingerprint"));
    }
}
