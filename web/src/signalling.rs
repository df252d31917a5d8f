//! The MediaService: WebRTC signalling over gRPC (grpc-web friendly: unary calls and one server
//! stream). It authenticates like every other service, asks the application whether the caller
//! may connect (`App::media_peer`), and drives the media crate's `Rooms` on blocking threads.
//! A supervisor per hearing follows its events: admission and stand-down switch whether a
//! participant's media is kept, leaving and removal end their connection, adjournment ends all.
use std::collections::HashSet;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use futures::Stream;
use hearing_core::app::App;
use hearing_core::domain::{EventPayload, HearingId, HearingState};
use hearing_core::grpc::{caller, MAX_REQUEST_BYTES};
use opencourt_media::{MediaError, Offer, Rooms, Signal, SignalKind};
use opencourt_proto::v1 as pb;
use pb::media_service_server::{MediaService, MediaServiceServer};
use tokio::sync::broadcast::error::RecvError;
use tonic::{Request, Response, Status};

#[derive(Clone)]
pub struct Media {
    app: App,
    rooms: Rooms,
    supervised: Arc<Mutex<HashSet<HearingId>>>,
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
    pub fn new(app: App, rooms: Rooms) -> Self {
        Media {
            app,
            rooms,
            supervised: Arc::default(),
        }
    }

    pub fn service(&self) -> MediaServiceServer<Self> {
        MediaServiceServer::new(self.clone()).max_decoding_message_size(MAX_REQUEST_BYTES)
    }

    /// Ends every connection and finishes every track (server shutdown).
    pub async fn close_all(&self) {
        let rooms = self.rooms.clone();
        let _ = blocking(move || rooms.close_all("the server is shutting down")).await;
    }

    /// Follows hearing `id`'s events (once per hearing): whoever leaves or is removed loses
    /// their connection; when the hearing ends, every connection ends.
    fn supervise(&self, id: HearingId) {
        if !self.supervised.lock().expect("supervised").insert(id) {
            return;
        }
        let mut rx = self.app.hub.subscribe(id);
        let (rooms, supervised) = (self.rooms.clone(), self.supervised.clone());
        tokio::spawn(async move {
            loop {
                let e = match rx.recv().await {
                    Ok(e) => e,
                    Err(RecvError::Lagged(n)) => {
                        tracing::warn!(hearing = %id, missed = n, "media supervisor lagged");
                        continue;
                    }
                    Err(RecvError::Closed) => break,
                };
                let rooms = rooms.clone();
                let end = match e.payload() {
                    Some(EventPayload::Admitted { participant_id }) => {
                        rooms.set_admitted(id.0, &participant_id.to_string(), true);
                        false
                    }
                    Some(EventPayload::StoodDown { participant_id, .. }) => {
                        rooms.set_admitted(id.0, &participant_id.to_string(), false);
                        false
                    }
                    Some(EventPayload::Left { participant_id, .. }) => {
                        let _ = blocking(move || {
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
        self.supervise(id);
        let rooms = self.rooms.clone();
        let answer = blocking(move || rooms.connect(id.0, &peer.key, peer.admitted, offer))
            .await?
            .map_err(to_status)?;
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
        self.supervise(id);
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
