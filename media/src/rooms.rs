//! Every hearing's media on this node: its room (the recorder's pipeline: mix, courtroom view,
//! recording, per-participant tracks) and one WebRTC endpoint per connected peer feeding it, with
//! the signals each peer's watcher needs. A peer keeps their place in the room across
//! reconnections, and each connection sets that place to the peer's state in the hearing now
//! (admitted or waiting, muted or not). Methods that start or stop media block: call them from a blocking thread.
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc::Receiver;
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
    hearings: Mutex<HashMap<Uuid, Arc<HearingRoom>>>,
}

#[derive(Default)]
struct Peer {
    board: Board,
    current: Option<(String, Arc<Endpoint>)>,
}

/// One hearing's room and its peers' places in it.
struct HearingRoom {
    room: Mutex<Option<recorder::Room>>,
    live: Mutex<HashMap<String, recorder::LiveIn>>,
    /// What the hearing last said about each peer (connected or not), by log position.
    told: Mutex<HashMap<String, Told>>,
}

/// A peer's admission and mute as the hearing last said them, each with the log position
/// (sequence number) it was said at. A connection's state, read before the connection is made,
/// and the supervisor's events arrive in either order; the later position wins, so a stand-down
/// logged while someone connects is never undone by the older state their connection carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Told {
    admitted: Option<(u64, bool)>,
    muted: Option<(u64, bool)>,
}

impl Told {
    /// Takes `value`, said at `seq`, unless something later was said already; returns whether
    /// it took it.
    fn take(slot: &mut Option<(u64, bool)>, seq: u64, value: bool) -> bool {
        match slot {
            Some((later, _)) if *later > seq => false,
            _ => {
                *slot = Some((seq, value));
                true
            }
        }
    }

    /// (admitted, muted) now: waiting and unmuted until told otherwise.
    fn state(&self) -> (bool, bool) {
        (
            self.admitted.is_some_and(|(_, a)| a),
            self.muted.is_some_and(|(_, m)| m),
        )
    }
}

impl HearingRoom {
    /// Runs `f` on the room unless it has stopped; a refusal (e.g. admitting someone already
    /// admitted, after a reconnection) is logged, since the control plane already decided.
    fn with(&self, what: &str, f: impl FnOnce(&recorder::Room) -> recorder::Result<()>) {
        if let Err(e) = self.try_with(f) {
            tracing::debug!(error = %e, what, "room refused");
        }
    }

    /// Runs `f` on the room unless it has stopped, and says whether the room refused.
    fn try_with(
        &self,
        f: impl FnOnce(&recorder::Room) -> recorder::Result<()>,
    ) -> recorder::Result<()> {
        match self.room.lock().expect("room lock").as_ref() {
            Some(room) => f(room),
            None => Ok(()),
        }
    }
}

/// Who a connecting peer is, for their tile and their place in the room.
#[derive(Clone, Debug)]
pub struct PeerInfo {
    pub name: String,
    pub role: recorder::Role,
    /// In the hearing now; otherwise in the waiting room, where nothing of theirs is heard,
    /// seen or kept.
    pub admitted: bool,
    pub muted: bool,
    /// Why they are muted (when `muted`), for the cut in their track.
    pub mute_reason: String,
    /// The hearing log's position `admitted` and `muted` were read at.
    pub as_of_seq: u64,
}

/// The room's name for a peer: their participant id, or for a longer key (a staff user's
/// `user-<uuid>`) `u` and the uuid's hex digits, since room ids are at most 40 characters.
pub fn room_id(peer: &str) -> Result<recorder::ParticipantId> {
    recorder::ParticipantId::parse(peer)
        .or_else(|_| {
            let hex: String = peer.chars().filter(char::is_ascii_hexdigit).collect();
            recorder::ParticipantId::parse(&format!("u{}", &hex[hex.len().saturating_sub(32)..]))
        })
        .map_err(|e| MediaError::gst(e.to_string()))
}

/// What a successful offer gives back.
#[derive(Debug)]
pub struct Answer {
    pub sdp: String,
    pub session: String,
}

impl Rooms {
    /// Each hearing's recording goes to `media_dir/<hearing>/` (segments, tracks, manifest).
    pub fn new(media_dir: PathBuf, ice: IceConfig) -> Self {
        Rooms {
            inner: Arc::new(Inner {
                media_dir,
                ice,
                peers: Mutex::default(),
                hearings: Mutex::default(),
            }),
        }
    }

