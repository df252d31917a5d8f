//! A bot's media: a `webrtcbin` client that sends an audio file as its microphone
//! (decodebin → audioconvert/resample → opusenc → rtpopuspay → webrtcbin), exactly what a
//! browser sends, and optionally a camera: a VP8 WebM sent as encoded (so that a load test of
//! many bots measures the server, not the bots' encoders) or a small test pattern. The files start
//! when the connection is up, in real time, and when they end the bot stays connected and silent.
//! What the server sends back is measured ([`Bot::received`]) and, when asked, saved: Ogg Opus and
//! WebM VP8 as received, untranscoded. Blocking: call from a blocking thread.
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_webrtc::{WebRTCPeerConnectionState, WebRTCSDPType};
use tokio::sync::mpsc::UnboundedSender;

use crate::error::{MediaError, Result};
use crate::peer::{self, IceConfig};

/// The payload types the bot offers (what Chromium uses).
const OPUS_PT: u8 = 111;
/// The VP8 payload type the bot offers (what Chromium uses).
const VP8_PT: u8 = 96;

/// What a bot does besides sending its audio file.
#[derive(Clone, Debug, Default)]
pub struct BotOptions {
    /// Save what the server sends into this directory (`received-<n>-audio.ogg`,
    /// `received-<n>-video.webm`, a new `n` per bot).
    pub save_received: Option<PathBuf>,
    /// Also send a camera: a small test pattern as VP8, as a browser's camera would.
    pub video: bool,
    /// Send this VP8 WebM as the camera instead, as it is (no encoding in the bot).
    pub camera_file: Option<PathBuf>,
}

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
    heard: Arc<Heard>,
    saving: Arc<Saving>,
}

/// Each saving branch's entry pad, and a receiver told when its file is finished.
type Saving = Mutex<Vec<(gst::Pad, Receiver<()>)>>;

/// What the bot has received from the server so far.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Received {
    /// Seconds of audio decoded.
    pub audio_seconds: f64,
    /// Of which louder than [`LOUD_DBFS`] (speech, not silence).
    pub loud_seconds: f64,
    /// Video frames received (VP8, not decoded).
    pub video_frames: u64,
}

/// A 20 ms stretch of received audio is loud when its RMS is above this.
pub const LOUD_DBFS: f64 = -45.0;

