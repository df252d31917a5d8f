//! The MediaService: WebRTC signalling over gRPC (grpc-web friendly: unary calls and one server
//! stream). It authenticates like every other service, asks the application whether the caller
//! may connect (`App::media_peer`), and drives the media crate's `Rooms` on blocking threads.
//! The first connection to a hearing opens its room (the recorder's pipeline) on the hearing
//! clock. A supervisor per hearing follows its events into the room: admission, stand-down and
//! mutes change what is heard and kept, going on and off the record starts and stops the
//! recording, leaving and removal end a connection, adjournment stops the room. A pump per room
//! writes every closed file's hash into the hearing's log and, when the room has stopped, queues
//! the transcription of the participants' tracks.
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use futures::{Stream, StreamExt};
use hearing_core::app::App;
use hearing_core::domain::events::MediaKind;
use hearing_core::domain::{EventPayload, HearingId, HearingState};
use hearing_core::domain::{ParticipantId, Presence, Role};
use hearing_core::grpc::{caller, MAX_REQUEST_BYTES};
use hearing_core::records::{LeaseOutcome, MediaFile};
use opencourt_media::{MediaError, Offer, PeerInfo, Rooms, Signal, SignalKind};
use opencourt_proto::v1 as pb;
use pb::media_service_server::{MediaService, MediaServiceServer};
use recorder::manifest::FileKind;
use tokio::sync::broadcast::error::RecvError;
use tonic::{Request, Response, Status};
use transcriber::engine::Language;
use transcriber::model::ModelName;
use transcriber::worker::{JobSpec, TrackSpec};

