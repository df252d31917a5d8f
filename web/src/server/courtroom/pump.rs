//! The pump: carries one room's events into the hearing's record. [`record_actions`] is the
//! mapping (room event → what to write), pure and unit-tested; [`Pump::run`] only does the IO.
use std::collections::HashMap;
use std::path::PathBuf;

use hearing_core::app::App;
use hearing_core::domain::events::MediaKind;
use hearing_core::domain::{EventPayload, HearingId, ParticipantId};
use hearing_core::records::MediaFile;
use recorder::manifest::FileKind;
use recorder::Event;
use transcriber::worker::{JobSpec, TrackSpec};

use super::room_role;

/// What the pump remembers between a room's events.
#[derive(Debug, Default)]
pub struct PumpState {
    /// The speaker label (name and role) of each room input, by room id.
    labels: HashMap<String, String>,
    /// Every participant track closed so far, in order: what is transcribed at the stop.
    tracks: Vec<ClosedTrack>,
    /// Why the room went off the record, until it comes back on (the gap's reason).
    off_reason: Option<String>,
}

/// A closed participant track, to be transcribed when the room stops.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClosedTrack {
    /// The room's id for the participant (their participant id).
    pub participant: String,
    /// Their speaker label as the room knew it; `None` when this room never saw them (a track
    /// another node wrote before this one took the hearing over).
    pub label: Option<String>,
    /// Relative to the hearing's media directory.
    pub file: String,
    pub offset_ms: u64,
}

/// One write into the hearing's record (or the lease table) that a room event calls for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordAction {
    /// A closed, hashed file goes into the log.
    File(MediaFile),
    /// Nothing was recorded between these hearing-clock times, for this reason: of the whole
    /// recording, or (`participant`) of that participant's own track.
    Gap {
        participant: Option<ParticipantId>,
        from_ms: u64,
        to_ms: u64,
        reason: String,
    },
    /// Writing a recording file failed (of `participant`'s own track, else of the mix): the
    /// presiding judge is told at once; the media lost follows as a `Gap`.
    Fault {
        file: String,
        participant: Option<ParticipantId>,
        at_ms: u64,
        message: String,
    },
    /// A room input stopped sending (`stalled`) or sends again.
    Health {
        media_id: String,
        participant: Option<ParticipantId>,
        stalled: bool,
        at_ms: u64,
    },
    /// A media error the room carried on past: logged loudly, not part of the record.
    Warn(String),
    /// The room has stopped (every file closed and announced): release this node's media
    /// lease, then queue the transcription of these tracks (none: nothing to transcribe).
    Finish(Vec<ClosedTrack>),
}