    /// Starts `hearing`'s room unless it runs already (then `None`). Its clock is the hearing
    /// clock (zero at `opened`); it records from the start when `on_record`. The room's events
    /// (files closed with their hashes, stalls, the stop) arrive on the receiver; `Stopped` comes
    /// last, once every file is closed. What the hearing hears on the record goes to `heard`.
    pub fn open(
        &self,
        hearing: Uuid,
        opened: chrono::DateTime<chrono::Utc>,
        on_record: bool,
        heard: Option<std::sync::mpsc::SyncSender<recorder::Heard>>,
    ) -> Result<Option<Receiver<recorder::Event>>> {
        let mut map = self.inner.hearings.lock().expect("hearings lock");
        if map.contains_key(&hearing) {
            return Ok(None);
        }
        let mut cfg = recorder::RoomConfig::new(self.inner.media_dir.join(hearing.to_string()));
        cfg.started = Some(opened);
        cfg.start_on_record = on_record;
        cfg.heard = heard;
        let (room, events) =
            recorder::Room::start(cfg).map_err(|e| MediaError::gst(format!("room: {e}")))?;
        map.insert(
            hearing,
            Arc::new(HearingRoom {
                room: Mutex::new(Some(room)),
                live: Mutex::default(),
                told: Mutex::default(),
            }),
        );
        Ok(Some(events))
    }

    /// Whether the hearing's room runs on this node.
    pub fn is_open(&self, hearing: Uuid) -> bool {
        self.hearing(hearing).is_some()
    }

    fn hearing(&self, hearing: Uuid) -> Option<Arc<HearingRoom>> {
        let map = self.inner.hearings.lock().expect("hearings lock");
        map.get(&hearing).cloned()
    }

    /// Goes on or off the record (off: the open files close now, nothing is written until on).
    /// The room's refusal (its state does not allow it, or it could not save its manifest) is
    /// returned: the hearing's log must say so.
    pub fn set_record(&self, hearing: Uuid, on: bool, reason: &str) -> recorder::Result<()> {
        match self.hearing(hearing) {
            Some(h) => h.try_with(|r| {
                if on {
                    r.on_record(reason)
                } else {
                    r.off_record(reason)
                }
            }),
            None => Ok(()),
        }
    }

    /// Records what the log said about `peer` at `seq`, in the slot `field` picks; returns their
    /// hearing's room and their room id when it is news (nothing later was said already).
    fn tell(
        &self,
        hearing: Uuid,
        peer: &str,
        seq: u64,
        value: bool,
        field: fn(&mut Told) -> &mut Option<(u64, bool)>,
    ) -> Option<(Arc<HearingRoom>, recorder::ParticipantId)> {
        let (Some(h), Ok(id)) = (self.hearing(hearing), room_id(peer)) else {
            return None;
        };
        let mut told = h.told.lock().expect("told lock");
        let news = Told::take(field(told.entry(peer.to_string()).or_default()), seq, value);
        drop(told);
        news.then_some((h, id))
    }

    /// Mutes or unmutes the peer (the mix, the captions and their own track), as the
    /// hearing's log said at position `seq` (unless it said something later already); a mute
    /// is for `reason`, which the cut in their track is logged with. Returns the room's
    /// refusal, if any.
    pub fn set_muted(
        &self,
        hearing: Uuid,
        peer: &str,
        muted: bool,
        seq: u64,
        reason: &str,
    ) -> recorder::Result<()> {
        let Some((h, id)) = self.tell(hearing, peer, seq, muted, |t| &mut t.muted) else {
            return Ok(());
        };
        h.try_with(|r| {
            if muted {
                r.mute_because(&id, reason)
            } else {
                r.unmute(&id)
            }
        })
    }

    /// The peer's place in the room, made on their first connection. On every connection,
    /// first or not, the place takes the peer's state as the hearing has it now (`info`):
    /// someone admitted who left and came back is waiting again, and their old place must not
    /// still let them be heard, seen or recorded.
    fn place(
        &self,
        h: &HearingRoom,
        peer: &str,
        info: &PeerInfo,
        video: bool,
    ) -> Result<recorder::LiveIn> {
        let mut live = h.live.lock().expect("live lock");
        let id = room_id(peer)?;
        let room = h.room.lock().expect("room lock");
        let room = room
            .as_ref()
            .ok_or_else(|| MediaError::NoConnection("the hearing's room has stopped".into()))?;
        let (l, new) = match live.get(peer) {
            Some(l) => (l.clone(), false),
            None => {
                let l = room
                    .add_live(&id, &info.name, info.role, video)
                    .map_err(|e| MediaError::gst(format!("adding {peer} to the room: {e}")))?;
                (l, true)
            }
        };
        // `info` unless the hearing's events have said something later.
        let (admitted, muted) = {
            let mut told = h.told.lock().expect("told lock");
            let t = told.entry(peer.to_string()).or_default();
            Told::take(&mut t.admitted, info.as_of_seq, info.admitted);
            Told::take(&mut t.muted, info.as_of_seq, info.muted);
            t.state()
        };
        // A new place starts waiting and unmuted; an old one is set either way. The room
        // refuses a change to the state it is in already: nothing to do then.
        let apply = |what: &str, r: recorder::Result<()>| {
            if let Err(e) = r {
                tracing::debug!(error = %e, peer, what, "room refused");
            }
        };
        if admitted {
            apply("admit", room.admit(&id));
        } else if !new {
            apply("stand down", room.stand_down(&id));
        }
        if muted {
            apply("mute", room.mute_because(&id, &info.mute_reason));
        } else if !new {
            apply("unmute", room.unmute(&id));
        }
        live.insert(peer.to_string(), l.clone());
        Ok(l)
    }

