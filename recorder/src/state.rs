//! The room's plain-Rust state: who is present, admitted and muted, whether the hearing is on the
//! record, which exhibit is shown. No GStreamer here: [`RoomState::apply`] is a pure transition
//! that returns the new state and the events the media layer carries out and announces.
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::manifest::{FileEntry, FileKind};

/// A participant's id; also used in file names, so restricted to `[A-Za-z0-9_-]{1,40}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ParticipantId(String);

impl ParticipantId {
    pub fn parse(s: &str) -> Result<Self> {
        let ok = !s.is_empty()
            && s.len() <= 40
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(Error::Invalid(format!(
                "participant id {s:?} must be 1-40 of [A-Za-z0-9_-]"
            )))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ParticipantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Judge,
    Clerk,
    Prosecutor,
    Counsel,
    Party,
    Witness,
    Expert,
    Interpreter,
    Observer,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::Judge => "Judge",
            Role::Clerk => "Clerk",
            Role::Prosecutor => "Prosecutor",
            Role::Expert => "Expert",
            Role::Counsel => "Counsel",
            Role::Party => "Party",
            Role::Witness => "Witness",
            Role::Interpreter => "Interpreter",
            Role::Observer => "Observer",
        }
    }
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "judge" => Role::Judge,
            "clerk" => Role::Clerk,
            "prosecutor" => Role::Prosecutor,
            "expert" => Role::Expert,
            "counsel" | "lawyer" => Role::Counsel,
            "party" => Role::Party,
            "witness" => Role::Witness,
            "interpreter" => Role::Interpreter,
            "observer" => Role::Observer,
            _ => return Err(Error::Invalid(format!("unknown role {s:?}"))),
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Participant {
    pub id: ParticipantId,
    pub name: String,
    pub role: Role,
    /// Linked into the mix (seen and heard by everyone, and in the recording).
    pub admitted: bool,
    /// Admitted but not heard in the mix; their own track keeps their audio.
    pub muted: bool,
}

/// Whether what happens is part of the court record (modelled on gst-plugins-rs togglerecord).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecordState {
    /// Segments and track files are being written since `since` (hearing clock).
    On { since: Duration },
    /// Nothing is written; the hearing goes on. `reason` is announced with the gap.
    Off { since: Duration, reason: String },
}

/// One switch of the record, on the hearing clock; the media layer routes buffers by these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Switch {
    pub at: Duration,
    pub on: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Add {
        id: ParticipantId,
        name: String,
        role: Role,
    },
    Admit(ParticipantId),
    StandDown(ParticipantId),
    Mute(ParticipantId),
    Unmute(ParticipantId),
    Remove(ParticipantId),
    OffRecord {
        reason: String,
    },
    OnRecord {
        reason: String,
    },
    ShowExhibit {
        name: String,
    },
    HideExhibit,
    Stop,
}

