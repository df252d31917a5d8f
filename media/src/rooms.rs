//! Every hearing's WebRTC endpoints on this node, one per connected peer, with the signals each
//! peer's watcher needs. Methods that start or stop endpoints block: call them from a blocking
//! thread.
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;
use uuid::Uuid;

use crate::endpoint::Endpoint;
use crate::error::{MediaError, Result};
use crate::peer::IceConfig;
use crate::sdp::Offer;
use crate::signals::{Board, Signal, SignalKind};

/// (hearing, peer): a peer is a participant id (or a staff user's id when they have none).
type Key = (Uuid, String);

#[derive(Clone)]
pub struct Rooms {
    inner: Arc<Inner>,
}

struct Inner {
    media_dir: PathBuf,
    ice: IceConfig,
    peers: Mutex<HashMap<Key, Peer>>,
}

#[derive(Default)]
struct Peer {
    board: Board,
    current: Option<(String, Arc<Endpoint>)>,
    /// In the hearing (not the waiting room): their media is kept.
    admitted: bool,
}

/// What a successful offer gives back.
#[derive(Debug)]
pub struct Answer {
    pub sdp: String,
    pub session: String,
}

impl Rooms {
    /// Tracks go to `media_dir/<hearing>/<peer>-track.ogg`.
    pub fn new(media_dir: PathBuf, ice: IceConfig) -> Self {
        Rooms {
            inner: Arc::new(Inner {
                media_dir,
                ice,
                peers: Mutex::default(),
            }),
        }
    }

    /// Answers `peer`'s offer with a new endpoint, replacing (and closing) its previous one.
    /// `admitted`: whether they are in the hearing now (else in the waiting room, where nothing
    /// of theirs is kept); `set_admitted` follows later changes.
    pub fn connect(
        &self,
        hearing: Uuid,
        peer: &str,
        admitted: bool,
        offer: Offer,
    ) -> Result<Answer> {
        let key = (hearing, peer.to_string());
        self.close_peer(hearing, peer, "replaced by a new offer", false);
        let session = Uuid::new_v4().to_string();
        self.with_peer(&key, |p| {
            p.board.new_session();
            p.admitted = admitted;
        });
        let inner = Arc::downgrade(&self.inner);
        let (k, s) = (key.clone(), session.clone());
        let dir = self.inner.media_dir.join(hearing.to_string());
        let (endpoint, sdp) =
            Endpoint::start(offer, &dir, peer, admitted, &self.inner.ice, move |m, c| {
                if let Some(inner) = inner.upgrade() {
                    let mut peers = inner.peers.lock().expect("rooms lock");
                    let p = peers.entry(k.clone()).or_default();
                    p.board.publish(
                        &s,
                        SignalKind::IceCandidate {
                            mline_index: m,
                            candidate: c,
                        },
                    );
                }
            })?;
        let old = self.with_peer(&key, |p| {
            p.current.replace((session.clone(), Arc::new(endpoint)))
        });
        if let Some((old_session, old)) = old {
            self.finish(&key, &old_session, old, "replaced by a new offer", false);
        }
        Ok(Answer { sdp, session })
    }

    /// The peer was admitted (true) or stood down to the waiting room (false).
    pub fn set_admitted(&self, hearing: Uuid, peer: &str, admitted: bool) {
        self.with_peer(&(hearing, peer.to_string()), |p| {
            p.admitted = admitted;
            if let Some((_, e)) = &p.current {
                e.set_admitted(admitted);
            }
        });
    }

    /// One of the client's ICE candidates for its current connection.
    pub fn add_ice_candidate(
        &self,
        hearing: Uuid,
        peer: &str,
        mline: u32,
        candidate: &str,
    ) -> Result<()> {
        let key = (hearing, peer.to_string());
        let endpoint = self
            .with_peer(&key, |p| p.current.as_ref().map(|(_, e)| e.clone()))
            .ok_or_else(|| MediaError::NoConnection("no connection: send an offer first".into()))?;
        if !candidate.is_empty() {
            endpoint.add_ice_candidate(mline, candidate);
        }
        Ok(())
    }

    /// The peer's current signals, then a receiver for new ones.
    pub fn watch(&self, hearing: Uuid, peer: &str) -> (Vec<Signal>, broadcast::Receiver<Signal>) {
        self.with_peer(&(hearing, peer.to_string()), |p| p.board.watch())
    }

    /// Ends `peer`'s connection, finishing its files; `last` when it may not come back.
    pub fn close_peer(&self, hearing: Uuid, peer: &str, reason: &str, last: bool) {
        let key = (hearing, peer.to_string());
        if let Some((session, e)) = self.with_peer(&key, |p| p.current.take()) {
            self.finish(&key, &session, e, reason, last);
        } else if last {
            self.with_peer(&key, |p| {
                p.board.publish(
                    "",
                    SignalKind::Closed {
                        reason: reason.into(),
                        last,
                    },
                )
            });
        }
    }

    /// Ends every connection of a hearing (adjourned, cancelled) and forgets its peers.
    pub fn close_hearing(&self, hearing: Uuid, reason: &str) {
        let peers: Vec<String> = {
            let map = self.inner.peers.lock().expect("rooms lock");
            map.keys()
                .filter(|(h, _)| *h == hearing)
                .map(|(_, p)| p.clone())
                .collect()
        };
        for p in &peers {
            self.close_peer(hearing, p, reason, true);
        }
        let mut map = self.inner.peers.lock().expect("rooms lock");
        map.retain(|(h, _), _| *h != hearing);
    }

    /// Ends every connection (server shutdown).
    pub fn close_all(&self, reason: &str) {
        let hearings: std::collections::BTreeSet<Uuid> = {
            let map = self.inner.peers.lock().expect("rooms lock");
            map.keys().map(|(h, _)| *h).collect()
        };
        for h in hearings {
            self.close_hearing(h, reason);
        }
    }

    /// Peers with a live endpoint, for tests and metrics.
    pub fn connected(&self, hearing: Uuid) -> usize {
        let map = self.inner.peers.lock().expect("rooms lock");
        map.iter()
            .filter(|((h, _), p)| *h == hearing && p.current.is_some())
            .count()
    }

    fn finish(&self, key: &Key, session: &str, e: Arc<Endpoint>, reason: &str, last: bool) {
        let files = e.close();
        tracing::info!(peer = %key.1, files = files.len(), reason, "media connection closed");
        self.with_peer(key, |p| {
            p.board.publish(
                session,
                SignalKind::Closed {
                    reason: reason.into(),
                    last,
                },
            )
        });
    }

    fn with_peer<T>(&self, key: &Key, f: impl FnOnce(&mut Peer) -> T) -> T {
        let mut map = self.inner.peers.lock().expect("rooms lock");
        f(map.entry(key.clone()).or_default())
    }
}
