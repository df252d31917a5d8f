//! A bot's media: a `webrtcbin` client that sends an audio file as its microphone
//! (decodebin → audioconvert/resample → opusenc → rtpopuspay → webrtcbin), exactly what a
//! browser sends, and optionally a VP8 video as its camera (sent as encoded, so that a load test
//! of many bots measures the server, not the bots' encoders). The files start when the connection
//! is up, in real time, and when they end the bot stays connected and silent. Blocking: call
//! from a blocking thread.
use std::path::Path;
use std::sync::{Arc, Mutex};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_webrtc::{
    WebRTCPeerConnectionState, WebRTCRTPTransceiver, WebRTCRTPTransceiverDirection, WebRTCSDPType,
};
use tokio::sync::mpsc::UnboundedSender;

use crate::error::{MediaError, Result};
use crate::peer::{self, IceConfig};

/// The payload types the bot offers (what Chromium uses).
const OPUS_PT: u8 = 111;
const VP8_PT: u8 = 96;

#[derive(Clone, Debug, PartialEq)]
pub enum BotEvent {
    IceCandidate {
        mline_index: u32,
        candidate: String,
    },
    /// The connection is up and the file started playing.
    Connected,
    /// The whole file was sent (its length in seconds); the bot is silent from now on.
    AudioFinished {
        seconds: f64,
    },
    /// The connection failed or the pipeline stopped with an error.
    Failed(String),
}

pub struct Bot {
    pipeline: gst::Pipeline,
    webrtc: gst::Element,
}

/// Adds the camera: `file` (VP8 in WebM/Matroska) demuxed, paced to the clock and payloaded
/// as it is, held back until the connection is up. Returns the held pad and its probe.
fn send_video(
    pipeline: &gst::Pipeline,
    webrtc: &gst::Element,
    file: &Path,
) -> Result<(gst::Pad, Option<gst::PadProbeId>)> {
    if !file.is_file() {
        return Err(MediaError::Io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{} is not a file", file.display()),
        )));
    }
    // Not `add_bin`: ghosting unlinked pads would take the queue's sink before the demuxer's
    // pad appears, and the delayed link would then fail.
    let bin = gst::parse::bin_from_description(
        &format!(
            "filesrc location=\"{}\" ! matroskademux name=demux \
             demux.video_0 ! queue name=hold ! clocksync ! rtpvp8pay pt={VP8_PT} ! queue name=out",
            file.display().to_string().replace('"', "")
        ),
        false,
    )?;
    let out = bin
        .by_name("out")
        .and_then(|q| q.static_pad("src"))
        .ok_or_else(|| MediaError::gst("video queue"))?;
    bin.add_pad(&gst::GhostPad::with_target(&out)?)?;
    pipeline.add(&bin)?;
    let sink = webrtc
        .request_pad_simple("sink_%u")
        .ok_or_else(|| MediaError::gst("webrtcbin gave no sink pad"))?;
    bin.static_pad("src")
        .ok_or_else(|| MediaError::gst("video bin has no src"))?
        .link(&sink)?;
    let t = sink.property::<WebRTCRTPTransceiver>("transceiver");
    t.set_property("direction", WebRTCRTPTransceiverDirection::Sendrecv);
    t.set_property(
        "codec-preferences",
        gst::Caps::builder("application/x-rtp")
            .field("media", "video")
            .field("encoding-name", "VP8")
            .field("clock-rate", 90000i32)
            .field("payload", VP8_PT as i32)
            .build(),
    );
    let hold = bin
        .by_name("hold")
        .and_then(|q| q.static_pad("src"))
        .ok_or_else(|| MediaError::gst("video queue"))?;
    let probe = hold.add_probe(
        gst::PadProbeType::BLOCK | gst::PadProbeType::BUFFER,
        |_, _| gst::PadProbeReturn::Ok,
    );
    // As with the audio, the file's end is not the connection's: its EOS is held back.
    hold.add_probe(
        gst::PadProbeType::BLOCK | gst::PadProbeType::EVENT_DOWNSTREAM,
        |_, info| match info.event().map(|e| e.type_()) {
            Some(gst::EventType::Eos) => gst::PadProbeReturn::Ok,
            _ => gst::PadProbeReturn::Pass,
        },
    );
    Ok((hold, probe))
}