#[derive(Clone)]
pub struct Media {
    app: App,
    rooms: Rooms,
    supervised: Arc<Mutex<HashSet<HearingId>>>,
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
        crate::outbox::spawn_drainer(app.clone(), Arc::downgrade(&supervised));
        Media {
            app,
            rooms,
            supervised,
            media_dir,
            language,
            models,
            engines: Default::default(),
            node,
        }
    }

    /// Renews this node's lease on the hearing while its room runs here. Should another node
    /// hold it (this node could not renew in time and the other took the hearing over), this
    /// node's room stops at once, so that two nodes never record one hearing: the log says so
    /// (a recording gap of no length, with the reason, at the moment the room stopped) and the
    /// room's open files are closed, hashed and logged as at any stop.
    fn renew_lease(&self, id: HearingId, opened: chrono::DateTime<chrono::Utc>) {
        let (app, rooms, node) = (self.app.clone(), self.rooms.clone(), self.node.clone());
        let lease = chrono::Duration::from_std(node.lease).unwrap_or(chrono::Duration::seconds(10));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(node.lease / 3).await;
                if !rooms.is_open(id.0) {
                    break;
                }
                match app
                    .system()
                    .acquire_media_lease(id, &node.name, &node.address, lease)
                    .await
                {
                    Ok(LeaseOutcome::Held { .. }) => {}
                    Ok(LeaseOutcome::Elsewhere(l)) => {
                        tracing::error!(hearing = %id, holder = %l.node, "lost the hearing's media lease to another node: stopping the room");
                        let at = (chrono::Utc::now() - opened).num_milliseconds().max(0) as u64;
                        let reason = format!(
                            "media node {} lost the hearing's media lease to node {}: its room stopped",
                            node.name, l.node
                        );
                        if let Err(e) = app.record_media(id, &[], &[(at, at, reason)]).await {
                            tracing::error!(hearing = %id, error = %e, "logging the lost media lease");
                        }
                        let rooms = rooms.clone();
                        let _ = blocking(move || {
                            rooms.close_hearing(id.0, "this node lost the hearing's media lease")
                        })
                        .await;
                        break;
                    }
                    Err(e) => tracing::warn!(hearing = %id, error = %e, "renewing the media lease"),
                }
            }
        });
    }

    /// The model live captions use for this node's language, when it is installed.
    fn caption_model(&self) -> Option<(PathBuf, Language)> {
        let (name, language) = match self.language.as_str() {
            "en" => (ModelName::TinyEn, Language::En),
            "zh" => (ModelName::Base, Language::Zh),
            _ => (ModelName::Base, Language::Auto),
        };
        let path = self.models.as_ref()?.join(name.file_name());
        path.is_file().then_some((path, language))
    }

    /// Starts live captions for a hearing: a thread that transcribes what the room hears until
    /// the room stops.
    fn start_captions(
        &self,
        id: HearingId,
        model: PathBuf,
        language: Language,
        rx: std::sync::mpsc::Receiver<recorder::Heard>,
    ) {
        let (app, engines, rt) = (
            self.app.clone(),
            self.engines.clone(),
            tokio::runtime::Handle::current(),
        );
        let started = std::thread::Builder::new()
            .name("captions".into())
            .spawn(move || match engines.get(&model) {
                Ok(engine) => crate::captions::run(app, id, engine, language, rx, rt),
                Err(e) => {
                    tracing::error!(hearing = %id, error = %e, "live captions: loading the model")
                }
            });
        if let Err(e) = started {
            tracing::error!(error = %e, "starting live captions");
        }
    }

    /// Opens the hearing's room on this node unless it is open: takes the hearing's media lease
    /// (or says which node has it), reads the hearing's state, starts the room in that state,
    /// then follows the log from that point (so no switch is missed or applied before the room
    /// exists), and starts its pump, captions and lease renewal.
    async fn open_room(
        &self,
        id: HearingId,
        opened: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), Status> {
        let node = &self.node;
        let lease = chrono::Duration::from_std(node.lease).unwrap_or(chrono::Duration::seconds(10));
        match self
            .app
            .system()
            .acquire_media_lease(id, &node.name, &node.address, lease)
            .await
            .map_err(hearing_core::grpc::to_status)?
        {
            LeaseOutcome::Elsewhere(l) => {
                return Err(Status::failed_precondition(format!(
                    "hearing {id}'s media runs on node {} ({}): connect to that node",
                    l.node, l.address
                )))
            }
            LeaseOutcome::Held { from: Some(f) } => {
                tracing::warn!(hearing = %id, from = %f.node, "taking over the hearing's media from a node whose lease ran out")
            }
            LeaseOutcome::Held { from: None } => {}
        }
        if self.rooms.is_open(id.0) {
            return Ok(());
        }
        let (h, last_seq, _) = self
            .app
            .system()
            .hearing(id)
            .await
            .map_err(hearing_core::grpc::to_status)?
            .ok_or_else(|| Status::not_found(format!("hearing {id} not found")))?;
        let rooms = self.rooms.clone();
        let model = self.caption_model();
        // about a minute of 20 ms buffers per participant before captions drop audio
        let (heard, heard_rx) = match model {
            Some(_) => {
                let (tx, rx) = std::sync::mpsc::sync_channel(12_000);
                (Some(tx), Some(rx))
            }
            None => (None, None),
        };
        let on_record = h.state == HearingState::OnRecord;
        let events = blocking(move || rooms.open(id.0, opened, on_record, heard))
            .await?
            .map_err(to_status)?;
        self.supervise(id, last_seq);
        if let Some(events) = events {
            if let (Some((path, language)), Some(rx)) = (model, heard_rx) {
                self.start_captions(id, path, language, rx);
            }
            self.renew_lease(id, opened);
            let (app, node, dir) = (
                self.app.clone(),
                self.node.name.clone(),
                self.media_dir.join(id.0.to_string()),
            );
            let language = self.language.clone();
            let rt = tokio::runtime::Handle::current();
            std::thread::Builder::new()
                .name("room-pump".into())
                .spawn(move || pump(app, &node, id, dir, language, rt, events))
                .map_err(|e| {
                    tracing::error!(error = %e, "starting the room pump");
                    Status::internal("internal error")
                })?;
        }
        Ok(())
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
    pub async fn close_all(&self) {
        let rooms = self.rooms.clone();
        let _ = blocking(move || rooms.close_all("the server is shutting down")).await;
    }

    /// Follows hearing `id`'s events (once per hearing): whoever leaves or is removed loses
    /// their connection; when the hearing ends, every connection ends.
    fn supervise(&self, id: HearingId, after_seq: u64) {
        if !self.supervised.lock().expect("supervised").insert(id) {
            return;
        }
        // The log, not this node's hub: commands taken by any node reach the room (another
        // node's within the 300 ms poll).
        let events = self
            .app
            .follow(id, after_seq, None, std::time::Duration::from_millis(300));
        let (rooms, supervised) = (self.rooms.clone(), self.supervised.clone());
        tokio::spawn(async move {
            tokio::pin!(events);
            while let Some(e) = events.next().await {
                let e = match e {
                    Ok(e) => e,
                    Err(err) => {
                        tracing::error!(hearing = %id, error = %err, "media supervisor: reading the log");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                        continue;
                    }
                };
                let rooms = rooms.clone();
                let seq = e.seq;
                let end = match e.payload() {
                    Some(EventPayload::Admitted { participant_id }) => {
                        rooms.set_admitted(id.0, &participant_id.to_string(), true, seq);
                        false
                    }
                    Some(EventPayload::StoodDown { participant_id, .. }) => {
                        rooms.set_admitted(id.0, &participant_id.to_string(), false, seq);
                        false
                    }
                    Some(EventPayload::Muted {
                        participant_id,
                        muted,
                    }) => {
                        let own = e.actor_participant_id == participant_id.to_string();
                        let reason = hearing_core::app::mute_reason(!own);
                        rooms.set_muted(id.0, &participant_id.to_string(), muted, seq, reason);
                        false
                    }
                    Some(EventPayload::StateChanged { to, reason, .. })
                        if matches!(to, HearingState::OnRecord | HearingState::OffRecord) =>
                    {
                        let on = to == HearingState::OnRecord;
                        let reason = reason.unwrap_or_else(|| {
                            if on {
                                "on the record"
                            } else {
                                "off the record"
                            }
                            .into()
                        });
                        let _ = blocking(move || rooms.set_record(id.0, on, &reason)).await;
                        false
                    }
                    // (Re)joining puts them where the hearing has them (waiting, unless the
                    // court); leaving takes them out of what is heard and kept at once.
                    Some(EventPayload::Joined {
                        participant_id,
                        presence,
                    }) => {
                        let admitted = presence == Presence::Admitted;
                        rooms.set_admitted(id.0, &participant_id.to_string(), admitted, seq);
                        false
                    }
                    Some(EventPayload::Left { participant_id, .. }) => {
                        let _ = blocking(move || {
                            rooms.set_admitted(id.0, &participant_id.to_string(), false, seq);
                            rooms.close_peer(
                                id.0,
                                &participant_id.to_string(),
                                "left the hearing",
                                false,
                            )
                        })
                        .await;
                        false
                    }
                    Some(EventPayload::Removed { participant_id, .. }) => {
                        let _ = blocking(move || {
                            rooms.close_peer(
                                id.0,
                                &participant_id.to_string(),
                                "removed from the hearing",
                                true,
                            )
                        })
                        .await;
                        false
                    }
                    Some(EventPayload::StateChanged { to, .. }) if to.is_final() => {
                        let reason = if to == HearingState::Adjourned {
                            "the hearing was adjourned"
                        } else {
                            "the hearing was cancelled"
                        };
                        let _ = blocking(move || rooms.close_hearing(id.0, reason)).await;
                        true
                    }
                    _ => false,
                };
                if end {
                    break;
                }
            }
            supervised.lock().expect("supervised").remove(&id);
        });
    }
}