#[derive(Default)]
struct Heard {
    audio_ns: AtomicU64,
    loud_ns: AtomicU64,
    video_frames: AtomicU64,
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
    peer::link_sendrecv(webrtc, bin.upcast_ref(), peer::vp8_caps(VP8_PT))?;
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
    /// Builds the pipeline for `audio` and starts it; the file waits for the connection.
    pub fn start(
        audio: &Path,
        ice: &IceConfig,
        opts: &BotOptions,
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

        peer::link_sendrecv(&webrtc, &chain[4], peer::opus_caps(OPUS_PT))?;
        if opts.video && opts.camera_file.is_none() {
            let cam = peer::add_bin(
                &pipeline,
                &format!(
                    "videotestsrc is-live=true pattern=ball \
                       ! video/x-raw,width=320,height=180,framerate=15/1 \
                     ! vp8enc deadline=1 cpu-used=8 keyframe-max-dist=30 ! rtpvp8pay pt={VP8_PT}"
                ),
            )?;
            peer::link_sendrecv(&webrtc, cam.upcast_ref(), peer::vp8_caps(VP8_PT))?;
        }

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

        let video_gate = match &opts.camera_file {
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
        // What the server sends back is measured, and saved when asked.
        let heard = Arc::new(Heard::default());
        let saving = Arc::new(Mutex::new(Vec::new()));
        let save = match &opts.save_received {
            Some(dir) => Some(save_prefix(dir)?),
            None => None,
        };
        let pipe = pipeline.downgrade();
        let (h, sv) = (heard.clone(), saving.clone());
        webrtc.connect_pad_added(move |_, pad| {
            let Some(p) = pipe.upgrade() else { return };
            if let Err(e) = receive(&p, pad, &h, save.as_deref(), &sv) {
                tracing::error!(error = %e, "could not take what the server sends");
            }
        });

        pipeline.set_state(gst::State::Playing)?;
        Ok(Bot {
            pipeline,
            webrtc,
            heard,
            saving,
        })
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

    /// What the server has sent so far.
    pub fn received(&self) -> Received {
        let s = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64 / 1e9;
        Received {
            audio_seconds: s(&self.heard.audio_ns),
            loud_seconds: s(&self.heard.loud_ns),
            video_frames: self.heard.video_frames.load(Ordering::Relaxed),
        }
    }

    /// Stops; the saved files are finished first (for at most two seconds).
    pub fn stop(self) {
        let saving = std::mem::take(&mut *self.saving.lock().expect("saving"));
        for (entry, _) in &saving {
            entry.send_event(gst::event::Eos::new());
        }
        for (_, done) in saving {
            let _ = done.recv_timeout(Duration::from_secs(2));
        }
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// `dir/received-<n>-` for the first `n` not used yet.
fn save_prefix(dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let mut n = 1;
    loop {
        let prefix = dir.join(format!("received-{n}-"));
        let used = ["audio.ogg", "video.webm"]
            .iter()
            .any(|f| Path::new(&format!("{}{f}", prefix.display())).exists());
        if !used {
            return Ok(prefix);
        }
        n += 1;
    }
}

/// Takes one stream the server sends: audio is decoded and measured, video frames counted;
/// with `save`, each is also written as received.
fn receive(
    pipeline: &gst::Pipeline,
    pad: &gst::Pad,
    heard: &Arc<Heard>,
    save: Option<&Path>,
    saving: &Saving,
) -> Result<()> {
    let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
    let media = caps
        .structure(0)
        .and_then(|s| s.get::<String>("media").ok())
        .unwrap_or_default();
    let (depay, measure, file, mux) = match media.as_str() {
        "audio" => (
            "rtpopusdepay",
            "opusdec ! audioconvert ! audio/x-raw,format=S16LE,rate=48000,channels=1",
            "audio.ogg",
            "opusparse ! oggmux",
        ),
        "video" => (
            "rtpvp8depay",
            "identity",
            "video.webm",
            "webmmux streamable=true",
        ),
        _ => ("identity", "identity", "", ""),
    };
    let keep = match save {
        Some(prefix) if !file.is_empty() => format!(
            "t. ! queue name=save ! {mux} ! filesink name=file location=\"{}{file}\"",
            prefix.display()
        ),
        _ => String::new(),
    };
    let desc = format!(
        "queue ! {depay} ! tee name=t t. ! queue ! {measure} \
           ! fakesink name=measure sync=false async=false {keep}"
    );
    let bin = gst::parse::bin_from_description(&desc, true)?;
    let probe = bin
        .by_name("measure")
        .and_then(|e| e.static_pad("sink"))
        .ok_or_else(|| MediaError::gst("no measuring sink"))?;
    let h = heard.clone();
    let audio = media == "audio";
    probe.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        let Some(b) = info.buffer() else {
            return gst::PadProbeReturn::Ok;
        };
        if !audio {
            h.video_frames.fetch_add(1, Ordering::Relaxed);
            return gst::PadProbeReturn::Ok;
        }
        let Ok(map) = b.map_readable() else {
            return gst::PadProbeReturn::Ok;
        };
        let samples = map.as_slice().chunks_exact(2);
        let n = samples.len() as u64;
        let sum: f64 = samples
            .map(|c| (f64::from(i16::from_le_bytes([c[0], c[1]])) / 32768.0).powi(2))
            .sum();
        let ns = n * 1_000_000_000 / 48_000;
        h.audio_ns.fetch_add(ns, Ordering::Relaxed);
        let db = 10.0 * (sum / n.max(1) as f64).max(1e-12).log10();
        if db > LOUD_DBFS {
            h.loud_ns.fetch_add(ns, Ordering::Relaxed);
        }
        gst::PadProbeReturn::Ok
    });
    if let (Some(entry), Some(sink)) = (
        bin.by_name("save").and_then(|e| e.static_pad("sink")),
        bin.by_name("file").and_then(|e| e.static_pad("sink")),
    ) {
        let (tx, rx) = sync_channel(1);
        sink.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
            if matches!(info.event().map(|e| e.type_()), Some(gst::EventType::Eos)) {
                let _ = tx.try_send(());
            }
            gst::PadProbeReturn::Ok
        });
        saving.lock().expect("saving").push((entry, rx));
    }
    pipeline.add(&bin)?;
    bin.sync_state_with_parent()?;
    let entry = bin
        .static_pad("sink")
        .ok_or_else(|| MediaError::gst("receiving bin has no sink"))?;
    pad.link(&entry)?;
    Ok(())
}