    /// Answers `peer`'s offer with a new endpoint feeding their place in the hearing's room
    /// (made on their first connection, from `info`), replacing (and closing) their previous
    /// connection. The room must be open ([`Rooms::open`]).
    pub fn connect(
        &self,
        hearing: Uuid,
        peer: &str,
        info: &PeerInfo,
        offer: Offer,
    ) -> Result<Answer> {
        let h = self.hearing(hearing).ok_or_else(|| {
            MediaError::NoConnection("the hearing's room is not open on this node".into())
        })?;
        let video = offer
            .streams
            .iter()
            .any(|s| s.kind == crate::sdp::Kind::Video);
        let live = self.place(&h, peer, info, video)?;
        let key = (hearing, peer.to_string());
        if let Some((old_session, old)) = self.with_peer(&key, |p| p.current.take()) {
            self.finish(&key, &old_session, old, Closing::Replaced);
        }
        let session = Uuid::new_v4().to_string();
        self.with_peer(&key, |p| p.board.new_session());
        let inner = Arc::downgrade(&self.inner);
        let (k, s) = (key.clone(), session.clone());
        let (endpoint, sdp) = Endpoint::start(offer, live, peer, &self.inner.ice, move |m, c| {
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
        let out = endpoint.live_out();
        let old = self.with_peer(&key, |p| {
            p.current.replace((session.clone(), Arc::new(endpoint)))
        });
        if let Ok(id) = room_id(peer) {
            h.with("send", |r| r.set_live_out(&id, Some(out)));
        }
        if let Some((old_session, old)) = old {
            self.finish(&key, &old_session, old, Closing::Replaced);
        }
        Ok(Answer { sdp, session })
    }

    /// The peer was admitted (true) or is in the waiting room (false), as the hearing's log said
    /// at position `seq` (unless it said something later already). Returns the room's refusal,
    /// if any.
    pub fn set_admitted(
        &self,
        hearing: Uuid,
        peer: &str,
        admitted: bool,
        seq: u64,
    ) -> recorder::Result<()> {
        let Some((h, id)) = self.tell(hearing, peer, seq, admitted, |t| &mut t.admitted) else {
            return Ok(());
        };
        if !h.live.lock().expect("live lock").contains_key(peer) {
            return Ok(()); // not connected yet: their first connection takes the state
        }
        h.try_with(|r| {
            if admitted {
                r.admit(&id)
            } else {
                r.stand_down(&id)
            }
        })
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

    /// Ends `peer`'s connection; `last` when they may not come back (left or removed): then
    /// they leave the room too and their track files close.
    pub fn close_peer(&self, hearing: Uuid, peer: &str, reason: &str, last: bool) {
        let key = (hearing, peer.to_string());
        if last {
            if let Some(h) = self.hearing(hearing) {
                if h.live.lock().expect("live lock").remove(peer).is_some() {
                    if let Ok(id) = room_id(peer) {
                        h.with("remove", |r| r.remove(&id));
                    }
                }
            }
        }
        let why = Closing::Ended { reason, last };
        if let Some((session, e)) = self.with_peer(&key, |p| p.current.take()) {
            self.finish(&key, &session, e, why);
        } else if last {
            self.with_peer(&key, |p| p.board.publish("", why.signal()));
        }
    }

    /// Ends every connection of a hearing (adjourned, cancelled), forgets its peers, and stops
    /// its room: every open file is closed and hashed before this returns.
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
        self.inner
            .peers
            .lock()
            .expect("rooms lock")
            .retain(|(h, _), _| *h != hearing);
        let h = self
            .inner
            .hearings
            .lock()
            .expect("hearings lock")
            .remove(&hearing);
        if let Some(room) = h.and_then(|h| h.room.lock().expect("room lock").take()) {
            if let Err(e) = room.stop() {
                tracing::error!(error = %e, %hearing, "stopping the room");
            }
        }
    }

    /// Ends every connection (server shutdown).
    pub fn close_all(&self, reason: &str) {
        let hearings: std::collections::BTreeSet<Uuid> = {
            let map = self.inner.peers.lock().expect("rooms lock");
            let rooms = self.inner.hearings.lock().expect("hearings lock");
            map.keys()
                .map(|(h, _)| *h)
                .chain(rooms.keys().copied())
                .collect()
        };
        for h in hearings {
            self.close_hearing(h, reason);
        }
    }

    /// Every current connection of the hearing's peers, with its state and quality since the
    /// last call. Blocks (up to a second per connection for its statistics): call from a
    /// blocking thread.
    pub fn connections(&self, hearing: Uuid) -> Vec<crate::stats::PeerView> {
        let current: Vec<(String, String, Arc<Endpoint>)> = {
            let map = self.inner.peers.lock().expect("rooms lock");
            map.iter()
                .filter(|((h, _), _)| *h == hearing)
                .filter_map(|((_, peer), p)| {
                    let (session, e) = p.current.as_ref()?;
                    Some((peer.clone(), session.clone(), e.clone()))
                })
                .collect()
        };
        current
            .iter()
            .map(|(peer, session, e)| e.view(peer, session))
            .collect()
    }

    /// Peers with a live endpoint, for tests and metrics.
    pub fn connected(&self, hearing: Uuid) -> usize {
        let map = self.inner.peers.lock().expect("rooms lock");
        map.iter()
            .filter(|((h, _), p)| *h == hearing && p.current.is_some())
            .count()
    }

    fn finish(&self, key: &Key, session: &str, e: Arc<Endpoint>, why: Closing) {
        // the room stops sending to it first (unless a newer connection took its place)
        let replaced = self.with_peer(key, |p| p.current.is_some());
        if let (false, Some(h), Ok(id)) = (replaced, self.hearing(key.0), room_id(&key.1)) {
            h.with("stop sending", |r| r.set_live_out(&id, None));
        }
        e.close();
        let signal = why.signal();
        if let SignalKind::Closed { reason, .. } = &signal {
            tracing::info!(peer = %key.1, reason, "media connection closed");
        }
        self.with_peer(key, |p| p.board.publish(session, signal));
    }

    /// Whether media from `peer` arrived in the last `within` on their current connection.
    pub fn media_arriving(&self, hearing: Uuid, peer: &str, within: std::time::Duration) -> bool {
        self.with_peer(&(hearing, peer.to_string()), |p| {
            p.current
                .as_ref()
                .and_then(|(_, e)| e.last_media_ago())
                .is_some_and(|ago| ago < within)
        })
    }

    fn with_peer<T>(&self, key: &Key, f: impl FnOnce(&mut Peer) -> T) -> T {
        let mut map = self.inner.peers.lock().expect("rooms lock");
        f(map.entry(key.clone()).or_default())
    }
}

/// Why a connection ends.
#[derive(Clone, Copy, Debug)]
enum Closing<'a> {
    /// A newer offer of the same peer took its place.
    Replaced,
    /// Anything else; `last` when the peer may not connect again.
    Ended { reason: &'a str, last: bool },
}

impl Closing<'_> {
    fn signal(self) -> SignalKind {
        match self {
            Closing::Replaced => SignalKind::Closed {
                reason: "replaced by a new offer".into(),
                last: false,
                replaced: true,
            },
            Closing::Ended { reason, last } => SignalKind::Closed {
                reason: reason.into(),
                last,
                replaced: false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Told;

    #[test]
    fn the_later_word_of_the_hearing_wins_in_either_order() {
        // admitted at 5, stood down at 9: whichever arrives first, waiting at the end
        let mut a = Told::default();
        assert!(Told::take(&mut a.admitted, 5, true));
        assert!(Told::take(&mut a.admitted, 9, false));
        let mut b = Told::default();
        assert!(Told::take(&mut b.admitted, 9, false));
        assert!(!Told::take(&mut b.admitted, 5, true));
        assert_eq!((a.state(), b.state()), ((false, false), (false, false)));
        // the same position again (a reconnection read at it) is taken
        assert!(Told::take(&mut b.admitted, 9, false));
        // nothing said: waiting and unmuted
        assert_eq!(Told::default().state(), (false, false));
        let mut m = Told::default();
        assert!(Told::take(&mut m.muted, 3, true));
        assert!(Told::take(&mut m.admitted, 2, true));
        assert_eq!(m.state(), (true, true));
    }
}