/// What happened in the room, on the hearing clock (`at`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    ParticipantAdded {
        id: ParticipantId,
        name: String,
        role: Role,
        at: Duration,
    },
    Admitted {
        id: ParticipantId,
        at: Duration,
    },
    StoodDown {
        id: ParticipantId,
        at: Duration,
    },
    Muted {
        id: ParticipantId,
        at: Duration,
    },
    Unmuted {
        id: ParticipantId,
        at: Duration,
    },
    Removed {
        id: ParticipantId,
        at: Duration,
    },
    /// Nothing of participant `id` was kept between `from` and `to` (hearing clock) because
    /// they were muted (`reason` says by whom): their track is cut there. Emitted when the cut
    /// ends (unmuted, removed or the room stopped).
    TrackGap {
        id: ParticipantId,
        from: Duration,
        to: Duration,
        reason: String,
    },
    WentOffRecord {
        at: Duration,
        reason: String,
    },
    /// Back on the record; `gap` is the off-record interval that is absent from the recording.
    WentOnRecord {
        at: Duration,
        reason: String,
        gap: Option<(Duration, Duration)>,
    },
    ExhibitShown {
        name: String,
        at: Duration,
    },
    ExhibitHidden {
        at: Duration,
    },
    /// No media from a present participant for the stall threshold; silence is filled in.
    Stalled {
        id: ParticipantId,
        at: Duration,
    },
    Resumed {
        id: ParticipantId,
        at: Duration,
    },
    /// The current speaker (highlighted in the view) changed; `None`: nobody speaks.
    Speaking {
        id: Option<ParticipantId>,
        at: Duration,
    },
    /// A segment or track file was closed, hashed and listed in the manifest.
    FileClosed(FileEntry),
    /// The room started on an output directory that already held a recording (after a crash
    /// or a stop): media between the last closed file and `at` is missing.
    Restarted {
        gap_from: Duration,
        at: Duration,
    },
    Stopped {
        at: Duration,
    },
    /// Writing `file` (of output `kind`) failed at `at` (hearing clock): disk full, an I/O or
    /// muxer error. Said at once; the room stops writing it and opens a new file as soon as
    /// it can ([`Event::RecordingLost`] then says what is missing). `file` empty: the room's
    /// own pipeline failed (`message` names the element); when that was a mixer or an encoder,
    /// the mixed recording from `at` to the stop is lost ([`Event::RecordingLost`] at the stop).
    RecordingFault {
        file: String,
        kind: FileKind,
        at: Duration,
        message: String,
    },
    /// Media of output `kind` between `from` and `to` (hearing clock) is not in the record: a
    /// file failed ([`Event::RecordingFault`], `reason`) and a new one took over at `to` (or
    /// the room stopped, or the participant left, before one could).
    RecordingLost {
        kind: FileKind,
        from: Duration,
        to: Duration,
        reason: String,
    },
    /// A media error; the room carries on where it can.
    MediaError {
        message: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomState {
    /// In the order they were added (the layout puts judges first, then this order).
    pub participants: Vec<Participant>,
    pub record: RecordState,
    /// Every on/off switch so far, oldest first; the first is the room's start.
    pub switches: Vec<Switch>,
    pub exhibit: Option<String>,
    pub stopped: bool,
}

impl RoomState {
    /// A room that starts on the record at `at` (hearing clock).
    pub fn new(at: Duration) -> Self {
        Self::starting(at, true)
    }

    /// A room that starts on the record, or off it until the first `OnRecord` (a hearing's
    /// room opens with the waiting room, before the judge goes on the record).
    pub fn starting(at: Duration, on_record: bool) -> Self {
        let (record, switches) = if on_record {
            (RecordState::On { since: at }, vec![Switch { at, on: true }])
        } else {
            let reason = "not yet on the record".to_string();
            (RecordState::Off { since: at, reason }, Vec::new())
        };
        Self {
            participants: Vec::new(),
            record,
            switches,
            exhibit: None,
            stopped: false,
        }
    }

    pub fn participant(&self, id: &ParticipantId) -> Option<&Participant> {
        self.participants.iter().find(|p| &p.id == id)
    }

    pub fn is_on_record(&self) -> bool {
        matches!(self.record, RecordState::On { .. })
    }

    /// Participants shown in the view, judges first, then in the order they were added.
    pub fn in_view(&self) -> Vec<&Participant> {
        let mut v: Vec<&Participant> = self.participants.iter().filter(|p| p.admitted).collect();
        v.sort_by_key(|p| p.role != Role::Judge);
        v
    }

    /// Applies `cmd` at hearing time `at`: the new state and what happened, or why not.
    pub fn apply(&self, cmd: Command, at: Duration) -> Result<(RoomState, Vec<Event>)> {
        if self.stopped {
            return Err(Error::Invalid("the room has stopped".into()));
        }
        let mut s = self.clone();
        let find = |id: &ParticipantId| -> Result<usize> {
            s.participants
                .iter()
                .position(|p| &p.id == id)
                .ok_or_else(|| Error::Invalid(format!("no participant {id}")))
        };
        let ev = match cmd {
            Command::Add { id, name, role } => {
                if self.participant(&id).is_some() {
                    return Err(Error::Invalid(format!("participant {id} already present")));
                }
                if self.participants.len() >= 12 {
                    return Err(Error::Invalid(
                        "a room holds at most 12 participants".into(),
                    ));
                }
                s.participants.push(Participant {
                    id: id.clone(),
                    name: name.clone(),
                    role,
                    admitted: false,
                    muted: false,
                });
                Event::ParticipantAdded { id, name, role, at }
            }
            Command::Admit(id) => {
                let i = find(&id)?;
                if s.participants[i].admitted {
                    return Err(Error::Invalid(format!("{id} is already admitted")));
                }
                s.participants[i].admitted = true;
                Event::Admitted { id, at }
            }
            Command::StandDown(id) => {
                let i = find(&id)?;
                if !s.participants[i].admitted {
                    return Err(Error::Invalid(format!("{id} is not admitted")));
                }
                s.participants[i].admitted = false;
                Event::StoodDown { id, at }
            }
            Command::Mute(id) => {
                let i = find(&id)?;
                if s.participants[i].muted {
                    return Err(Error::Invalid(format!("{id} is already muted")));
                }
                s.participants[i].muted = true;
                Event::Muted { id, at }
            }
            Command::Unmute(id) => {
                let i = find(&id)?;
                if !s.participants[i].muted {
                    return Err(Error::Invalid(format!("{id} is not muted")));
                }
                s.participants[i].muted = false;
                Event::Unmuted { id, at }
            }
            Command::Remove(id) => {
                let i = find(&id)?;
                s.participants.remove(i);
                Event::Removed { id, at }
            }
            Command::OffRecord { reason } => {
                if !self.is_on_record() {
                    return Err(Error::Invalid("already off the record".into()));
                }
                s.record = RecordState::Off {
                    since: at,
                    reason: reason.clone(),
                };
                s.switches.push(Switch { at, on: false });
                Event::WentOffRecord { at, reason }
            }
            Command::OnRecord { reason } => {
                let RecordState::Off { since, .. } = self.record else {
                    return Err(Error::Invalid("already on the record".into()));
                };
                s.record = RecordState::On { since: at };
                s.switches.push(Switch { at, on: true });
                Event::WentOnRecord {
                    at,
                    reason,
                    gap: Some((since, at)),
                }
            }
            Command::ShowExhibit { name } => {
                s.exhibit = Some(name.clone());
                Event::ExhibitShown { name, at }
            }
            Command::HideExhibit => {
                if s.exhibit.take().is_none() {
                    return Err(Error::Invalid("no exhibit is shown".into()));
                }
                Event::ExhibitHidden { at }
            }
            Command::Stop => {
                s.stopped = true;
                Event::Stopped { at }
            }
        };
        Ok((s, vec![ev]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> ParticipantId {
        ParticipantId::parse(s).unwrap()
    }
    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }
    fn add(st: &RoomState, i: &str, role: Role) -> RoomState {
        let cmd = Command::Add {
            id: id(i),
            name: i.to_uppercase(),
            role,
        };
        st.apply(cmd, secs(0)).unwrap().0
    }

    #[test]
    fn ids_are_safe_in_file_names() {
        assert_eq!(
            ParticipantId::parse("judge-1_a").unwrap().as_str(),
            "judge-1_a"
        );
        for bad in ["", "a/b", "..", "a b", &"x".repeat(41)] {
            assert_eq!(
                ParticipantId::parse(bad).unwrap_err().to_string(),
                Error::Invalid(format!(
                    "participant id {bad:?} must be 1-40 of [A-Za-z0-9_-]"
                ))
                .to_string(),
            );
        }
    }

    /// Roles arrive by name from the command line; the label is what the view draws.
    #[test]
    fn roles_parse_from_their_names_and_label_themselves() {
        let table = [
            ("judge", Role::Judge, "Judge"),
            ("clerk", Role::Clerk, "Clerk"),
            ("prosecutor", Role::Prosecutor, "Prosecutor"),
            ("expert", Role::Expert, "Expert"),
            ("counsel", Role::Counsel, "Counsel"),
            ("party", Role::Party, "Party"),
            ("witness", Role::Witness, "Witness"),
            ("interpreter", Role::Interpreter, "Interpreter"),
            ("observer", Role::Observer, "Observer"),
        ];
        for (name, role, label) in table {
            assert_eq!(Role::parse(name).unwrap(), role, "{name}");
            assert_eq!(Role::parse(label).unwrap(), role, "{label}");
            assert_eq!(role.label(), label);
        }
        assert_eq!(Role::parse("lawyer").unwrap(), Role::Counsel);
        assert_eq!(
            Role::parse("bailiff").unwrap_err().to_string(),
            "invalid room command: unknown role \"bailiff\""
        );
    }

    #[test]
    fn a_participant_is_found_by_id_and_cannot_be_added_twice() {
        let s = add(&RoomState::new(secs(0)), "j", Role::Judge);
        let j = s.participant(&id("j")).unwrap();
        assert_eq!(
            (j.name.as_str(), j.role, j.admitted),
            ("J", Role::Judge, false)
        );
        assert_eq!(s.participant(&id("w")), None);
        let again = Command::Add {
            id: id("j"),
            name: "other".into(),
            role: Role::Witness,
        };
        assert_eq!(
            s.apply(again, secs(1)).unwrap_err().to_string(),
            "invalid room command: participant j already present"
        );
    }

    #[test]
    fn table_of_transitions() {
        let base = add(
            &add(&RoomState::new(secs(0)), "j", Role::Judge),
            "w",
            Role::Witness,
        );
        // (command, accepted?)
        let table: Vec<(Command, bool)> = vec![
            (Command::Admit(id("w")), true),
            (Command::StandDown(id("w")), false),
            (Command::Mute(id("w")), true),
            (Command::Unmute(id("w")), false),
            (Command::Admit(id("nobody")), false),
            (Command::OnRecord { reason: "x".into() }, false),
            (Command::OffRecord { reason: "x".into() }, true),
            (Command::HideExhibit, false),
            (Command::ShowExhibit { name: "A1".into() }, true),
            (Command::Remove(id("w")), true),
            (Command::Stop, true),
        ];
        for (cmd, ok) in table {
            assert_eq!(base.apply(cmd.clone(), secs(1)).is_ok(), ok, "{cmd:?}");
        }
    }

    #[test]
    fn off_and_on_record_reports_the_gap_and_logs_switches() {
        let s = RoomState::new(secs(0));
        let (s, _) = s
            .apply(
                Command::OffRecord {
                    reason: "recess".into(),
                },
                secs(10),
            )
            .unwrap();
        assert!(!s.is_on_record());
        let (s, ev) = s
            .apply(
                Command::OnRecord {
                    reason: "resumed".into(),
                },
                secs(25),
            )
            .unwrap();
        assert_eq!(
            ev,
            vec![Event::WentOnRecord {
                at: secs(25),
                reason: "resumed".into(),
                gap: Some((secs(10), secs(25)))
            }]
        );
        let on: Vec<bool> = s.switches.iter().map(|w| w.on).collect();
        assert_eq!(on, vec![true, false, true]);
    }

    #[test]
    fn judges_come_first_in_the_view_and_stood_down_are_not_shown() {
        let mut s = RoomState::new(secs(0));
        for (i, r) in [
            ("a", Role::Counsel),
            ("b", Role::Witness),
            ("j", Role::Judge),
        ] {
            s = add(&s, i, r);
            s = s.apply(Command::Admit(id(i)), secs(0)).unwrap().0;
        }
        let order: Vec<&str> = s.in_view().iter().map(|p| p.id.as_str()).collect();
        assert_eq!(order, vec!["j", "a", "b"]);
        s = s.apply(Command::StandDown(id("b")), secs(3)).unwrap().0;
        assert_eq!(s.in_view().len(), 2);
        // muting keeps a participant in view
        s = s.apply(Command::Mute(id("a")), secs(4)).unwrap().0;
        assert_eq!(s.in_view().len(), 2);
    }

    #[test]
    fn a_stopped_room_refuses_everything() {
        let (s, _) = RoomState::new(secs(0))
            .apply(Command::Stop, secs(1))
            .unwrap();
        assert_eq!(
            s.apply(Command::HideExhibit, secs(2))
                .unwrap_err()
                .to_string(),
            Error::Invalid("the room has stopped".into()).to_string()
        );
    }

    #[test]
    fn at_most_twelve_participants() {
        let mut s = RoomState::new(secs(0));
        for i in 0..12 {
            s = add(&s, &format!("p{i}"), Role::Party);
        }
        let cmd = Command::Add {
            id: id("p12"),
            name: "x".into(),
            role: Role::Party,
        };
        assert_eq!(
            s.apply(cmd, secs(0)).unwrap_err().to_string(),
            Error::Invalid("a room holds at most 12 participants".into()).to_string()
        );
    }
}
