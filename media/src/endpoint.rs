//! The server's end of one participant's connection: a `webrtcbin` that receives their Opus audio
//! (and VP8 video, if offered) and hands it, un-transcoded, to the hearing's room (the recorder),
//! which mixes it and writes their track. It sends back what the room makes for them (their
//! [`recorder::LiveOut`]): their N-1 mix as Opus and, if they offered video, the courtroom view
//! (or the waiting card) as VP8, payloaded here without transcoding. One small pipeline per
//! connection, so a participant reconnecting never touches the room's pipeline.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_webrtc::{WebRTCRTPTransceiver, WebRTCRTPTransceiverDirection, WebRTCSDPType};

use crate::error::{MediaError, Result};
use crate::peer::{self, IceConfig};
use crate::sdp::{Kind, Offer};
use crate::stats::{self, Baseline, PeerState, PeerView, Reading};

pub struct Endpoint {
    pipeline: gst::Pipeline,
    webrtc: gst::Element,
    closing: Arc<AtomicBool>,
    out: recorder::LiveOut,
    state: Arc<Mutex<PeerState>>,
    arrivals: Arc<Arrivals>,
    /// The statistics the last view was measured against.
    baseline: Mutex<Baseline>,
}

/// What has arrived from the participant on this connection, and when it last did.
#[derive(Default)]
struct Arrivals {
    last: Mutex<Option<Instant>>,
    audio: AtomicBool,
    video: AtomicBool,
}

impl Arrivals {
    fn arrived(&self, video: bool) {
        *self.last.lock().expect("arrivals lock") = Some(Instant::now());
        let kind = if video { &self.video } else { &self.audio };
        kind.store(true, Ordering::Relaxed);
    }
}

/// Where the room's encoded media enters this connection: stamped on arrival with this
/// pipeline's clock; at most a second is held (a stuck connection drops the oldest).
const SEND_SRC: &str = "format=time is-live=true do-timestamp=true block=false \
                        max-time=1000000000 leaky-type=downstream";

impl Endpoint {
    /// Builds the endpoint for `offer`, answers it and starts ICE. What it receives goes into
    /// `live` (the participant's place in the room, which decides what is heard and kept).
    /// Blocks: call from a blocking thread.
    pub fn start(
        offer: Offer,
        live: recorder::LiveIn,
        peer: &str,
        ice: &IceConfig,
        on_candidate: impl Fn(u32, String) + Send + Sync + 'static,
    ) -> Result<(Endpoint, String)> {
        peer::init()?;
        let pipeline = gst::Pipeline::with_name(&format!("endpoint-{peer}"));
        let webrtc = peer::webrtcbin("webrtc", ice)?;
        pipeline.add(&webrtc)?;
        log_bus(&pipeline, peer);

        let mut audio_out = None;
        let mut video_out = None;
        for s in &offer.streams {
            let (send, caps) = match s.kind {
                Kind::Audio if audio_out.is_none() => (
                    format!(
                        "appsrc name=out {SEND_SRC} ! rtpopuspay pt={} ! queue",
                        s.payload
                    ),
                    peer::opus_caps(s.payload),
                ),
                Kind::Video if video_out.is_none() => (
                    format!(
                        "appsrc name=out {SEND_SRC} ! rtpvp8pay pt={} ! queue",
                        s.payload
                    ),
                    peer::vp8_caps(s.payload),
                ),
                // one stream of each kind is sent; further offered video is only received
                Kind::Video => {
                    webrtc.emit_by_name::<WebRTCRTPTransceiver>(
                        "add-transceiver",
                        &[
                            &WebRTCRTPTransceiverDirection::Recvonly,
                            &peer::vp8_caps(s.payload),
                        ],
                    );
                    continue;
                }
                Kind::Audio => continue,
            };
            let bin = peer::add_bin(&pipeline, &send)?;
            peer::link_sendrecv(&webrtc, bin.upcast_ref(), caps)?;
            let src = bin
                .by_name("out")
                .and_then(|e| e.downcast::<gstreamer_app::AppSrc>().ok())
                .ok_or_else(|| MediaError::gst("send bin has no appsrc"))?;
            match s.kind {
                Kind::Audio => audio_out = Some(src),
                Kind::Video => video_out = Some(src),
            }
        }
        let audio_out =
            audio_out.ok_or_else(|| MediaError::InvalidSdp("it offers no Opus audio".into()))?;
        let out = recorder::LiveOut::new(audio_out, video_out);

        webrtc.connect("on-ice-candidate", false, move |v| {
            let mline = v[1].get::<u32>().unwrap_or(0);
            if let Ok(c) = v[2].get::<String>() {
                on_candidate(mline, c);
            }
            None
        });

        let closing = Arc::new(AtomicBool::new(false));
        let arrivals = Arc::new(Arrivals::default());
        {
            let (pipeline_weak, closing) = (pipeline.downgrade(), closing.clone());
            let (peer, arrivals) = (peer.to_string(), arrivals.clone());
            webrtc.connect_pad_added(move |_, pad| {
                let Some(pipeline) = pipeline_weak.upgrade() else {
                    return;
                };
                let (live, closing, arrivals) = (live.clone(), closing.clone(), arrivals.clone());
                if let Err(e) = forward(&pipeline, pad, live, closing, arrivals) {
                    tracing::error!(peer = %peer, error = %e, "could not take a stream");
                }
            });
        }
        let state = Arc::new(Mutex::new(PeerState::Connecting));
        webrtc.connect_notify(Some("connection-state"), {
            let (peer, state) = (peer.to_string(), state.clone());
            move |w, _| {
                let s =
                    w.property::<gstreamer_webrtc::WebRTCPeerConnectionState>("connection-state");
                tracing::debug!(peer = %peer, state = ?s, "connection state");
                *state.lock().expect("state lock") = s.into();
            }
        });

        pipeline.set_state(gst::State::Playing)?;
        let started = (|| {
            // What webrtcbin refuses in an offer is the client's to fix.
            peer::set_remote(&webrtc, WebRTCSDPType::Offer, offer.message).map_err(|e| {
                let why = match e {
                    MediaError::Gst(m) => m,
                    e => e.to_string(),
                };
                MediaError::InvalidSdp(format!("the offer was refused ({why})"))
            })?;
            peer::create_answer(&webrtc)
        })();
        let endpoint = Endpoint {
            pipeline,
            webrtc,
            closing,
            out,
            state,
            arrivals,
            baseline: Mutex::new(Baseline {
                at: Instant::now(),
                reading: Reading::default(),
            }),
        };
        match started {
            Ok(answer) => Ok((endpoint, answer)),
            Err(e) => {
                endpoint.close();
                Err(e)
            }
        }
    }

