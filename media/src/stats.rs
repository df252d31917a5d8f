//! A connection's state and quality as the server sees it: what webrtcbin's `get-stats` counts,
//! turned into rates between two readings. Plain Rust; reading the statistics out of GStreamer is
//! `read_stats` (the only GStreamer here).
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_webrtc::{WebRTCPeerConnectionState, WebRTCStatsType};

/// A peer connection's state (webrtcbin's `connection-state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerState {
    /// The offer was answered; ICE and DTLS are not through yet.
    Connecting,
    Connected,
    /// ICE lost the path (it may come back).
    Disconnected,
    Failed,
    Closed,
}

impl From<WebRTCPeerConnectionState> for PeerState {
    fn from(s: WebRTCPeerConnectionState) -> Self {
        match s {
            WebRTCPeerConnectionState::Connected => PeerState::Connected,
            WebRTCPeerConnectionState::Disconnected => PeerState::Disconnected,
            WebRTCPeerConnectionState::Failed => PeerState::Failed,
            WebRTCPeerConnectionState::Closed => PeerState::Closed,
            _ => PeerState::Connecting,
        }
    }
}

/// Counters of one `get-stats` reading, over every stream the connection receives.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Reading {
    pub bytes_received: u64,
    pub packets_received: u64,
    pub packets_lost: i64,
    /// The largest jitter of the received streams, in seconds.
    pub jitter_s: f64,
    /// The round-trip time RTCP measured (the largest of the streams), in seconds.
    pub rtt_s: f64,
}

/// A connection's quality over the period between two readings.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Quality {
    pub rtt_ms: u32,
    pub jitter_ms: u32,
    /// The share of packets lost in the period (0..1).
    pub loss_fraction: f64,
    /// Bits per second received in the period.
    pub bitrate_in: u64,
}

/// The quality between reading `prev`, taken `elapsed` before `now`, and `now`.
pub fn quality(prev: &Reading, now: &Reading, elapsed: Duration) -> Quality {
    let bytes = now.bytes_received.saturating_sub(prev.bytes_received);
    let received = now.packets_received.saturating_sub(prev.packets_received);
    let lost = (now.packets_lost - prev.packets_lost).max(0) as u64;
    let secs = elapsed.as_secs_f64();
    Quality {
        rtt_ms: (now.rtt_s * 1000.0).round() as u32,
        jitter_ms: (now.jitter_s * 1000.0).round() as u32,
        loss_fraction: if received + lost == 0 {
            0.0
        } else {
            lost as f64 / (received + lost) as f64
        },
        bitrate_in: if secs > 0.0 {
            (bytes as f64 * 8.0 / secs) as u64
        } else {
            0
        },
    }
}

/// What the server knows of one participant's current connection.
#[derive(Clone, Debug, PartialEq)]
pub struct PeerView {
    /// The peer's key (their participant id, or `user-<id>` for staff without one).
    pub peer: String,
    pub session: String,
    pub state: PeerState,
    pub quality: Quality,
    /// Since media last arrived from them (`None`: never on this connection).
    pub last_media_ago: Option<Duration>,
    pub has_audio: bool,
    pub has_video: bool,
}

/// The counters `webrtc` reports now, or `None` when it does not answer within a second.
/// Blocks: call from a blocking thread.
pub(crate) fn read_stats(webrtc: &gst::Element) -> Option<Reading> {
    let (tx, rx) = std::sync::mpsc::channel();
    let promise = gst::Promise::with_change_func(move |reply| {
        let _ = tx.send(reply.ok().flatten().map(|s| s.to_owned()));
    });
    webrtc.emit_by_name::<()>("get-stats", &[&None::<gst::Pad>, &promise]);
    let stats = rx.recv_timeout(Duration::from_secs(1)).ok().flatten()?;
    let mut r = Reading::default();
    for (_, value) in stats.iter() {
        let Ok(s) = value.get::<gst::Structure>() else {
            continue;
        };
        match s.get::<WebRTCStatsType>("type") {
            Ok(WebRTCStatsType::InboundRtp) => {
                r.bytes_received += number(&s, "bytes-received") as u64;
                r.packets_received += number(&s, "packets-received") as u64;
                r.packets_lost += number(&s, "packets-lost") as i64;
                r.jitter_s = r.jitter_s.max(number(&s, "jitter"));
            }
            Ok(WebRTCStatsType::RemoteInboundRtp) => {
                r.rtt_s = r.rtt_s.max(number(&s, "round-trip-time"));
            }
            _ => {}
        }
    }
    Some(r)
}

/// A numeric field of a stats structure whatever its integer or float type (0 when absent).
fn number(s: &gst::StructureRef, field: &str) -> f64 {
    let Ok(v) = s.value(field) else { return 0.0 };
    v.get::<u64>()
        .map(|n| n as f64)
        .or_else(|_| v.get::<i64>().map(|n| n as f64))
        .or_else(|_| v.get::<u32>().map(f64::from))
        .or_else(|_| v.get::<i32>().map(f64::from))
        .or_else(|_| v.get::<f64>())
        .unwrap_or(0.0)
}

/// The counters a connection started from, and when it started.
pub(crate) struct Baseline {
    pub at: Instant,
    pub reading: Reading,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quality_is_the_rate_between_two_readings() {
        let prev = Reading {
            bytes_received: 1_000,
            packets_received: 10,
            packets_lost: 0,
            ..Reading::default()
        };
        let now = Reading {
            bytes_received: 11_000,
            packets_received: 100,
            packets_lost: 10,
            jitter_s: 0.0125,
            rtt_s: 0.0404,
        };
        let q = quality(&prev, &now, Duration::from_secs(2));
        assert_eq!(
            q,
            Quality {
                rtt_ms: 40,
                jitter_ms: 13,
                loss_fraction: 0.1,
                bitrate_in: 40_000,
            }
        );
        // Nothing received and no time passed: zeros, not NaN.
        let q = quality(&now, &now, Duration::ZERO);
        assert_eq!((q.bitrate_in, q.loss_fraction), (0, 0.0));
        // A counter that went back (RTCP's lost count may shrink) is no negative loss.
        let mut fewer = now;
        fewer.packets_lost = 5;
        assert_eq!(
            quality(&now, &fewer, Duration::from_secs(1)).loss_fraction,
            0.0
        );
    }
}
