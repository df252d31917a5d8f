//! What the media node writes to the record (closed files, gaps, live captions), and verifying
//! a hearing's whole record against its log.
use super::{system_actor, App};
use crate::domain::transcript::transcript_sha256;
use crate::domain::*;
use crate::error::Result;
use crate::records::MediaFile;
use crate::store::SideWrite;

impl App {
    /// Appends live captions (final transcript segments as the hearing goes) to the log, where
    /// watchers see them at once.
    pub async fn add_captions(
        &self,
        hearing: HearingId,
        captions: Vec<EventPayload>,
    ) -> Result<Vec<StoredEvent>> {
        if captions.is_empty() {
            return Ok(Vec::new());
        }
        self.append_events(hearing, system_actor("live captions"), captions, Vec::new())
            .await
    }

    /// Records closed media files and recording gaps: each becomes an event in the hearing's
    /// log (with the file's hash) and a row on the case record, in one transaction.
    pub async fn record_media(
        &self,
        hearing: HearingId,
        files: &[MediaFile],
        gaps: &[(u64, u64, String)],
    ) -> Result<Vec<StoredEvent>> {
        let mut events: Vec<EventPayload> = files.iter().map(media_closed).collect();
        events.extend(
            gaps.iter()
                .map(|(from_ms, to_ms, reason)| EventPayload::RecordingGap {
                    from_ms: *from_ms,
                    to_ms: *to_ms,
                    reason: reason.clone(),
                    participant_id: None,
                }),
        );
        let side = media_rows(hearing, files);
        self.append_events(hearing, system_actor("recorder"), events, side)
            .await
    }

    /// A notice from the media node for the hearing's log, where the judge's watch shows it
    /// (a note by the system actor "media node"): e.g. that for a while it could not read the
    /// log, so the court's commands reached the room late.
    pub async fn record_media_notice(
        &self,
        hearing: HearingId,
        text: String,
    ) -> Result<Vec<StoredEvent>> {
        let note = EventPayload::Note { text };
        self.append_events(hearing, system_actor("media node"), vec![note], Vec::new())
            .await
    }

    /// [`App::record_media`] for `files` kept in outbox entry `outbox_id`, which goes in the
    /// same transaction: the hashes are logged once however often this is retried.
    pub async fn record_media_from_outbox(
        &self,
        hearing: HearingId,
        files: &[MediaFile],
        outbox_id: &str,
    ) -> Result<Vec<StoredEvent>> {
        let events = files.iter().map(media_closed).collect();
        let mut side = media_rows(hearing, files);
        side.push(SideWrite::TakeOutbox {
            id: outbox_id.to_string(),
        });
        self.append_events(hearing, system_actor("recorder"), events, side)
            .await
    }

    /// Appends `event`, a recorder's event kept in outbox entry `outbox_id`, to the hearing's
    /// log; the entry goes in the same transaction, so the event is logged once however often
    /// this is retried. Only what a room reports is taken: a recording gap or fault, a stalled
    /// or resumed input.
    pub async fn record_event_from_outbox(
        &self,
        hearing: HearingId,
        event: EventPayload,
        outbox_id: &str,
    ) -> Result<Vec<StoredEvent>> {
        match event {
            EventPayload::RecordingGap { .. }
            | EventPayload::RecordingFault { .. }
            | EventPayload::MediaStalled { .. }
            | EventPayload::MediaResumed { .. } => {}
            other => {
                return Err(crate::error::CoreError::Internal(format!(
                    "outbox entry {outbox_id}: a {} is not a recorder's event",
                    other.kind()
                )))
            }
        }
        let side = vec![SideWrite::TakeOutbox {
            id: outbox_id.to_string(),
        }];
        self.append_events(hearing, system_actor("recorder"), vec![event], side)
            .await
    }

    /// Verifies a hearing's whole record: the event chain; every media file the log announces
    /// (when `media_dir` is given) against its logged SHA-256 and size; and the stored transcript
    /// against the hash the log recorded for it. Returns the problems found (empty when sound).
    pub async fn verify_record(
        &self,
        id: HearingId,
        media_dir: Option<&std::path::Path>,
    ) -> Result<(Verification, Vec<String>)> {
        use sha2::{Digest, Sha256};
        let v = self.store.verify_log(id).await?;
        let mut problems = Vec::new();
        let events = self.store.events_after(id, 0, u32::MAX).await?;
        let mut transcript_hash = None;
        for e in &events {
            match e.payload() {
                Some(EventPayload::MediaClosed {
                    file, sha256, size, ..
                }) => {
                    let Some(dir) = media_dir else { continue };
                    let path = dir.join(&file);
                    match std::fs::read(&path) {
                        Ok(bytes) => {
                            let got = hex::encode(Sha256::digest(&bytes));
                            if got != sha256 || bytes.len() as u64 != size {
                                problems.push(format!(
                                    "{}: SHA-256 {got} ({} bytes) does not match the log's {sha256} ({size} bytes, event {})",
                                    path.display(),
                                    bytes.len(),
                                    e.seq
                                ));
                            }
                        }
                        Err(err) => problems.push(format!(
                            "{}: {err} (announced in event {})",
                            path.display(),
                            e.seq
                        )),
                    }
                }
                Some(EventPayload::TranscriptStored { sha256, .. }) => {
                    transcript_hash = Some((sha256, e.seq))
                }
                _ => {}
            }
        }
        match (self.store.transcript(id).await?, transcript_hash) {
            (Some(t), Some((logged, seq))) => {
                let got = transcript_sha256(&t);
                if got != logged {
                    problems.push(format!("the stored transcript's SHA-256 {got} does not match event {seq}'s {logged}"));
                }
            }
            (Some(_), None) => {
                problems.push("a transcript is stored but the log never recorded it".into())
            }
            (None, Some((_, seq))) => {
                problems.push(format!("event {seq} records a transcript that is missing"))
            }
            (None, None) => {}
        }
        Ok((v, problems))
    }
}

/// The log's event for a closed media file.
fn media_closed(m: &MediaFile) -> EventPayload {
    EventPayload::MediaClosed {
        kind: m.kind,
        file: m.file.clone(),
        participant_id: m.participant_id,
        sha256: m.sha256.clone(),
        size: m.size,
        duration_ms: m.duration_ms,
        start_ms: m.start_ms,
        end_ms: m.end_ms,
    }
}

/// The case record's rows for closed media files, written with their events.
fn media_rows(hearing: HearingId, files: &[MediaFile]) -> Vec<SideWrite> {
    files
        .iter()
        .map(|m| SideWrite::InsertMedia {
            hearing_id: hearing,
            media: m.clone(),
        })
        .collect()
}
