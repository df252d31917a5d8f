//! Live fan-out of committed events to watchers on this node. The database stays the source of
//! truth: a watcher that falls behind, or misses an event appended by another node, catches up
//! from the log, so nothing is missed and nothing is sent twice.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use crate::domain::{HearingId, StoredEvent};

#[derive(Clone)]
pub struct Hub {
    channels: Arc<Mutex<HashMap<HearingId, broadcast::Sender<StoredEvent>>>>,
    /// Every hearing's state changes (opened, on and off the record, ended), for whoever runs
    /// something per hearing on this node (the media rooms).
    states: broadcast::Sender<StoredEvent>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            channels: Arc::default(),
            states: broadcast::channel(1024).0,
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