fn signal(s: Signal) -> pb::MediaSignal {
    pb::MediaSignal {
        session_id: s.session,
        signal: Some(match s.kind {
            SignalKind::IceCandidate {
                mline_index,
                candidate,
            } => pb::media_signal::Signal::IceCandidate(pb::IceCandidate {
                mline_index,
                candidate,
            }),
            SignalKind::Closed { reason, .. } => {
                pb::media_signal::Signal::Closed(pb::ConnectionClosed { reason })
            }
        }),
    }
}

fn is_last(s: &Signal) -> bool {
    matches!(s.kind, SignalKind::Closed { last: true, .. })
}

type SignalStream = Pin<Box<dyn Stream<Item = Result<pb::MediaSignal, Status>> + Send>>;

#[tonic::async_trait]
impl MediaService for Media {
    async fn offer(
        &self,
        req: Request<pb::OfferRequest>,
    ) -> Result<Response<pb::OfferResponse>, Status> {
        let caller = caller(&self.app, &req).await?;
        let r = req.into_inner();
        let id = hearing_id(&r.hearing_id)?;
        let offer = Offer::parse(&r.sdp).map_err(to_status)?;
        let peer = self.app.media_peer(&caller, id).await?;
        self.open_room(id, peer.opened_at).await?;
        let rooms = self.rooms.clone();
        let info = PeerInfo {
            name: peer.display_name.clone(),
            role: room_role(peer.role),
            admitted: peer.admitted,
            muted: peer.muted,
            mute_reason: peer.mute_reason.into(),
            as_of_seq: peer.as_of_seq,
        };
        let key = peer.key.clone();
        let answer = blocking(move || rooms.connect(id.0, &peer.key, &info, offer))
            .await?
            .map_err(to_status)?;
        // What was read above may be older than where the room's supervisor started (the room
        // may have opened since): read again now that their place exists, so whatever the log
        // said in between reaches it (the later log position wins), or end the connection
        // should they no longer be allowed one (removed, left).
        match self.app.media_peer(&caller, id).await {
            Ok(now) => {
                self.rooms
                    .set_admitted(id.0, &now.key, now.admitted, now.as_of_seq);
                self.rooms
                    .set_muted(id.0, &now.key, now.muted, now.as_of_seq, now.mute_reason);
            }
            Err(e) => {
                let rooms = self.rooms.clone();
                let _ = blocking(move || {
                    rooms.close_peer(id.0, &key, "no longer allowed to connect", true)
                })
                .await;
                return Err(e.into());
            }
        }
        Ok(Response::new(pb::OfferResponse {
            sdp: answer.sdp,
            session_id: answer.session,
        }))
    }

