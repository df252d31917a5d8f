//! The gRPC MediaService: WebRTC signalling (an offer and its answer, ICE candidates, and one
//! server stream of signals per connection), grpc-web friendly. It authenticates like every
//! other service and asks the application whether the caller may connect (`App::media_peer`).
use std::pin::Pin;

use futures::Stream;
use hearing_core::grpc::caller;
use opencourt_media::{Offer, PeerInfo, PeerState, PeerView, Signal, SignalKind};
use opencourt_proto::v1 as pb;
use pb::media_service_server::MediaService;
use tokio::sync::broadcast::error::RecvError;
use tonic::{Request, Response, Status};

use super::{blocking, hearing_id, room_role, to_status, Media};

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
            SignalKind::Closed {
                reason, replaced, ..
            } => pb::media_signal::Signal::Closed(pb::ConnectionClosed { reason, replaced }),
        }),
    }
}

/// A participant's current connection as the MediaService shows it. `participant_id` is the
/// peer's key: their participant id (or `user-<id>` for a clerk who has not joined).
fn connection(v: &PeerView) -> pb::PeerConnection {
    let state = match v.state {
        PeerState::Connecting => pb::PeerState::Connecting,
        PeerState::Connected => pb::PeerState::Connected,
        PeerState::Disconnected => pb::PeerState::Disconnected,
        PeerState::Failed => pb::PeerState::Failed,
        PeerState::Closed => pb::PeerState::Closed,
    };
    pb::PeerConnection {
        participant_id: v.peer.clone(),
        session_id: v.session.clone(),
        state: state as i32,
        rtt_ms: v.quality.rtt_ms,
        jitter_ms: v.quality.jitter_ms,
        loss_fraction: v.quality.loss_fraction,
        bitrate_in: v.quality.bitrate_in,
        last_media_ms_ago: v
            .last_media_ago
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        has_audio: v.has_audio,
        has_video: v.has_video,
    }
}

fn is_last(s: &Signal) -> bool {
    matches!(s.kind, SignalKind::Closed { last: true, .. })
}

type SignalStream = Pin<Box<dyn Stream<Item = Result<pb::MediaSignal, Status>> + Send>>;

#[tonic::async_trait]
impl MediaService for Media {
    async fn get_connections(
        &self,
        req: Request<pb::GetConnectionsRequest>,
    ) -> Result<Response<pb::GetConnectionsResponse>, Status> {
        let caller = caller(&self.app, &req).await?;
        let id = hearing_id(&req.get_ref().hearing_id)?;
        self.app.may_view_connections(&caller, id).await?;
        let rooms = self.rooms.clone();
        let views = blocking(move || rooms.connections(id.0)).await?;
        Ok(Response::new(pb::GetConnectionsResponse {
            connections: views.iter().map(connection).collect(),
        }))
    }

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
                // a refusal here is the room being in that state already: the connection took it
                let admitted = self
                    .rooms
                    .set_admitted(id.0, &now.key, now.admitted, now.as_of_seq);
                let muted =
                    self.rooms
                        .set_muted(id.0, &now.key, now.muted, now.as_of_seq, now.mute_reason);
                for e in [admitted, muted].into_iter().filter_map(Result::err) {
                    tracing::debug!(hearing = %id, error = %e, "room refused");
                }
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
        let token = hearing_core::grpc::bearer(&req)?.to_string();
        let id = hearing_id(&req.get_ref().hearing_id)?;
        let peer = self.app.media_peer(&caller, id).await?;
        // counted with the token's and the hearing's other streams (the watch limits)
        let permit = self.app.stream_permit(&token, id)?;
        self.open_room(id, peer.opened_at).await?;
        let (replay, mut rx) = self.rooms.watch(id.0, &peer.key);
        // held while the stream is open: its end may start the reconnect grace
        let watching = self.watchers.open(&self.app, &self.rooms, id.0, &peer.key);
        let stream = async_stream::stream! {
            let _watching = watching;
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
        // Ends with UNAUTHENTICATED once the token is revoked, its account disabled or it expires.
        let stream = self.app.while_token_valid(&token, permit, stream);
        Ok(Response::new(Box::pin(stream)))
    }
}
