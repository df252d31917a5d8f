//! The server's end of one participant's connection: a `webrtcbin` that receives their Opus audio
//! (and VP8 video, if offered) and writes it, un-transcoded, to their track file, and sends back
//! a silent Opus stream so the audio transceiver is send-receive. One pipeline per connection:
//! the room (mixing, recording) is the recorder's and will take these branches over.
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_webrtc::{WebRTCRTPTransceiver, WebRTCRTPTransceiverDirection, WebRTCSDPType};

use crate::error::{MediaError, Result};
use crate::peer::{self, IceConfig};
use crate::sdp::{Kind, Offer};

/// How long closing waits for a track file to be finalised.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Endpoint {
    pipeline: gst::Pipeline,
    webrtc: gst::Element,
    tracks: Arc<Mutex<Vec<Track>>>,
    closing: Arc<AtomicBool>,
    /// Whether the peer is in the hearing: in the waiting room nothing of theirs is kept.
    admitted: Arc<AtomicBool>,
}

/// A file being written from one received stream.
struct Track {
    entry: gst::Pad,
    finished: mpsc::Receiver<()>,
    path: PathBuf,
}

impl Endpoint {
    /// Builds the endpoint for `offer`, answers it and starts ICE. Files go to `dir` named
    /// `<peer>-track.ogg` (audio) and `<peer>-video.webm`; only what arrives while `admitted`
    /// is written. Blocks: call from a blocking thread.
    pub fn start(
        offer: Offer,
        dir: &Path,
        peer: &str,
        admitted: bool,
        ice: &IceConfig,
        on_candidate: impl Fn(u32, String) + Send + Sync + 'static,
    ) -> Result<(Endpoint, String)> {
        peer::init()?;
        std::fs::create_dir_all(dir)?;
        let pipeline = gst::Pipeline::with_name(&format!("endpoint-{peer}"));
        let webrtc = peer::webrtcbin("webrtc", ice)?;
        pipeline.add(&webrtc)?;
        log_bus(&pipeline, peer);

        let mut audio_sent = false;
        for s in &offer.streams {
            match s.kind {
                Kind::Audio if !audio_sent => {
                    audio_sent = true;
                    let src = peer::add_bin(
                        &pipeline,
                        &format!(
                            "audiotestsrc is-live=true wave=silence ! audio/x-raw,rate=48000,channels=1 \
                             ! opusenc ! rtpopuspay pt={} ! queue",
                            s.payload
                        ),
                    )?;
                    let sink = webrtc
                        .request_pad_simple("sink_%u")
                        .ok_or_else(|| MediaError::gst("webrtcbin gave no sink pad"))?;
                    src.static_pad("src")
                        .ok_or_else(|| MediaError::gst("send bin has no src"))?
                        .link(&sink)?;
                    let t = sink.property::<WebRTCRTPTransceiver>("transceiver");
                    t.set_property("direction", WebRTCRTPTransceiverDirection::Sendrecv);
                    t.set_property("codec-preferences", peer::opus_caps(s.payload));
                }
                Kind::Audio => {}
                Kind::Video => {
                    let caps = gst::Caps::builder("application/x-rtp")
                        .field("media", "video")
                        .field("encoding-name", "VP8")
                        .field("clock-rate", 90000i32)
                        .field("payload", s.payload as i32)
                        .build();
                    webrtc.emit_by_name::<WebRTCRTPTransceiver>(
                        "add-transceiver",
                        &[&WebRTCRTPTransceiverDirection::Recvonly, &caps],
                    );
                }
            }
        }

        webrtc.connect("on-ice-candidate", false, move |v| {
            let mline = v[1].get::<u32>().unwrap_or(0);
            if let Ok(c) = v[2].get::<String>() {
                on_candidate(mline, c);
            }
            None
        });

        let tracks: Arc<Mutex<Vec<Track>>> = Arc::default();
        let closing = Arc::new(AtomicBool::new(false));
        let admitted = Arc::new(AtomicBool::new(admitted));
        {
            let (pipeline_weak, tracks) = (pipeline.downgrade(), tracks.clone());
            let keep = Keep {
                closing: closing.clone(),
                admitted: admitted.clone(),
            };
            let (dir, peer) = (dir.to_path_buf(), peer.to_string());
            webrtc.connect_pad_added(move |_, pad| {
                let Some(pipeline) = pipeline_weak.upgrade() else {
                    return;
                };
                match record(&pipeline, pad, &dir, &peer, keep.clone()) {
                    Ok(Some(t)) => {
                        tracing::info!(peer = %peer, file = %t.path.display(), "recording track");
                        tracks.lock().expect("tracks").push(t);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::error!(peer = %peer, error = %e, "could not record a stream")
                    }
                }
            });
        }
        webrtc.connect_notify(Some("connection-state"), {
            let peer = peer.to_string();
            move |w, _| {
                let s =
                    w.property::<gstreamer_webrtc::WebRTCPeerConnectionState>("connection-state");
                tracing::debug!(peer = %peer, state = ?s, "connection state");
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
            tracks,
            closing,
            admitted,
        };
        match started {
            Ok(answer) => Ok((endpoint, answer)),
            Err(e) => {
                endpoint.close();
                Err(e)
            }
        }
    }

    /// Admitted: what arrives from now on is written; in the waiting room, it is dropped.
    pub fn set_admitted(&self, admitted: bool) {
        self.admitted.store(admitted, Ordering::SeqCst);
    }

    pub fn add_ice_candidate(&self, mline_index: u32, candidate: &str) {
        peer::add_ice_candidate(&self.webrtc, mline_index, candidate);
    }

    /// Finishes every track file (end of stream through the muxer) and stops. Blocks until the
    /// files are complete or `CLOSE_TIMEOUT` passes.
    pub fn close(&self) -> Vec<PathBuf> {
        if self.closing.swap(true, Ordering::SeqCst) {
            return Vec::new();
        }
        let tracks = std::mem::take(&mut *self.tracks.lock().expect("tracks"));
        for t in &tracks {
            t.entry.send_event(gst::event::Eos::new());
        }
        let mut files = Vec::new();
        for t in tracks {
            if t.finished.recv_timeout(CLOSE_TIMEOUT).is_err() {
                tracing::warn!(file = %t.path.display(), "track did not finish in time");
            }
            files.push(t.path);
        }
        let _ = self.pipeline.set_state(gst::State::Null);
        files
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// Whether received media is kept: not once closing, not while in the waiting room.
#[derive(Clone)]
struct Keep {
    closing: Arc<AtomicBool>,
    admitted: Arc<AtomicBool>,
}

impl Keep {
    fn now(&self) -> bool {
        !self.closing.load(Ordering::SeqCst) && self.admitted.load(Ordering::SeqCst)
    }
}

/// Links a received stream to its file: Opus audio into Ogg, VP8 video into WebM, as received.
fn record(
    pipeline: &gst::Pipeline,
    pad: &gst::Pad,
    dir: &Path,
    peer: &str,
    keep: Keep,
) -> Result<Option<Track>> {
    let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
    let media = caps
        .structure(0)
        .and_then(|s| s.get::<String>("media").ok())
        .unwrap_or_default();
    let (chain, name, ext): (&[&str], _, _) = match media.as_str() {
        "audio" => (
            &["queue", "rtpopusdepay", "opusparse", "oggmux"],
            "track",
            "ogg",
        ),
        "video" => (&["queue", "rtpvp8depay", "webmmux"], "video", "webm"),
        _ => (&["fakesink"], "", ""),
    };
    let mut elements = chain
        .iter()
        .map(|f| peer::make(f))
        .collect::<Result<Vec<_>>>()?;
    let path = free_name(dir, peer, name, ext);
    if !ext.is_empty() {
        let sink = peer::make("filesink")?;
        sink.set_property("location", path.to_string_lossy().to_string());
        sink.set_property("async", false);
        elements.push(sink);
    }
    pipeline.add_many(&elements)?;
    gst::Element::link_many(&elements)?;
    for e in &elements {
        e.sync_state_with_parent()?;
    }
    let entry = elements[0].static_pad("sink").expect("sink pad");
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
        if keep.now() {
            gst::PadProbeReturn::Ok
        } else {
            gst::PadProbeReturn::Drop
        }
    });
    pad.link(&entry)?;
    if ext.is_empty() {
        return Ok(None);
    }
    let (tx, finished) = mpsc::channel();
    let last = elements
        .last()
        .expect("sink")
        .static_pad("sink")
        .expect("sink pad");
    last.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
        if matches!(info.event().map(|e| e.type_()), Some(gst::EventType::Eos)) {
            let _ = tx.send(());
        }
        gst::PadProbeReturn::Ok
    });
    Ok(Some(Track {
        entry,
        finished,
        path,
    }))
}

/// `<peer>-<name>.<ext>`, or `<peer>-<name>-2.<ext>`… when a reconnect would overwrite a file.
fn free_name(dir: &Path, peer: &str, name: &str, ext: &str) -> PathBuf {
    let first = dir.join(format!("{peer}-{name}.{ext}"));
    if !first.exists() {
        return first;
    }
    (2..)
        .map(|n| dir.join(format!("{peer}-{name}-{n}.{ext}")))
        .find(|p| !p.exists())
        .expect("a free name")
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
