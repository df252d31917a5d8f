//! Following a hearing's log: the stored events first, then live ones, with no gap and no
//! repeat.
use std::time::Duration;

use futures::Stream;
use tokio::sync::broadcast::error::RecvError;

use super::access::{standing, HearingRead};
use super::{App, Caller};
use crate::domain::read_policy::{
    own_only_shows, presence_after, read_access, ReadPath, Reading, Standing,
};
use crate::domain::*;
use crate::error::{CoreError, Result};

impl App {
    /// Events after `after_seq`, then live ones as they commit: no gap, no repeat. Ends after
    /// the caller's own removal.
    pub async fn watch(
        &self,
        caller: &Caller,
        id: HearingId,
        after_seq: u64,
    ) -> Result<impl Stream<Item = Result<StoredEvent>> + Send + 'static> {
        let read = self.read_hearing(caller, id, ReadPath::Watch).await?;
        let own = match caller {
            Caller::Participant { participant_id, .. } => Some(*participant_id),
            Caller::Staff(_) => None,
        };
        self.tail(id);
        let mut filter = ReadFilter::new(caller, &read);
        let events = futures::StreamExt::filter(
            self.follow(id, after_seq, own, self.watch_poll),
            move |e| std::future::ready(e.as_ref().map_or(true, |e| filter.shows(e))),
        );
        let closed = self.hub.closed();
        // Besides the caller's removal, only the node's shutdown ends a watch (UNAVAILABLE: watch
        // again, on this node or another, after the last seq received); an open stream must not
        // hold the server's graceful shutdown.
        Ok(async_stream::stream! {
            tokio::pin!(events);
            tokio::pin!(closed);
            loop {
                tokio::select! {
                    biased;
                    () = &mut closed => {
                        yield Err(CoreError::Unavailable(
                            "the server is shutting down: watch again after the last seq received".into(),
                        ));
                        break;
                    }
                    e = futures::StreamExt::next(&mut events) => match e {
                        Some(e) => yield e,
                        None => break,
                    },
                }
            }
        })
    }

    /// Every event of hearing `id` after `after_seq`, in order and without gaps: the log first,
    /// then live events from this node's hub, polling the log every `poll` for what other nodes
    /// appended. Ends after the removal of `own`, if given. No permission check: for callers
    /// that checked (`watch`) and for the server's own followers (the media supervisor).
    pub fn follow(
        &self,
        id: HearingId,
        after_seq: u64,
        own: Option<ParticipantId>,
        poll: Duration,
    ) -> impl Stream<Item = Result<StoredEvent>> + Send + 'static {
        let store = self.store.clone();
        let hub = self.hub.clone();
        let mut rx = hub.subscribe(id);
        async_stream::try_stream! {
            let _gauge = WatchGauge::new();
            let mut last = after_seq;
            let mut catch_up = true;
            loop {
                if catch_up {
                    loop {
                        let batch = store.events_after(id, last, 500).await?;
                        let n = batch.len();
                        for e in batch {
                            last = e.seq;
                            let removed_me = is_removal_of(&e, own);
                            yield e;
                            if removed_me { return; }
                        }
                        if n < 500 { break; }
                    }
                    catch_up = false;
                }
                // Wait for a live event; poll the log now and then for other nodes' appends.
                match tokio::time::timeout(poll, rx.recv()).await {
                    Ok(Ok(e)) if e.seq == last + 1 => {
                        last = e.seq;
                        let removed_me = is_removal_of(&e, own);
                        yield e;
                        if removed_me { return; }
                    }
                    Ok(Ok(e)) if e.seq <= last => {}
                    Ok(Ok(_)) | Ok(Err(RecvError::Lagged(_))) | Err(_) => catch_up = true,
                    Ok(Err(RecvError::Closed)) => {
                        rx = hub.subscribe(id);
                        catch_up = true;
                    }
                }
            }
        }
    }
}

/// What a watching participant is shown, event by event, as the read policy allows: their
/// presence is the one the permission check saw for the events it had, then follows their own
/// events (admitted: everything from then on; stood down: their own state only again). Staff are
/// shown everything their check let them watch.
struct ReadFilter {
    me: Option<(ParticipantId, Role, Presence)>,
    visibility: Visibility,
    finished: bool,
    as_of: u64,
}

impl ReadFilter {
    fn new(caller: &Caller, read: &HearingRead) -> Self {
        let me = match standing(caller, &read.hearing) {
            Standing::Participant { role, presence } => match caller {
                Caller::Participant { participant_id, .. } => {
                    Some((*participant_id, role, presence))
                }
                Caller::Staff(_) => None,
            },
            _ => None,
        };
        ReadFilter {
            me,
            visibility: read.visibility,
            finished: read.hearing.state.is_final(),
            as_of: read.last_seq,
        }
    }

    fn shows(&mut self, e: &StoredEvent) -> bool {
        let Some((me, role, presence)) = &mut self.me else {
            return true;
        };
        let Some(payload) = e.payload() else {
            return false;
        };
        // Each event is shown as the caller stood before it (their own admission, stand-down
        // or removal is theirs to see); what follows, as it leaves them.
        let standing = Standing::Participant {
            role: *role,
            presence: *presence,
        };
        let path = match payload {
            EventPayload::Caption { .. } => ReadPath::Captions,
            _ => ReadPath::Watch,
        };
        let shown = match read_access(standing, path, self.visibility, self.finished) {
            Reading::All => true,
            Reading::OwnOnly => own_only_shows(&payload, *me),
            Reading::Denied(_) => false,
        };
        if e.seq > self.as_of {
            if let Some(p) = presence_after(&payload, *me) {
                *presence = p;
            }
            if let EventPayload::StateChanged { to, .. } = &payload {
                self.finished = to.is_final();
            }
        }
        shown
    }
}

fn is_removal_of(e: &StoredEvent, own: Option<ParticipantId>) -> bool {
    own.is_some()
        && matches!(e.payload(), Some(EventPayload::Removed { participant_id, .. }) if Some(participant_id) == own)
}

struct WatchGauge;

impl WatchGauge {
    fn new() -> Self {
        metrics::gauge!("opencourt_watchers").increment(1.0);
        WatchGauge
    }
}

impl Drop for WatchGauge {
    fn drop(&mut self) {
        metrics::gauge!("opencourt_watchers").decrement(1.0);
    }
}