/// The writes room event `ev` calls for. Events that change nothing in the record (admissions,
/// mutes, the current speaker, exhibits) call for none: the hearing's log has them already,
/// from the commands that caused them.
pub fn record_actions(ev: &Event, state: &mut PumpState) -> Vec<RecordAction> {
    match ev {
        Event::ParticipantAdded { id, name, role, .. } => {
            state
                .labels
                .insert(id.to_string(), recorder::speaker_label(name, *role));
            vec![]
        }
        Event::FileClosed(f) => {
            let (kind, participant_id) = match &f.kind {
                FileKind::Mix => (MediaKind::Segment, None),
                FileKind::Track { participant } => {
                    state.tracks.push(ClosedTrack {
                        participant: participant.clone(),
                        label: state.labels.get(participant).cloned(),
                        file: f.file.clone(),
                        offset_ms: f.start_ms,
                    });
                    (
                        MediaKind::Track,
                        ParticipantId::parse("participant_id", participant).ok(),
                    )
                }
            };
            vec![RecordAction::File(MediaFile {
                file: f.file.clone(),
                kind,
                participant_id,
                sha256: f.sha256.clone(),
                size: f.size,
                duration_ms: f.duration_ms,
                start_ms: f.start_ms,
                end_ms: f.end_ms,
            })]
        }
        Event::WentOffRecord { reason, .. } => {
            state.off_reason = Some(reason.clone());
            vec![]
        }
        // the recording's gap while off the record, with its reason (not the wait before the
        // record first opened, which has no gap)
        Event::WentOnRecord {
            gap: Some((from, to)),
            ..
        } => match state.off_reason.take() {
            Some(reason) => vec![RecordAction::Gap {
                participant: None,
                from_ms: ms(*from),
                to_ms: ms(*to),
                reason,
            }],
            None => vec![],
        },
        Event::WentOnRecord { gap: None, .. } => vec![],
        Event::Restarted { gap_from, at } => vec![RecordAction::Gap {
            participant: None,
            from_ms: ms(*gap_from),
            to_ms: ms(*at),
            reason: "the media node restarted".into(),
        }],
        Event::Stalled { id, at } => vec![health(id, true, *at)],
        Event::Resumed { id, at } => vec![health(id, false, *at)],
        // a muted participant's own track was cut (staff without a participant entry have no
        // track of their own in the record's terms)
        Event::TrackGap {
            id,
            from,
            to,
            reason,
        } => match ParticipantId::parse("participant_id", id.as_str()) {
            Ok(p) => vec![RecordAction::Gap {
                participant: Some(p),
                from_ms: ms(*from),
                to_ms: ms(*to),
                reason: reason.clone(),
            }],
            Err(_) => vec![],
        },
        Event::RecordingFault {
            file,
            kind,
            at,
            message,
        } => vec![RecordAction::Fault {
            file: file.clone(),
            participant: track_owner(kind),
            at_ms: ms(*at),
            message: message.clone(),
        }],
        Event::RecordingLost {
            kind,
            from,
            to,
            reason,
        } => vec![RecordAction::Gap {
            participant: track_owner(kind),
            from_ms: ms(*from),
            to_ms: ms(*to),
            reason: reason.clone(),
        }],
        Event::MediaError { message } => vec![RecordAction::Warn(message.clone())],
        // every file is closed (and announced above) before the room says it stopped
        Event::Stopped { .. } => vec![RecordAction::Finish(std::mem::take(&mut state.tracks))],
        Event::Admitted { .. }
        | Event::StoodDown { .. }
        | Event::Muted { .. }
        | Event::Unmuted { .. }
        | Event::Removed { .. }
        | Event::ExhibitShown { .. }
        | Event::ExhibitHidden { .. }
        | Event::Speaking { .. } => vec![],
    }
}

/// The participant whose own track a room file of `kind` is (none: the mixed recording, or
/// a staff member's track with no participant entry).
fn track_owner(kind: &FileKind) -> Option<ParticipantId> {
    match kind {
        FileKind::Track { participant } => ParticipantId::parse("participant_id", participant).ok(),
        FileKind::Mix => None,
    }
}

fn ms(d: std::time::Duration) -> u64 {
    d.as_millis() as u64
}

fn health(id: &recorder::ParticipantId, stalled: bool, at: std::time::Duration) -> RecordAction {
    RecordAction::Health {
        media_id: id.to_string(),
        // a participant's room id is their participant id; staff have a derived one
        participant: ParticipantId::parse("participant_id", id.as_str()).ok(),
        stalled,
        at_ms: ms(at),
    }
}

/// Carries the events of hearing `hearing`'s room (writing into `dir`) into the hearing's
/// record until the room stops, then releases node `node`'s media lease and queues the
/// transcription (in `language`). Blocks: run it on a thread of its own, with `rt` the runtime
/// the record is written from.
pub fn run(
    app: App,
    node: &str,
    hearing: HearingId,
    dir: PathBuf,
    language: String,
    rt: tokio::runtime::Handle,
    events: std::sync::mpsc::Receiver<Event>,
) {
    Pump {
        app,
        node: node.to_string(),
        hearing,
        dir,
        language,
        rt,
    }
    .run(events)
}

/// Carries one room's events into the hearing's record: the IO around [`record_actions`].
pub(super) struct Pump {
    /// This node's name: its media lease is released when the room has stopped.
    pub node: String,
    pub app: App,
    pub hearing: HearingId,
    /// The room's output directory (the hearing's media directory).
    pub dir: PathBuf,
    pub language: String,
    pub rt: tokio::runtime::Handle,
}

