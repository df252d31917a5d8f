//! The server's signals for one peer (its ICE candidates, the end of its connection), kept so a
//! watcher that subscribes late still gets the current connection's candidates: replay, then
//! follow, with no gap and no repeat. Plain Rust, no GStreamer.
use tokio::sync::broadcast;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignalKind {
    IceCandidate {
        mline_index: u32,
        candidate: String,
    },
    /// The connection ended; `last` when no new one may follow (the hearing or the peer's part
    /// in it is over), so watchers can stop; `replaced` when a newer offer of the same peer
    /// (another tab or device) took its place, so its client should not reconnect by itself.
    Closed {
        reason: String,
        last: bool,
        replaced: bool,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signal {
    /// Increases by one per signal of this peer, across its connections.
    pub seq: u64,
    pub session: String,
    pub kind: SignalKind,
}

/// One peer's signals. Callers hold it under the room's lock, so replay and follow line up.
pub struct Board {
    next_seq: u64,
    /// The current connection's signals (cleared when a new one starts).
    history: Vec<Signal>,
    tx: broadcast::Sender<Signal>,
}

impl Default for Board {
    fn default() -> Self {
        Board {
            next_seq: 1,
            history: Vec::new(),
            tx: broadcast::channel(256).0,
        }
    }
}

impl Board {
    /// A new connection: earlier candidates no longer apply.
    pub fn new_session(&mut self) {
        self.history.clear();
    }

    pub fn publish(&mut self, session: &str, kind: SignalKind) {
        let s = Signal {
            seq: self.next_seq,
            session: session.to_string(),
            kind,
        };
        self.next_seq += 1;
        self.history.push(s.clone());
        let _ = self.tx.send(s);
    }

    /// The current connection's signals so far, and a receiver for the ones after them.
    pub fn watch(&self) -> (Vec<Signal>, broadcast::Receiver<Signal>) {
        (self.history.clone(), self.tx.subscribe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(n: u32) -> SignalKind {
        SignalKind::IceCandidate {
            mline_index: 0,
            candidate: format!("candidate:{n}"),
        }
    }

    #[test]
    fn late_watchers_get_the_current_session_then_live_signals() {
        let mut b = Board::default();
        b.publish("s1", cand(1));
        b.new_session();
        b.publish("s2", cand(2));
        let (replay, mut rx) = b.watch();
        assert_eq!(replay.len(), 1);
        assert_eq!((replay[0].seq, replay[0].session.as_str()), (2, "s2"));
        b.publish("s2", cand(3));
        let live = rx.try_recv().unwrap();
        assert_eq!((live.seq, live.kind), (3, cand(3)));
        assert!(
            matches!(
                rx.try_recv(),
                Err(tokio::sync::broadcast::error::TryRecvError::Empty)
            ),
            "nothing more is published"
        );
    }
}
