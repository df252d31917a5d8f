//! Live fan-out of committed events to watchers on this node. The database stays the source of
//! truth: a watcher that falls behind, or misses an event appended by another node, catches up
//! from the log, so nothing is missed and nothing is sent twice.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use crate::domain::{HearingId, StoredEvent};

#[derive(Clone, Default)]
pub struct Hub {
    channels: Arc<Mutex<HashMap<HearingId, broadcast::Sender<StoredEvent>>>>,
}

impl Hub {
    pub fn subscribe(&self, id: HearingId) -> broadcast::Receiver<StoredEvent> {
        let mut map = self.channels.lock().expect("hub lock");
        map.retain(|_, tx| tx.receiver_count() > 0);
        map.entry(id)
            .or_insert_with(|| broadcast::channel(1024).0)
            .subscribe()
    }

    /// Publishes events that are already committed.
    pub fn publish(&self, id: HearingId, events: &[StoredEvent]) {
        let tx = self.channels.lock().expect("hub lock").get(&id).cloned();
        if let Some(tx) = tx {
            for e in events {
                let _ = tx.send(e.clone());
            }
        }
    }
}
