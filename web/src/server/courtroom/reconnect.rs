//! A closed tab must not stay admitted. A participant's page (or bot) holds `WatchMedia` open for
//! as long as it is connected; when the last such stream of a participant ends (the tab closed,
//! the process died, the network went) and within the reconnect grace (`App::reconnect_grace`,
//! `serve --reconnect-grace-secs`) neither a new stream opens nor media keeps arriving from them,
//! the hearing's log records that they left, disconnected, as OpenCourt itself. Coming back within
//! the grace keeps everything as it was (admission included). Peer connection states alone cannot
//! tell: webrtcbin keeps a connection whose far end vanished "connected".
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hearing_core::app::App;
use hearing_core::domain::{HearingId, ParticipantId};
use opencourt_media::Rooms;
use uuid::Uuid;

/// A hearing and a peer in it (the media node's name for a participant).
type PeerKey = (Uuid, String);

/// Per participant of a hearing: how many `WatchMedia` streams are open, and a generation that
/// every close moves on (a grace started for an older close is void).
#[derive(Clone, Default)]
pub struct Watchers {
    open: Arc<Mutex<HashMap<PeerKey, (usize, u64)>>>,
}

/// Held by one open `WatchMedia` stream; dropping it (the stream ended) may start the grace.
pub struct WatchGuard {
    watchers: Watchers,
    key: PeerKey,
    app: App,
    rooms: Rooms,
}

impl Watchers {
    /// `peer` (the media node's name for the caller) opened a stream for `hearing`.
    pub fn open(&self, app: &App, rooms: &Rooms, hearing: Uuid, peer: &str) -> WatchGuard {
        let key = (hearing, peer.to_string());
        self.open
            .lock()
            .expect("watchers lock")
            .entry(key.clone())
            .or_default()
            .0 += 1;
        WatchGuard {
            watchers: self.clone(),
            key,
            app: app.clone(),
            rooms: rooms.clone(),
        }
    }

    fn still_gone(&self, key: &PeerKey, generation: u64) -> bool {
        self.open
            .lock()
            .expect("watchers lock")
            .get(key)
            .is_some_and(|&(n, g)| n == 0 && g == generation)
    }
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        let generation = {
            let mut open = self.watchers.open.lock().expect("watchers lock");
            let entry = open.entry(self.key.clone()).or_default();
            entry.0 = entry.0.saturating_sub(1);
            entry.1 += 1;
            if entry.0 > 0 {
                return;
            }
            entry.1
        };
        // Staff without a participant of their own have nothing to leave.
        let Ok(pid) = ParticipantId::parse("peer", &self.key.1) else {
            return;
        };
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (watchers, key, app, rooms) = (
            self.watchers.clone(),
            self.key.clone(),
            self.app.clone(),
            self.rooms.clone(),
        );
        rt.spawn(async move {
            let grace = app.reconnect_grace();
            // Media may outlive the stream by a moment (a closing tab's last packets), or for
            // good (a client that sends without watching): wait until it too has stopped for a
            // whole grace, unless a stream opens again first.
            loop {
                tokio::time::sleep(grace).await;
                if !watchers.still_gone(&key, generation) {
                    return;
                }
                if !rooms.media_arriving(key.0, &key.1, grace) {
                    break;
                }
            }
            let hearing = HearingId(key.0);
            match app.record_dropped(hearing, pid).await {
                Ok(()) => tracing::info!(%hearing, participant = %pid, "gone: did not come back within the reconnect grace"),
                Err(e) => tracing::warn!(%hearing, participant = %pid, error = %e, "recording a participant gone"),
            }
        });
    }
}