    pub fn add_ice_candidate(&self, mline_index: u32, candidate: &str) {
        peer::add_ice_candidate(&self.webrtc, mline_index, candidate);
    }

    /// Where the room sends this participant's media while this connection is theirs.
    pub fn live_out(&self) -> recorder::LiveOut {
        self.out.clone()
    }

    /// The connection's state and its quality since the last view (since it started, the
    /// first time). Blocks up to a second for webrtcbin's statistics: call from a blocking
    /// thread.
    pub fn view(&self, peer: &str, session: &str) -> PeerView {
        let quality = match stats::read_stats(&self.webrtc) {
            Some(now) => {
                let mut base = self.baseline.lock().expect("baseline lock");
                let q = stats::quality(&base.reading, &now, base.at.elapsed());
                *base = Baseline {
                    at: Instant::now(),
                    reading: now,
                };
                q
            }
            None => stats::Quality::default(),
        };
        let a = &self.arrivals;
        PeerView {
            peer: peer.to_string(),
            session: session.to_string(),
            state: *self.state.lock().expect("state lock"),
            quality,
            last_media_ago: a.last.lock().expect("arrivals lock").map(|t| t.elapsed()),
            has_audio: a.audio.load(Ordering::Relaxed),
            has_video: a.video.load(Ordering::Relaxed),
        }
    }

    /// How long ago media last arrived on this connection (none: never).
    pub fn last_media_ago(&self) -> Option<std::time::Duration> {
        self.arrivals
            .last
            .lock()
            .expect("arrivals lock")
            .map(|t| t.elapsed())
    }

    /// Stops: nothing more reaches the room from this connection.
    pub fn close(&self) {
        if self.closing.swap(true, Ordering::SeqCst) {
            return;
        }
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// Hands a received stream to the room as it arrives: Opus packets (parsed, so they carry their
/// headers) and VP8 frames, never re-encoded. Anything else is drained.
fn forward(
    pipeline: &gst::Pipeline,
    pad: &gst::Pad,
    live: recorder::LiveIn,
    closing: Arc<AtomicBool>,
    arrivals: Arc<Arrivals>,
) -> Result<()> {
    let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
    let media = caps
        .structure(0)
        .and_then(|s| s.get::<String>("media").ok())
        .unwrap_or_default();
    let chain: &[&str] = match media.as_str() {
        "audio" => &["queue", "rtpopusdepay", "opusparse"],
        "video" => &["queue", "rtpvp8depay"],
        _ => &["fakesink"],
    };
    let mut elements = chain
        .iter()
        .map(|f| peer::make(f))
        .collect::<Result<Vec<_>>>()?;
    if chain.len() > 1 {
        let sink = gstreamer_app::AppSink::builder()
            .sync(false)
            .max_buffers(0)
            .build();
        let video = media == "video";
        sink.set_callbacks(
            gstreamer_app::AppSinkCallbacks::builder()
                .new_sample(move |s| {
                    let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    if closing.load(Ordering::SeqCst) {
                        return Err(gst::FlowError::Flushing);
                    }
                    arrivals.arrived(video);
                    if video {
                        live.push_video(&sample);
                    } else {
                        live.push_audio(&sample);
                    }
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
        elements.push(sink.upcast());
    }
    pipeline.add_many(&elements)?;
    gst::Element::link_many(&elements)?;
    for e in &elements {
        e.sync_state_with_parent()?;
    }
    let entry = elements[0].static_pad("sink").expect("sink pad");
    pad.link(&entry)?;
    Ok(())
}

/// Logs the pipeline's errors and warnings (GStreamer detail stays in the logs).
pub(crate) fn log_bus(pipeline: &gst::Pipeline, peer: &str) {
    let peer = peer.to_string();
    pipeline
        .bus()
        .expect("pipeline bus")
        .set_sync_handler(move |_, msg| {
            use gst::MessageView;
            match msg.view() {
                MessageView::Error(e) => {
                    tracing::error!(peer = %peer, error = %e.error(), debug = ?e.debug(), "media error")
                }
                MessageView::Warning(w) => {
                    tracing::warn!(peer = %peer, warning = %w.error(), "media warning")
                }
                _ => {}
            }
            gst::BusSyncReply::Drop
        });
}
