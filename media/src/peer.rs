//! webrtcbin plumbing shared by the server's endpoints and the bot: creating it for loopback
//! tests, and the blocking offer/answer steps. Everything here blocks on GStreamer: call it from
//! a blocking thread (`spawn_blocking`), never on the async executor.
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_sdp::SDPMessage;
use gstreamer_webrtc::{WebRTCSDPType, WebRTCSessionDescription};

use crate::error::{MediaError, Result};

/// Where ICE may gather candidates. `Debug` leaves out the TURN server's user and password.
#[derive(Clone, Default)]
pub struct IceConfig {
    /// Only these local addresses (e.g. `127.0.0.1` for tests on one machine); empty: all.
    pub local_addresses: Vec<String>,
    /// `stun://host:port`, if any.
    pub stun_server: Option<String>,
    /// `turn://user:password@host:port`, if any.
    pub turn_server: Option<String>,
}

impl std::fmt::Debug for IceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IceConfig")
            .field("local_addresses", &self.local_addresses)
            .field("stun_server", &self.stun_server)
            .field("turn_server", &self.turn_server.as_deref().map(redact_url))
            .finish()
    }
}

/// `scheme://user:password@host` as `scheme://…@host`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…{}", &url[..s], &url[at..]),
        (None, Some(at)) => format!("…{}", &url[at..]),
        _ => url.to_string(),
    }
}

impl IceConfig {
    pub fn loopback() -> Self {
        IceConfig {
            local_addresses: vec!["127.0.0.1".into()],
            ..Default::default()
        }
    }
}

/// Initialises GStreamer (once per process; later calls return at once).
pub fn init() -> Result<()> {
    gst::init().map_err(MediaError::from)
}

pub fn make(factory: &str) -> Result<gst::Element> {
    gst::ElementFactory::make(factory)
        .build()
        .map_err(|_| MediaError::gst(format!("the GStreamer element {factory} is missing")))
}

pub fn webrtcbin(name: &str, ice: &IceConfig) -> Result<gst::Element> {
    init()?;
    let w = gst::ElementFactory::make("webrtcbin")
        .name(name)
        .property_from_str("bundle-policy", "max-bundle")
        .build()
        .map_err(|_| {
            MediaError::gst("webrtcbin is missing (gstreamer1.0-plugins-bad, gstreamer1.0-nice)")
        })?;
    if let Some(s) = &ice.stun_server {
        w.set_property("stun-server", s);
    }
    if let Some(t) = &ice.turn_server {
        w.set_property("turn-server", t);
    }
    if !ice.local_addresses.is_empty() {
        let agent = w.property::<gst::glib::Object>("ice-agent");
        for a in &ice.local_addresses {
            if !agent.emit_by_name::<bool>("add-local-ip-address", &[a]) {
                return Err(MediaError::gst(format!("ice: could not restrict to {a}")));
            }
        }
    }
    Ok(w)
}

/// Runs one promise-based webrtcbin action and waits for its reply.
fn call(
    w: &gst::Element,
    action: &str,
    arg: Option<&WebRTCSessionDescription>,
) -> Result<Option<gst::Structure>> {
    let promise = gst::Promise::new();
    match arg {
        Some(desc) => w.emit_by_name::<()>(action, &[desc, &promise]),
        None => w.emit_by_name::<()>(action, &[&None::<gst::Structure>, &promise]),
    }
    match promise.wait() {
        gst::PromiseResult::Replied => {}
        r => return Err(MediaError::gst(format!("{action}: {r:?}"))),
    }
    let reply = promise.get_reply().map(|s| s.to_owned());
    if let Some(err) = reply
        .as_ref()
        .and_then(|s| s.get::<gst::glib::Error>("error").ok())
    {
        return Err(MediaError::gst(format!("{action}: {err}")));
    }
    Ok(reply)
}

fn described(w: &gst::Element, action: &str, field: &str) -> Result<WebRTCSessionDescription> {
    call(w, action, None)?
        .and_then(|s| s.get::<WebRTCSessionDescription>(field).ok())
        .ok_or_else(|| MediaError::gst(format!("{action} gave no {field}")))
}

