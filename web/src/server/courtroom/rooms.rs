//! Opening a hearing's room on this node: the media lease (taken, renewed, and the room stopped
//! should another node take it), the room itself in the hearing's state, its supervisor, its
//! pump, and live captions.
use std::path::PathBuf;

use hearing_core::domain::{HearingId, HearingState};
use hearing_core::records::LeaseOutcome;
use tonic::Status;
use transcriber::engine::Language;
use transcriber::model::ModelName;

use super::pump::Pump;
use super::{blocking, room_span, to_status, Media};

impl Media {
    /// Renews this node's lease on the hearing while its room runs here. Should another node
    /// hold it (this node could not renew in time and the other took the hearing over), this
    /// node's room stops at once, so that two nodes never record one hearing: the log says so
    /// (a recording gap of no length, with the reason, at the moment the room stopped) and the
    /// room's open files are closed, hashed and logged as at any stop.
    fn renew_lease(&self, id: HearingId, opened: chrono::DateTime<chrono::Utc>) {
        let (app, rooms, node) = (self.app.clone(), self.rooms.clone(), self.node.clone());
        let lease = chrono::Duration::from_std(node.lease).unwrap_or(chrono::Duration::seconds(10));
        let renew = async move {
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
                        tracing::error!(holder = %l.node, "lost the hearing's media lease to another node: stopping the room");
                        let at = (chrono::Utc::now() - opened).num_milliseconds().max(0) as u64;
                        let reason = format!(
                            "media node {} lost the hearing's media lease to node {}: its room stopped",
                            node.name, l.node
                        );
                        if let Err(e) = app.record_media(id, &[], &[(at, at, reason)]).await {
                            tracing::error!(error = %e, "logging the lost media lease");
                        }
                        let rooms = rooms.clone();
                        let _ = blocking(move || {
                            rooms.close_hearing(id.0, "this node lost the hearing's media lease")
                        })
                        .await;
                        break;
                    }
                    Err(e) => tracing::warn!(error = %e, "renewing the media lease"),
                }
            }
        };
        tokio::spawn(tracing::Instrument::instrument(renew, room_span(id)));
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
            .spawn(move || {
                let _room = room_span(id).entered();
                match engines.get(&model) {
                    Ok(engine) => crate::server::captions::run(app, id, engine, language, rx, rt),
                    Err(e) => tracing::error!(error = %e, "live captions: loading the model"),
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
    pub(super) async fn open_room(
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
        self.supervise(id, last_seq, opened);
        if let Some(events) = events {
            if let (Some((path, language)), Some(rx)) = (model, heard_rx) {
                self.start_captions(id, path, language, rx);
            }
            self.renew_lease(id, opened);
            let pump = Pump {
                app: self.app.clone(),
                node: self.node.name.clone(),
                hearing: id,
                dir: self.media_dir.join(id.0.to_string()),
                language: self.language.clone(),
                rt: tokio::runtime::Handle::current(),
            };
            let (running, done) = tokio::sync::oneshot::channel::<()>();
            self.pumps.lock().expect("pumps").push(done);
            std::thread::Builder::new()
                .name("room-pump".into())
                .spawn(move || {
                    let _room = room_span(id).entered();
                    pump.run(events);
                    drop(running);
                })
                .map_err(|e| {
                    tracing::error!(error = %e, "starting the room pump");
                    Status::internal("internal error")
                })?;
        }
        Ok(())
    }
}