impl Bot {
    /// Builds the pipeline for `audio` (and `video`: VP8 in WebM) and starts it; the files wait
    /// for the connection.
    pub fn start(
        audio: &Path,
        video: Option<&Path>,
        ice: &IceConfig,
        events: UnboundedSender<BotEvent>,
    ) -> Result<Bot> {
        peer::init()?;
        if !audio.is_file() {
            return Err(MediaError::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{} is not a file", audio.display()),
            )));
        }
        let pipeline = gst::Pipeline::with_name("bot");
        let webrtc = peer::webrtcbin("webrtc", ice)?;
        let src = peer::make("filesrc")?;
        src.set_property("location", audio.to_string_lossy().to_string());
        let decode = peer::make("decodebin")?;
        let chain = [
            "audioconvert",
            "audioresample",
            "clocksync",
            "opusenc",
            "rtpopuspay",
        ]
        .iter()
        .map(|f| peer::make(f))
        .collect::<Result<Vec<_>>>()?;
        chain[4].set_property("pt", OPUS_PT as u32);
        pipeline.add_many([&src, &decode, &webrtc])?;
        pipeline.add_many(&chain)?;
        src.link(&decode)?;
        gst::Element::link_many(&chain)?;
        crate::endpoint::log_bus(&pipeline, "bot");

        let sink = webrtc
            .request_pad_simple("sink_%u")
            .ok_or_else(|| MediaError::gst("webrtcbin gave no sink pad"))?;
        chain[4].static_pad("src").expect("src").link(&sink)?;
        let t = sink.property::<WebRTCRTPTransceiver>("transceiver");
        t.set_property("direction", WebRTCRTPTransceiverDirection::Sendrecv);
        t.set_property("codec-preferences", peer::opus_caps(OPUS_PT));

        // Hold the file back until the connection is up, then shift it to "now" so it plays
        // from its start in real time (clocksync paces it).
        let convert_sink = chain[0].static_pad("sink").expect("sink");
        let gate = convert_sink
            .add_probe(
                gst::PadProbeType::BLOCK | gst::PadProbeType::BUFFER,
                |_, _| gst::PadProbeReturn::Ok,
            )
            .ok_or_else(|| MediaError::gst("could not hold the file back"))?;
        let gate = Arc::new(Mutex::new(Some(gate)));
        decode.connect_pad_added(move |_, pad| {
            if pad.query_caps(None).to_string().starts_with("audio/") && !convert_sink.is_linked() {
                if let Err(e) = pad.link(&convert_sink) {
                    tracing::error!(error = %e, "could not link the decoded audio");
                }
            }
        });

        // The file's end is not the bot's: its EOS is held back (the file's streaming thread
        // waits there until the bot stops) so the connection stays up, silent. Dropping the EOS
        // instead trips a GStreamer 1.22 critical.
        let enc_sink = chain[3].static_pad("sink").expect("sink");
        let span = Arc::new(Mutex::new((None::<gst::ClockTime>, gst::ClockTime::ZERO)));
        let seen = span.clone();
        enc_sink.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(b) = info.buffer() {
                let (pts, dur) = (
                    b.pts().unwrap_or_default(),
                    b.duration().unwrap_or_default(),
                );
                let mut s = seen.lock().expect("span");
                s.0.get_or_insert(pts);
                s.1 = pts + dur;
            }
            gst::PadProbeReturn::Ok
        });
        let finished = events.clone();
        enc_sink.add_probe(
            gst::PadProbeType::BLOCK | gst::PadProbeType::EVENT_DOWNSTREAM,
            move |_, info| {
                if !matches!(info.event().map(|e| e.type_()), Some(gst::EventType::Eos)) {
                    return gst::PadProbeReturn::Pass;
                }
                let (first, last) = *span.lock().expect("span");
                let seconds =
                    last.saturating_sub(first.unwrap_or_default()).nseconds() as f64 / 1e9;
                let _ = finished.send(BotEvent::AudioFinished { seconds });
                gst::PadProbeReturn::Ok
            },
        );

        let video_gate = match video {
            Some(v) => Some(send_video(&pipeline, &webrtc, v)?),
            None => None,
        };
        let resample_src = chain[1].static_pad("src").expect("src");
        let (ev, pipe) = (events.clone(), pipeline.downgrade());
        let gate_pad = chain[0].static_pad("sink").expect("sink");
        let video_gate = Mutex::new(video_gate);
        webrtc.connect_notify(Some("connection-state"), move |w, _| {
            let s = w.property::<WebRTCPeerConnectionState>("connection-state");
            tracing::debug!(state = ?s, "bot connection state");
            match s {
                WebRTCPeerConnectionState::Connected => {
                    let Some(id) = gate.lock().expect("gate").take() else {
                        return;
                    };
                    let now = pipe
                        .upgrade()
                        .and_then(|p| p.current_running_time())
                        .unwrap_or_default();
                    resample_src.set_offset(now.nseconds() as i64);
                    gate_pad.remove_probe(id);
                    if let Some((pad, probe)) = video_gate.lock().expect("gate").take() {
                        pad.set_offset(now.nseconds() as i64);
                        if let Some(probe) = probe {
                            pad.remove_probe(probe);
                        }
                    }
                    let _ = ev.send(BotEvent::Connected);
                }
                WebRTCPeerConnectionState::Failed => {
                    let _ = ev.send(BotEvent::Failed("the connection failed".into()));
                }
                _ => {}
            }
        });
        let ev = events.clone();
        webrtc.connect("on-ice-candidate", false, move |v| {
            let mline_index = v[1].get::<u32>().unwrap_or(0);
            if let Ok(candidate) = v[2].get::<String>() {
                let _ = ev.send(BotEvent::IceCandidate {
                    mline_index,
                    candidate,
                });
            }
            None
        });
        // What the server sends back is not kept.
        let pipe = pipeline.downgrade();
        webrtc.connect_pad_added(move |_, pad| {
            let Some(p) = pipe.upgrade() else { return };
            let Ok(sink) = peer::make("fakesink") else {
                return;
            };
            sink.set_property("async", false);
            if p.add(&sink).is_ok() {
                let _ = sink.sync_state_with_parent();
                let _ = pad.link(&sink.static_pad("sink").expect("sink"));
            }
        });

        pipeline.set_state(gst::State::Playing)?;
        Ok(Bot { pipeline, webrtc })
    }

    /// The offer to send to the server.
    pub fn offer(&self) -> Result<String> {
        peer::create_offer(&self.webrtc)
    }

    pub fn accept_answer(&self, sdp: &str) -> Result<()> {
        peer::set_remote_text(&self.webrtc, WebRTCSDPType::Answer, sdp)
    }

    pub fn add_ice_candidate(&self, mline_index: u32, candidate: &str) {
        if !candidate.is_empty() {
            peer::add_ice_candidate(&self.webrtc, mline_index, candidate);
        }
    }

    pub fn stop(self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}