impl Pump {
    pub fn run(self, events: std::sync::mpsc::Receiver<Event>) {
        let mut state = PumpState::default();
        for ev in events {
            for action in record_actions(&ev, &mut state) {
                if self.apply(action) {
                    return;
                }
            }
        }
    }

    /// Does one write; true after the last (the room has stopped).
    fn apply(&self, action: RecordAction) -> bool {
        let h = self.hearing;
        match action {
            // through the outbox: a hash the database cannot take now is logged later
            RecordAction::File(f) => self
                .rt
                .block_on(super::outbox::media_closed(&self.app, h, &f)),
            // through the outbox: what the database cannot take now is logged later, once
            RecordAction::Gap {
                participant,
                from_ms,
                to_ms,
                reason,
            } => {
                let event = EventPayload::RecordingGap {
                    from_ms,
                    to_ms,
                    reason,
                    participant_id: participant,
                };
                self.rt
                    .block_on(super::outbox::recorder_event(&self.app, h, &event));
            }
            RecordAction::Fault {
                file,
                participant,
                at_ms,
                message,
            } => {
                let event = EventPayload::RecordingFault {
                    file,
                    at_ms,
                    message,
                    participant_id: participant,
                };
                self.rt
                    .block_on(super::outbox::recorder_event(&self.app, h, &event));
            }
            RecordAction::Health {
                media_id,
                participant,
                stalled,
                at_ms,
            } => {
                let event = if stalled {
                    tracing::warn!(input = %media_id, at_ms, "no media: silence filled in");
                    EventPayload::MediaStalled {
                        participant_id: participant,
                        media_id,
                        since_ms: at_ms,
                    }
                } else {
                    EventPayload::MediaResumed {
                        participant_id: participant,
                        media_id,
                        at_ms,
                    }
                };
                self.rt
                    .block_on(super::outbox::recorder_event(&self.app, h, &event));
            }
            RecordAction::Warn(message) => {
                tracing::error!(%message, "room media error")
            }
            RecordAction::Finish(tracks) => {
                self.finish(tracks);
                return true;
            }
        }
        false
    }

