//! One reader of the log per hearing for the events other nodes append. A watcher receives this
//! node's own appends at once through the hub; what another node appended reaches the hub from
//! this hearing's tail, which reads the log every `watch_poll` while anyone on this node watches
//! the hearing. A thousand idle watchers of a hearing cost one query per poll, not a thousand.
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use super::App;
use crate::domain::HearingId;

/// How far back a new tail starts, so that an event another node appended while a watcher
/// caught up and the tail started is relayed too (watchers skip what they already have).
const TAIL_MARGIN: u64 = 16;

/// The hearings that have a tail running on this node.
#[derive(Clone, Default)]
pub(super) struct Tails(Arc<Mutex<HashSet<HearingId>>>);

impl App {
    /// Starts hearing `id`'s tail unless it runs already. It ends once nobody on this node
    /// watches the hearing, or when the node shuts down.
    pub(super) fn tail(&self, id: HearingId) {
        if !self.tails.0.lock().expect("tails lock").insert(id) {
            return;
        }
        let (store, hub, tails, every) = (
            self.store.clone(),
            self.hub.clone(),
            self.tails.clone(),
            self.tail_poll,
        );
        tokio::spawn(async move {
            let closed = hub.closed();
            tokio::pin!(closed);
            let mut last = match store.hearing(id).await {
                Ok(Some((_, seq, _))) => Some(seq.saturating_sub(TAIL_MARGIN)),
                _ => None,
            };
            loop {
                tokio::select! {
                    () = &mut closed => break,
                    () = tokio::time::sleep(every) => {}
                }
                {
                    let mut running = tails.0.lock().expect("tails lock");
                    if hub.watchers(id) == 0 {
                        running.remove(&id);
                        return;
                    }
                }
                metrics::counter!("opencourt_log_tail_reads_total").increment(1);
                let from = match last {
                    Some(seq) => seq,
                    None => match store.hearing(id).await {
                        Ok(Some((_, seq, _))) => seq.saturating_sub(TAIL_MARGIN),
                        _ => continue,
                    },
                };
                match store.events_after(id, from, 500).await {
                    Ok(batch) => {
                        last = Some(batch.last().map_or(from, |e| e.seq));
                        hub.relay(id, &batch);
                    }
                    // The next poll tries again; watchers keep what they have meanwhile.
                    Err(e) => {
                        tracing::warn!(hearing = %id, error = %e, "reading the log for watchers")
                    }
                }
            }
            tails.0.lock().expect("tails lock").remove(&id);
        });
    }
}