    async fn add_ice_candidate(
        &self,
        req: Request<pb::AddIceCandidateRequest>,
    ) -> Result<Response<pb::AddIceCandidateResponse>, Status> {
        let caller = caller(&self.app, &req).await?;
        let r = req.into_inner();
        let id = hearing_id(&r.hearing_id)?;
        if r.candidate.len() > 1024
            || !(r.candidate.is_empty() || r.candidate.starts_with("candidate:"))
        {
            return Err(Status::invalid_argument(
                "candidate: must be empty or an ICE candidate line starting with \"candidate:\" (at most 1024 bytes)",
            ));
        }
        if r.mline_index > 64 {
            return Err(Status::invalid_argument(
                "mline_index: is larger than the offer has",
            ));
        }
        let peer = self.app.media_peer(&caller, id).await?;
        self.rooms
            .add_ice_candidate(id.0, &peer.key, r.mline_index, &r.candidate)
            .map_err(to_status)?;
        Ok(Response::new(pb::AddIceCandidateResponse {}))
    }

    type WatchMediaStream = SignalStream;

    async fn watch_media(
        &self,
        req: Request<pb::WatchMediaRequest>,
    ) -> Result<Response<Self::WatchMediaStream>, Status> {
        let caller = caller(&self.app, &req).await?;
        let id = hearing_id(&req.get_ref().hearing_id)?;
        let peer = self.app.media_peer(&caller, id).await?;
        self.open_room(id, peer.opened_at).await?;
        let (replay, mut rx) = self.rooms.watch(id.0, &peer.key);
        let stream = async_stream::stream! {
            let mut last = 0;
            for s in replay {
                last = s.seq;
                let end = is_last(&s);
                yield Ok(signal(s));
                if end { return; }
            }
            loop {
                match rx.recv().await {
                    Ok(s) if s.seq <= last => {}
                    Ok(s) => {
                        last = s.seq;
                        let end = is_last(&s);
                        yield Ok(signal(s));
                        if end { return; }
                    }
                    Err(RecvError::Lagged(_)) => {
                        yield Err(Status::data_loss("fell behind the server's signals: watch again"));
                        return;
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        };
        Ok(Response::new(Box::pin(stream)))
    }
}

/// The room's role for a participant's tile and track label.
fn room_role(r: Role) -> recorder::Role {
    recorder::Role::parse(r.as_str()).unwrap_or(match r {
        Role::System => recorder::Role::Clerk,
        _ => recorder::Role::Observer,
    })
}

/// The participant whose own track a room file of `kind` is (none: the mixed recording, or
/// a staff member's track with no participant entry).
fn track_owner(kind: &FileKind) -> Option<ParticipantId> {
    match kind {
        FileKind::Track { participant } => ParticipantId::parse("participant_id", participant).ok(),
        FileKind::Mix => None,
    }
}

/// Carries the events of hearing `hearing`'s room (writing into `dir`) into the hearing's
/// record until the room stops, then releases node `node`'s media lease and queues the
/// transcription (in `language`). Blocks: run it on a thread of its own, with `rt` the
/// runtime the record is written from.
pub fn pump(
    app: App,
    node: &str,
    hearing: HearingId,
    dir: PathBuf,
    language: String,
    rt: tokio::runtime::Handle,
    events: std::sync::mpsc::Receiver<recorder::Event>,
) {
    let pump = Pump {
        app,
        node: node.to_string(),
        hearing,
        dir,
        language,
        rt,
    };
    pump.run(events)
}

/// Carries one room's events into the hearing's record.
struct Pump {
    /// This node's name: its media lease is released when the room has stopped.
    node: String,
    app: App,
    hearing: HearingId,
    /// The room's output directory (the hearing's media directory).
    dir: PathBuf,
    language: String,
    rt: tokio::runtime::Handle,
}

impl Pump {
    fn run(self, events: std::sync::mpsc::Receiver<recorder::Event>) {
        use recorder::Event;
        let mut labels: HashMap<String, String> = HashMap::new();
        let mut tracks = Vec::new();
        let mut off_reason = None;
        for ev in events {
            match ev {
                Event::ParticipantAdded { id, name, role, .. } => {
                    labels.insert(id.to_string(), recorder::speaker_label(&name, role));
                }
                Event::FileClosed(f) => {
                    let (kind, participant_id) = match &f.kind {
                        FileKind::Mix => (MediaKind::Segment, None),
                        FileKind::Track { participant } => {
                            tracks.push(TrackSpec {
                                label: participant.clone(),
                                path: self.dir.join(&f.file),
                                offset_ms: f.start_ms,
                            });
                            (
                                MediaKind::Track,
                                ParticipantId::parse("participant_id", participant).ok(),
                            )
                        }
                    };
                    let file = MediaFile {
                        file: f.file,
                        kind,
                        participant_id,
                        sha256: f.sha256,
                        size: f.size,
                        duration_ms: f.duration_ms,
                        start_ms: f.start_ms,
                        end_ms: f.end_ms,
                    };
                    self.rt
                        .block_on(crate::outbox::media_closed(&self.app, self.hearing, &file));
                }
                Event::WentOffRecord { reason, .. } => off_reason = Some(reason),
                // the recording's gap while off the record, with its reason (not the wait before
                // the record first opened)
                Event::WentOnRecord {
                    gap: Some((from, to)),
                    ..
                } => {
                    if let Some(reason) = off_reason.take() {
                        self.record(
                            &[],
                            &[(from.as_millis() as u64, to.as_millis() as u64, reason)],
                        );
                    }
                }
                Event::Restarted { gap_from, at } => self.record(
                    &[],
                    &[(
                        gap_from.as_millis() as u64,
                        at.as_millis() as u64,
                        "the media node restarted".into(),
                    )],
                ),
                Event::Stalled { id, at } => {
                    tracing::warn!(hearing = %self.hearing, participant = %id, at_ms = at.as_millis() as u64, "no media: silence filled in");
                    self.media_health(id.as_str(), true, at);
                }
                Event::Resumed { id, at } => self.media_health(id.as_str(), false, at),
                Event::TrackGap {
                    id,
                    from,
                    to,
                    reason,
                } => self.track_gap(id.as_str(), from, to, &reason),
                // a file could not be written: the judge is told at once, the media lost is
                // a gap once a new file takes over
                Event::RecordingFault {
                    file,
                    kind,
                    at,
                    message,
                } => {
                    let fault = self.app.record_recording_fault(
                        self.hearing,
                        track_owner(&kind),
                        &file,
                        at.as_millis() as u64,
                        &message,
                    );
                    if let Err(e) = self.rt.block_on(fault) {
                        tracing::error!(hearing = %self.hearing, error = %e, "logging a recording fault");
                    }
                }
                Event::RecordingLost {
                    kind,
                    from,
                    to,
                    reason,
                } => self.gap(track_owner(&kind), from, to, &reason),
                Event::MediaError { message } => {
                    tracing::error!(hearing = %self.hearing, %message, "room media error")
                }
                // every file is closed (and announced above) before the room says it stopped
                Event::Stopped { .. } => break,
                _ => {}
            }
        }
        if let Err(e) = self.rt.block_on(
            self.app
                .system()
                .release_media_lease(self.hearing, &self.node),
        ) {
            tracing::warn!(hearing = %self.hearing, error = %e, "releasing the media lease");
        }
        if tracks.is_empty() {
            return;
        }
        // Speakers by name and role: as the room knew them, or (for tracks another node wrote
        // before this one took the hearing over) as the hearing lists them.
        let listed = self
            .rt
            .block_on(self.app.system().hearing(self.hearing))
            .ok()
            .flatten();
        for t in &mut tracks {
            let id = t.label.clone();
            t.label = labels.get(&id).cloned().unwrap_or_else(|| {
                listed
                    .as_ref()
                    .and_then(|(h, _, _)| h.participants.iter().find(|p| p.id.to_string() == id))
                    .map(|p| recorder::speaker_label(p.display_name.as_str(), room_role(p.role)))
                    .unwrap_or(id)
            });
        }
        let spec = JobSpec {
            tracks,
            language: self.language.clone(),
        };
        self.rt
            .block_on(crate::outbox::transcription(&self.app, self.hearing, &spec));
    }

    /// Puts a stall (or its end) of the room's input `id` on the hearing's record.
    fn media_health(&self, id: &str, stalled: bool, at: std::time::Duration) {
        // a participant's room id is their participant id; staff have a derived one
        let participant = ParticipantId::parse("participant_id", id).ok();
        let at_ms = at.as_millis() as u64;
        if let Err(e) = self.rt.block_on(self.app.record_media_health(
            self.hearing,
            participant,
            id,
            stalled,
            at_ms,
        )) {
            tracing::error!(hearing = %self.hearing, error = %e, stalled, "logging a media stall");
        }
    }

    /// Puts the cut in room input `id`'s own track (they were muted) on the hearing's record.
    fn track_gap(&self, id: &str, from: std::time::Duration, to: std::time::Duration, why: &str) {
        // staff without a participant entry have no track of their own in the record's terms
        let Ok(participant) = ParticipantId::parse("participant_id", id) else {
            return;
        };
        self.gap(Some(participant), from, to, why);
    }

    /// Puts a gap of the recording (`participant`: of their own track) on the hearing's record.
    fn gap(
        &self,
        participant: Option<ParticipantId>,
        from: std::time::Duration,
        to: std::time::Duration,
        why: &str,
    ) {
        let (from, to) = (from.as_millis() as u64, to.as_millis() as u64);
        if let Err(e) =
            self.rt.block_on(
                self.app
                    .record_track_gap(self.hearing, participant, from, to, why),
            )
        {
            tracing::error!(hearing = %self.hearing, error = %e, "logging a muted track's gap");
        }
    }

    fn record(&self, files: &[MediaFile], gaps: &[(u64, u64, String)]) {
        if let Err(e) = self
            .rt
            .block_on(self.app.record_media(self.hearing, files, gaps))
        {
            // the file and the room's manifest keep the hash; the log lacks it: loud, not fatal
            tracing::error!(hearing = %self.hearing, error = %e, "logging closed media");
        }
    }
}