/// create-offer, then set-local-description; returns the offer's SDP text.
pub fn create_offer(w: &gst::Element) -> Result<String> {
    let offer = described(w, "create-offer", "offer")?;
    call(w, "set-local-description", Some(&offer))?;
    Ok(offer.sdp().as_text()?.to_string())
}

/// create-answer, then set-local-description; returns the answer's SDP text.
pub fn create_answer(w: &gst::Element) -> Result<String> {
    let answer = described(w, "create-answer", "answer")?;
    call(w, "set-local-description", Some(&answer))?;
    Ok(answer.sdp().as_text()?.to_string())
}

pub fn set_remote(w: &gst::Element, kind: WebRTCSDPType, sdp: SDPMessage) -> Result<()> {
    let desc = WebRTCSessionDescription::new(kind, sdp);
    call(w, "set-remote-description", Some(&desc)).map(|_| ())
}

pub fn set_remote_text(w: &gst::Element, kind: WebRTCSDPType, text: &str) -> Result<()> {
    let sdp = SDPMessage::parse_buffer(text.as_bytes())
        .map_err(|_| MediaError::InvalidSdp("the answer could not be parsed".into()))?;
    set_remote(w, kind, sdp)
}

pub fn add_ice_candidate(w: &gst::Element, mline_index: u32, candidate: &str) {
    w.emit_by_name::<()>("add-ice-candidate", &[&mline_index, &candidate]);
}

/// The RTP caps a transceiver prefers, so webrtcbin uses the offered payload type.
pub fn opus_caps(payload: u8) -> gst::Caps {
    gst::Caps::builder("application/x-rtp")
        .field("media", "audio")
        .field("encoding-name", "OPUS")
        .field("clock-rate", 48000i32)
        .field("payload", payload as i32)
        .field("encoding-params", "2")
        .build()
}

/// The RTP caps a VP8 transceiver prefers.
pub fn vp8_caps(payload: u8) -> gst::Caps {
    gst::Caps::builder("application/x-rtp")
        .field("media", "video")
        .field("encoding-name", "VP8")
        .field("clock-rate", 90000i32)
        .field("payload", payload as i32)
        .build()
}

/// Links `from`'s src pad to a new sink pad of `webrtc` and makes that pad's transceiver send and
/// receive `caps` (the one way every sending m-line is set up).
pub fn link_sendrecv(webrtc: &gst::Element, from: &gst::Element, caps: gst::Caps) -> Result<()> {
    let sink = webrtc
        .request_pad_simple("sink_%u")
        .ok_or_else(|| MediaError::gst("webrtcbin gave no sink pad"))?;
    from.static_pad("src")
        .ok_or_else(|| MediaError::gst(format!("{} has no src pad", from.name())))?
        .link(&sink)?;
    let t = sink.property::<gstreamer_webrtc::WebRTCRTPTransceiver>("transceiver");
    t.set_property(
        "direction",
        gstreamer_webrtc::WebRTCRTPTransceiverDirection::Sendrecv,
    );
    t.set_property("codec-preferences", caps);
    Ok(())
}

/// Adds `desc` (gst-launch syntax) to `pipeline` as one bin with ghost pads.
pub fn add_bin(pipeline: &gst::Pipeline, desc: &str) -> Result<gst::Bin> {
    let bin = gst::parse::bin_from_description(desc, true)?;
    pipeline.add(&bin)?;
    Ok(bin)
}

#[cfg(test)]
mod debug_tests {
    use super::IceConfig;

    #[test]
    fn debug_never_shows_the_turn_password() {
        let ice = IceConfig {
            turn_server: Some("turn://court:s3cret-turn@turn.example:3478".into()),
            ..IceConfig::default()
        };
        let shown = format!("{ice:?}");
        assert!(!shown.contains("s3cret-turn"), "{shown}");
        assert!(!shown.contains("court:"), "{shown}");
        assert!(shown.contains("turn.example:3478"), "{shown}");
    }
}
