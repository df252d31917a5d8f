//! Live fan-out of committed events to watchers on this node. The database stays the source of
//! truth: a watcher that falls behind, or misses an event appended by another node, catches up
//! from the log, so nothing is missed and nothing is sent twice.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, watch};

use crate::domain::{HearingId, StoredEvent};

#[derive(Clone)]
pub struct Hub {
    channels: Arc<Mutex<HashMap<HearingId, broadcast::Sender<StoredEvent>>>>,
    /// Every hearing's state changes (opened, on and off the record, ended), for whoever runs
    /// something per hearing on this node (the media rooms).
    states: broadcast::Sender<StoredEvent>,
    /// Set once, when the node shuts down: watchers end so that open streams do not hold the
    /// server's graceful shutdown forever.
    closing: Arc<watch::Sender<bool>>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            channels: Arc::default(),
            states: broadcast::channel(1024).0,
            closing: Arc::new(watch::channel(false).0),
        }
    }
}

impl Hub {
    pub fn subscribe(&self, id: HearingId) -> broadcast::Receiver<StoredEvent> {
        let mut map = self.channels.lock().expect("hub lock");
        map.retain(|_, tx| tx.receiver_count() > 0);
        map.entry(id)
            .or_insert_with(|| broadcast::channel(1024).0)
            .subscribe()
    }

    /// Every hearing's state changes committed on this node from now on.
    pub fn subscribe_states(&self) -> broadcast::Receiver<StoredEvent> {
        self.states.subscribe()
    }

    /// The node is shutting down: every watcher (`App::watch`) ends, now and from now on.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Completes once `close` was called.
    pub fn closed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.closing.subscribe();
        async move {
            // Err: the sender is gone, which cannot happen while `rx`'s hub lives; either way
            // nothing will close this hub any more, so wait forever.
            if rx.wait_for(|closing| *closing).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Hands events another node committed to this node's watchers of hearing `id` (not to the
    /// state subscribers: the media rooms follow the log themselves).
    pub fn relay(&self, id: HearingId, events: &[StoredEvent]) {
        let tx = self.channels.lock().expect("hub lock").get(&id).cloned();
        if let Some(tx) = tx {
            for e in events {
                let _ = tx.send(e.clone());
            }
        }
    }

    /// How many receivers hearing `id`'s channel has on this node.
    pub fn watchers(&self, id: HearingId) -> usize {
        self.channels
            .lock()
            .expect("hub lock")
            .get(&id)
            .map_or(0, |tx| tx.receiver_count())
    }

    /// Publishes events that are already committed.
    pub fn publish(&self, id: HearingId, events: &[StoredEvent]) {
        for e in events.iter().filter(|e| e.kind == "state_changed") {
            let _ = self.states.send(e.clone());
        }
        let tx = self.channels.lock().expect("hub lock").get(&id).cloned();
        if let Some(tx) = tx {
            for e in events {
                let _ = tx.send(e.clone());
            }
        }
    }
}
