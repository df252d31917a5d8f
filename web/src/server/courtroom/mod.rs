//! The courtroom: the hinge between a hearing's log and its media room.
//!
//! - [`service`]: the gRPC MediaService (WebRTC signalling), which opens a hearing's room at its
//!   first connection;
//! - [`rooms`]: opening a room on this node (the media lease, its renewal, live captions);
//! - [`supervisor`]: follows the hearing's log into the room (admission, stand-down, mutes, on
//!   and off the record, leaving, removal, the end of the hearing);
//! - [`pump`]: carries the room's events into the hearing's log (closed files with their
//!   hashes, recording gaps, media stalls) and queues the transcription when the room stops;
//! - [`reconnect`]: a participant whose `WatchMedia` streams all ended and who does not come
//!   back within the reconnect grace is recorded as gone.
//!
//! The two mappings, [`supervisor::room_actions`] and [`pump::record_actions`], are pure
//! functions unit-tested without GStreamer, a database or a network; the code around them only
//! does IO.
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use hearing_core::app::App;
use hearing_core::domain::{EventPayload, HearingId, HearingState, Role};
use hearing_core::grpc::MAX_REQUEST_BYTES;
use opencourt_media::{MediaError, Rooms};
use opencourt_proto::v1 as pb;
use pb::media_service_server::MediaServiceServer;
use tokio::sync::broadcast::error::RecvError;
use tonic::Status;

pub mod outbox;
pub mod pump;
mod reconnect;
mod rooms;
mod service;
pub mod supervisor;

#[derive(Clone)]
pub struct Media {
    app: App,
    rooms: Rooms,
    /// Open `WatchMedia` streams per participant, for the reconnect grace.
    watchers: reconnect::Watchers,
    supervised: Arc<Mutex<HashSet<HearingId>>>,
    /// One per running pump; it ends (its sender dropped) once the pump has written the
    /// room's last file and released the lease. Shutdown waits for them.
    pumps: Arc<Mutex<Vec<tokio::sync::oneshot::Receiver<()>>>>,
    media_dir: PathBuf,
    /// The language hearings' transcripts are made in ("en", "zh" or "auto").
    language: String,
    /// Where the Whisper models are, for live captions (none: no live captions).
    models: Option<PathBuf>,
    engines: transcriber::worker::Engines,
    node: Node,
}

/// This node, as the media leases name it.
#[derive(Clone, Debug)]
pub struct Node {
    /// Unique among the nodes sharing a database.
    pub name: String,
    /// Where clients reach this node (told to clients sent here by another node).
    pub address: String,
    /// How long a lease lasts without renewal: a dead node's hearings are taken over after it.
    pub lease: std::time::Duration,
}

impl Default for Node {
    fn default() -> Self {
        let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
        Node {
            name: format!("{}:{}", host.trim(), std::process::id()),
            address: String::new(),
            lease: std::time::Duration::from_secs(10),
        }
    }
}

/// MediaError → gRPC status: the one mapping. GStreamer detail is logged, never sent.
fn to_status(e: MediaError) -> Status {
    match e {
        MediaError::InvalidSdp(_) => Status::invalid_argument(e.to_string()),
        MediaError::NoConnection(m) => Status::failed_precondition(m),
        MediaError::Gst(_) | MediaError::Io(_) => {
            tracing::error!(error = %e, "media error");
            Status::internal("internal error")
        }
    }
}

fn hearing_id(s: &str) -> Result<HearingId, Status> {
    Ok(HearingId::parse("hearing_id", s)?)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Status> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        tracing::error!(error = %e, "media task failed");
        Status::internal("internal error")
    })
}

impl Media {
    pub fn new(
        app: App,
        rooms: Rooms,
        media_dir: PathBuf,
        language: String,
        models: Option<PathBuf>,
        node: Node,
    ) -> Self {
        let supervised = Arc::default();
        // the pumps' writes into the record that failed are done later, while this server runs
        outbox::spawn_drainer(app.clone(), Arc::downgrade(&supervised));
        Media {
            app,
            rooms,
            watchers: Default::default(),
            supervised,
            pumps: Arc::default(),
            media_dir,
            language,
            models,
            engines: Default::default(),
            node,
        }
    }

    pub fn service(&self) -> MediaServiceServer<Self> {
        MediaServiceServer::new(self.clone()).max_decoding_message_size(MAX_REQUEST_BYTES)
    }

    /// Opens each hearing's room (and follows it) as the hearing opens on this node, so the
    /// recording starts with the record, before anyone's media arrives. A hearing already open
    /// when this node started gets its room at its first connection.
    pub fn open_rooms_as_hearings_open(&self) {
        let media = self.clone();
        let mut rx = self.app.hub.subscribe_states();
        tokio::spawn(async move {
            loop {
                let e = match rx.recv().await {
                    Ok(e) => e,
                    Err(RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "room opener lagged");
                        continue;
                    }
                    Err(RecvError::Closed) => break,
                };
                if let Some(EventPayload::StateChanged {
                    to: HearingState::Open,
                    ..
                }) = e.payload()
                {
                    if let Err(s) = media.open_room(e.hearing_id, e.at).await {
                        tracing::error!(hearing = %e.hearing_id, error = %s, "opening the room");
                    }
                }
            }
        });
    }

    /// Ends every connection and finishes every track (server shutdown).
    /// Stops every room (every open file closed and hashed), then waits until their pumps
    /// have put the last files into the hearings' logs (server shutdown, which bounds it).
    pub async fn close_all(&self) {
        let rooms = self.rooms.clone();
        let _ = blocking(move || rooms.close_all("the server is shutting down")).await;
        let pumps = std::mem::take(&mut *self.pumps.lock().expect("pumps"));
        for done in pumps {
            // Err: the pump ended, dropping its sender: what is waited for
            let _ = done.await;
        }
    }

    /// Follows hearing `id`'s log after `after_seq` into its room (once per hearing), until the
    /// hearing ends: see [`supervisor`].
    fn supervise(&self, id: HearingId, after_seq: u64, opened: chrono::DateTime<chrono::Utc>) {
        if !self.supervised.lock().expect("supervised").insert(id) {
            return;
        }
        let (app, rooms, supervised) = (
            self.app.clone(),
            self.rooms.clone(),
            self.supervised.clone(),
        );
        let follow = async move {
            // The log, not this node's hub: commands taken by any node reach the room (another
            // node's within the 300 ms poll).
            let poll = std::time::Duration::from_millis(300);
            supervisor::run(app, rooms, id, after_seq, opened, poll).await;
            supervised.lock().expect("supervised").remove(&id);
        };
        tokio::spawn(tracing::Instrument::instrument(follow, room_span(id)));
    }
}

/// The span of hearing `id`'s room on this node: its supervisor, pump, captions and lease
/// renewal run in it, so every line they log carries the hearing.
fn room_span(id: HearingId) -> tracing::Span {
    tracing::info_span!("room", hearing = %id)
}

/// The room's role for a participant's tile and track label.
fn room_role(r: Role) -> recorder::Role {
    recorder::Role::parse(r.as_str()).unwrap_or(match r {
        Role::System => recorder::Role::Clerk,
        _ => recorder::Role::Observer,
    })
}
