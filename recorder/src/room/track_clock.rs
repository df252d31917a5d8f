//! The time line of a live participant's own track.
//!
//! Packets reach the room in bursts: a connection's first packets arrive together (they queued
//! while it came up), and a busy machine delivers a few at a time. Stamped as they arrive, the
//! packets of a burst share one time and a decoder keeps only one of them: a burst of ten
//! packets loses 180 ms of speech. The mix has to take them as they arrive (it is heard live),
//! but the track is the participant's own record, so it is stamped from the packets' own times
//! (their RTP timestamps, which the receiving jitter buffer turns into times on this machine's
//! clock), anchored to the room's clock at the first packet. Losses stay gaps there, and a
//! burst stays speech.
use std::time::Duration;

/// Packets that arrive later than their time by more than this restart the time line at their
/// arrival: the connection stalled, or was replaced (a new connection's times start again).
/// Lateness under it is jitter, which the time line absorbs.
pub(crate) const LATE: Duration = Duration::from_millis(500);

/// A time line ahead of arrival by more than this is restarted too: a burst puts it ahead by
/// what the burst held back (and it stays there, as catching up would drop speech), which the
/// receiving queues bound well under this; more means the connection's times jumped.
pub(crate) const AHEAD: Duration = Duration::from_secs(2);

/// Times for one participant's packets on the room's clock.
#[derive(Debug, Default)]
pub(crate) struct TrackClock {
    /// A packet's own time and the room time it was given.
    anchor: Option<(Duration, Duration)>,
    /// Where the last packet ended on the room's clock.
    end: Duration,
}

impl TrackClock {
    /// The room time for a packet of `dur` whose own time is `pts` (none when the connection
    /// gives none) that arrived at `arrival` (room time). Never before the end of the packet
    /// before, so no packet overlaps another and none is dropped by a decoder.
    pub fn stamp(&mut self, pts: Option<Duration>, dur: Duration, arrival: Duration) -> Duration {
        let on_line = match (self.anchor, pts) {
            (Some((p0, r0)), Some(p)) if p >= p0 => Some(r0 + (p - p0)),
            _ => None,
        };
        let t = match on_line {
            Some(t) if t + LATE >= arrival && t <= arrival + AHEAD => t,
            _ => {
                let t = arrival.max(self.end);
                self.anchor = pts.map(|p| (p, t));
                t
            }
        };
        let t = t.max(self.end);
        self.end = t + dur;
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Duration = Duration::from_millis(20);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Stamps packets given as (own time, arrival) in milliseconds.
    fn stamps(c: &mut TrackClock, packets: &[(Option<u64>, u64)]) -> Vec<u64> {
        packets
            .iter()
            .map(|&(p, a)| c.stamp(p.map(ms), P, ms(a)).as_millis() as u64)
            .collect()
    }

    #[test]
    fn a_burst_keeps_every_packet_at_its_own_time() {
        // as measured: the first eleven packets of a connection arrive together
        let mut c = TrackClock::default();
        let burst: Vec<_> = (0..11).map(|i| (Some(198 + 20 * i), 807)).collect();
        let got = stamps(&mut c, &burst);
        assert_eq!(got, (0..11).map(|i| 807 + 20 * i).collect::<Vec<_>>());
        // then they come at their pace, ahead of arrival by what the burst held back
        assert_eq!(
            stamps(&mut c, &[(Some(418), 815), (Some(438), 834)]),
            [1027, 1047]
        );
    }

    #[test]
    fn jitter_is_absorbed_and_a_lost_packet_stays_a_gap() {
        let mut c = TrackClock::default();
        let got = stamps(
            &mut c,
            &[
                (Some(0), 100),
                (Some(20), 160), // 40 ms late
                (Some(40), 161),
                (Some(60), 162),
                (Some(100), 200), // 80 lost
                (Some(120), 215),
            ],
        );
        assert_eq!(got, [100, 120, 140, 160, 200, 220]);
    }

    #[test]
    fn a_stall_or_a_new_connection_restarts_at_arrival_without_overlap() {
        let mut c = TrackClock::default();
        assert_eq!(
            stamps(&mut c, &[(Some(0), 100), (Some(20), 120)]),
            [100, 120]
        );
        // nothing for a while, then packets far later than their time: the line restarts
        assert_eq!(
            stamps(&mut c, &[(Some(40), 1_000), (Some(60), 1_020)]),
            [1_000, 1_020]
        );
        // a new connection: its times start again near zero
        assert_eq!(
            stamps(&mut c, &[(Some(5), 1_030), (Some(25), 1_050)]),
            [1_040, 1_060]
        );
        // its times jump far ahead
        assert_eq!(stamps(&mut c, &[(Some(60_000), 1_070)]), [1_080]);
    }

    #[test]
    fn without_their_own_times_packets_follow_arrival_and_never_overlap() {
        let mut c = TrackClock::default();
        assert_eq!(
            stamps(
                &mut c,
                &[(None, 100), (None, 100), (None, 150), (None, 300)]
            ),
            [100, 120, 150, 300]
        );
    }
}