    /// Releases the lease and queues the transcription of the room's tracks.
    fn finish(&self, closed: Vec<ClosedTrack>) {
        let h = self.hearing;
        let release = self.app.system().release_media_lease(h, &self.node);
        if let Err(e) = self.rt.block_on(release) {
            tracing::warn!(error = %e, "releasing the media lease");
        }
        if closed.is_empty() {
            return;
        }
        // Speakers by name and role: as the room knew them, or (for tracks another node wrote
        // before this one took the hearing over) as the hearing lists them.
        let listed = self
            .rt
            .block_on(self.app.system().hearing(h))
            .ok()
            .flatten();
        let tracks = closed
            .into_iter()
            .map(|t| {
                let label = t.label.unwrap_or_else(|| {
                    listed
                        .as_ref()
                        .and_then(|(h, _, _)| {
                            h.participants
                                .iter()
                                .find(|p| p.id.to_string() == t.participant)
                        })
                        .map(|p| {
                            recorder::speaker_label(p.display_name.as_str(), room_role(p.role))
                        })
                        .unwrap_or_else(|| t.participant.clone())
                });
                TrackSpec {
                    label,
                    path: self.dir.join(&t.file),
                    offset_ms: t.offset_ms,
                }
            })
            .collect();
        let spec = JobSpec {
            tracks,
            language: self.language.clone(),
        };
        // through the outbox: a job the database cannot take now is queued later
        self.rt
            .block_on(super::outbox::transcription(&self.app, h, &spec));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use recorder::manifest::FileEntry;
    use recorder::Role;

    use super::*;

    const P: &str = "0b5c1a36-5d2f-4c1e-9f5e-3f9a2d6b7c80";

    fn pid(s: &str) -> recorder::ParticipantId {
        recorder::ParticipantId::parse(s).unwrap()
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn file(kind: FileKind, name: &str, start_ms: u64) -> FileEntry {
        FileEntry {
            file: name.into(),
            kind,
            sha256: "ab".repeat(32),
            size: 1234,
            duration_ms: 5000,
            start_ms,
            end_ms: start_ms + 5000,
            recovered: false,
        }
    }

    fn track(name: &str, start_ms: u64) -> Event {
        Event::FileClosed(file(
            FileKind::Track {
                participant: P.into(),
            },
            name,
            start_ms,
        ))
    }

    #[test]
    fn a_closed_segment_goes_into_the_log_as_a_segment() {
        let mut s = PumpState::default();
        let got = record_actions(
            &Event::FileClosed(file(FileKind::Mix, "segment-00001.mkv", 7000)),
            &mut s,
        );
        assert_eq!(
            got,
            vec![RecordAction::File(MediaFile {
                file: "segment-00001.mkv".into(),
                kind: MediaKind::Segment,
                participant_id: None,
                sha256: "ab".repeat(32),
                size: 1234,
                duration_ms: 5000,
                start_ms: 7000,
                end_ms: 12000,
            })]
        );
        assert!(s.tracks.is_empty(), "a segment is not transcribed");
    }

    #[test]
    fn a_closed_track_goes_into_the_log_and_is_transcribed_at_the_stop_with_its_label() {
        let mut s = PumpState::default();
        let added = Event::ParticipantAdded {
            id: pid(P),
            name: "Ann Lee".into(),
            role: Role::Witness,
            at: secs(1),
        };
        assert_eq!(record_actions(&added, &mut s), vec![]);
        let got = record_actions(&track("track-a-1.mka", 2000), &mut s);
        let [RecordAction::File(f)] = got.as_slice() else {
            panic!("one file, got {got:?}")
        };
        assert_eq!(f.kind, MediaKind::Track);
        assert_eq!(f.participant_id.map(|p| p.to_string()).as_deref(), Some(P));
        assert_eq!(
            record_actions(&Event::Stopped { at: secs(9) }, &mut s),
            vec![RecordAction::Finish(vec![ClosedTrack {
                participant: P.into(),
                label: Some(recorder::speaker_label("Ann Lee", Role::Witness)),
                file: "track-a-1.mka".into(),
                offset_ms: 2000,
            }])]
        );
    }

    #[test]
    fn a_track_of_someone_this_room_never_saw_has_no_label_for_the_executor_to_find() {
        let mut s = PumpState::default();
        record_actions(&track("track-b.mka", 0), &mut s);
        let got = record_actions(&Event::Stopped { at: secs(1) }, &mut s);
        let [RecordAction::Finish(t)] = got.as_slice() else {
            panic!("finish, got {got:?}")
        };
        assert_eq!(t[0].label, None);
    }

    #[test]
    fn a_stop_with_no_tracks_finishes_with_none_to_transcribe() {
        let mut s = PumpState::default();
        assert_eq!(
            record_actions(&Event::Stopped { at: secs(1) }, &mut s),
            vec![RecordAction::Finish(vec![])]
        );
    }

    #[test]
    fn coming_back_on_the_record_logs_the_gap_with_the_reason_it_went_off() {
        let mut s = PumpState::default();
        let off = Event::WentOffRecord {
            at: secs(10),
            reason: "lunch".into(),
        };
        assert_eq!(record_actions(&off, &mut s), vec![]);
        let on = Event::WentOnRecord {
            at: secs(20),
            reason: "back".into(),
            gap: Some((secs(10), secs(20))),
        };
        assert_eq!(
            record_actions(&on, &mut s),
            vec![RecordAction::Gap {
                participant: None,
                from_ms: 10_000,
                to_ms: 20_000,
                reason: "lunch".into()
            }]
        );
        // the reason is used once
        assert_eq!(record_actions(&on, &mut s), vec![]);
    }

    #[test]
    fn the_first_time_on_the_record_is_no_gap() {
        let mut s = PumpState::default();
        let first = Event::WentOnRecord {
            at: secs(3),
            reason: "on".into(),
            gap: None,
        };
        assert_eq!(record_actions(&first, &mut s), vec![]);
        // nor a gap reported without a reason for it (the room started off the record)
        let odd = Event::WentOnRecord {
            at: secs(3),
            reason: "on".into(),
            gap: Some((secs(0), secs(3))),
        };
        assert_eq!(record_actions(&odd, &mut s), vec![]);
    }

    #[test]
    fn a_restart_is_a_gap_from_the_last_closed_file() {
        let mut s = PumpState::default();
        assert_eq!(
            record_actions(
                &Event::Restarted {
                    gap_from: secs(4),
                    at: secs(6)
                },
                &mut s
            ),
            vec![RecordAction::Gap {
                participant: None,
                from_ms: 4000,
                to_ms: 6000,
                reason: "the media node restarted".into()
            }]
        );
    }

    #[test]
    fn stalls_and_resumptions_name_the_participant_when_the_input_is_one() {
        let mut s = PumpState::default();
        assert_eq!(
            record_actions(
                &Event::Stalled {
                    id: pid(P),
                    at: secs(5)
                },
                &mut s
            ),
            vec![RecordAction::Health {
                media_id: P.into(),
                participant: Some(ParticipantId::parse("p", P).unwrap()),
                stalled: true,
                at_ms: 5000
            }]
        );
        assert_eq!(
            record_actions(
                &Event::Resumed {
                    id: pid("u0123abcd"),
                    at: secs(6)
                },
                &mut s
            ),
            vec![RecordAction::Health {
                media_id: "u0123abcd".into(),
                participant: None,
                stalled: false,
                at_ms: 6000
            }]
        );
    }

    #[test]
    fn a_muted_participants_cut_is_a_gap_on_their_own_track() {
        let mut s = PumpState::default();
        let cut = |id: &str| Event::TrackGap {
            id: pid(id),
            from: secs(3),
            to: secs(8),
            reason: "muted by the court".into(),
        };
        assert_eq!(
            record_actions(&cut(P), &mut s),
            vec![RecordAction::Gap {
                participant: Some(ParticipantId::parse("p", P).unwrap()),
                from_ms: 3000,
                to_ms: 8000,
                reason: "muted by the court".into()
            }]
        );
        // staff with no participant entry have no track in the record's terms
        assert_eq!(record_actions(&cut("u0123abcd"), &mut s), vec![]);
    }

    #[test]
    fn a_failed_file_is_a_fault_at_once_then_the_media_lost_a_gap() {
        let mut s = PumpState::default();
        let owner = FileKind::Track {
            participant: P.into(),
        };
        assert_eq!(
            record_actions(
                &Event::RecordingFault {
                    file: "track-a-1.mka".into(),
                    kind: owner.clone(),
                    at: secs(4),
                    message: "No space left on device".into(),
                },
                &mut s
            ),
            vec![RecordAction::Fault {
                file: "track-a-1.mka".into(),
                participant: Some(ParticipantId::parse("p", P).unwrap()),
                at_ms: 4000,
                message: "No space left on device".into()
            }]
        );
        assert_eq!(
            record_actions(
                &Event::RecordingLost {
                    kind: FileKind::Mix,
                    from: secs(2),
                    to: secs(5),
                    reason: "disk full".into(),
                },
                &mut s
            ),
            vec![RecordAction::Gap {
                participant: None,
                from_ms: 2000,
                to_ms: 5000,
                reason: "disk full".into()
            }]
        );
    }

    #[test]
    fn a_media_error_is_a_warning_not_a_record_write() {
        let mut s = PumpState::default();
        assert_eq!(
            record_actions(
                &Event::MediaError {
                    message: "decoder".into()
                },
                &mut s
            ),
            vec![RecordAction::Warn("decoder".into())]
        );
    }

    #[test]
    fn room_state_changes_write_nothing_the_log_does_not_have_already() {
        let mut s = PumpState::default();
        let at = secs(1);
        for ev in [
            Event::Admitted { id: pid(P), at },
            Event::StoodDown { id: pid(P), at },
            Event::Muted { id: pid(P), at },
            Event::Unmuted { id: pid(P), at },
            Event::Removed { id: pid(P), at },
            Event::ExhibitShown {
                name: "a.pdf".into(),
                at,
            },
            Event::ExhibitHidden { at },
            Event::Speaking {
                id: Some(pid(P)),
                at,
            },
        ] {
            assert_eq!(record_actions(&ev, &mut s), vec![], "{ev:?}");
        }
    }
}
