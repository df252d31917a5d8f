//! The hearing's vocabulary: roles, visibility, states, presence, and the entities built on them.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{CaseId, HearingId, ParticipantId, UserId};
use super::values::{CaseNumber, DisplayName, Title, Username};

/// Names used in the database and in the canonical event encoding; never change them.
macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn from_db(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use named_enum;

named_enum!(
    /// What a person is in a hearing. Judge, clerk and admin are staff accounts; the others are
    /// invited per hearing.
    Role {
        Judge = "judge",
        Clerk = "clerk",
        Admin = "admin",
        Prosecutor = "prosecutor",
        Counsel = "counsel",
        Party = "party",
        Witness = "witness",
        Expert = "expert",
        Interpreter = "interpreter",
        Observer = "observer",
        /// OpenCourt itself (the recorder, the transcription worker): may do nothing over the API.
        System = "system",
    }
);

impl Role {
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Judge | Role::Clerk | Role::Admin)
    }

    /// Judges and clerks conduct hearings (admit, mute, note); admins only administer.
    pub fn is_court(self) -> bool {
        matches!(self, Role::Judge | Role::Clerk)
    }
}

named_enum!(
    /// Who may read a case.
    Visibility {
        /// Any signed-in user.
        Public = "public",
        /// Staff and the case's participants.
        Restricted = "restricted",
        /// Judges and clerks only.
        Sealed = "sealed",
    }
);

named_enum!(
    /// The hearing's lifecycle. Only `machine::apply` moves between these (the allowed moves are
    /// `machine::transition_allowed`).
    HearingState {
        /// On the calendar; nobody can join yet.
        Scheduled = "scheduled",
        /// The waiting room is open and people join; nothing is recorded. The hearing clock starts.
        Open = "open",
        /// Everything said is on the record.
        OnRecord = "on_record",
        /// A recess with a reason: the hearing goes on, nothing is recorded.
        OffRecord = "off_record",
        /// Over. Final.
        Adjourned = "adjourned",
        /// Called off before it was held. Final.
        Cancelled = "cancelled",
    }
);

impl HearingState {
    pub fn is_final(self) -> bool {
        matches!(self, HearingState::Adjourned | HearingState::Cancelled)
    }

    /// People can be in the hearing (joined, waiting, admitted).
    pub fn is_live(self) -> bool {
        matches!(
            self,
            HearingState::Open | HearingState::OnRecord | HearingState::OffRecord
        )
    }
}

named_enum!(
    /// Where a participant is.
    Presence {
        /// Invited, not yet joined.
        Invited = "invited",
        /// In the waiting room: connected, not part of the hearing.
        Waiting = "waiting",
        /// In the hearing.
        Admitted = "admitted",
        /// Left deliberately; may rejoin.
        Left = "left",
        /// Removed by the court; the token is revoked. Final.
        Removed = "removed",
        /// The connection dropped; a rejoin restores the same identity and role.
        Disconnected = "disconnected",
    }
);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: Username,
    pub display_name: DisplayName,
    pub role: Role,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    pub id: CaseId,
    pub case_number: CaseNumber,
    pub title: Title,
    pub visibility: Visibility,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Participant {
    pub id: ParticipantId,
    pub display_name: DisplayName,
    pub role: Role,
    pub presence: Presence,
    pub muted: bool,
    /// Muted by the judge or a clerk: the participant cannot unmute themselves.
    pub court_muted: bool,
    /// Staff who take part with their own account.
    pub user_id: Option<UserId>,
    /// Admitted at some time in this hearing: may still join while the room is locked (a
    /// reconnect after a drop, another tab).
    pub admitted_before: bool,
}

/// A hearing with its participants: the aggregate every hearing command acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hearing {
    pub id: HearingId,
    pub case_id: CaseId,
    pub title: Title,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub state: HearingState,
    pub presiding_judge: UserId,
    pub presiding_participant: ParticipantId,
    pub opened_at: Option<DateTime<Utc>>,
    /// The court locked the room: only participants admitted before (and the court) may join.
    pub locked: bool,
    pub participants: Vec<Participant>,
    /// What lists and dockets show with the hearing, loaded with it; no command changes them.
    pub labels: HearingLabels,
}

/// The case's number and the presiding judge's display name, as stored when the hearing was
/// read (empty on a hearing built in memory).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HearingLabels {
    pub case_number: String,
    pub presiding_judge_name: String,
}

impl Hearing {
    pub fn participant(&self, id: ParticipantId) -> Option<&Participant> {
        self.participants.iter().find(|p| p.id == id)
    }

    pub fn participant_of_user(&self, user: UserId) -> Option<&Participant> {
        self.participants.iter().find(|p| p.user_id == Some(user))
    }

    /// Milliseconds on the hearing clock at `now` (0 before the hearing opened).
    pub fn clock_ms(&self, now: DateTime<Utc>) -> i64 {
        self.opened_at
            .map(|t| (now - t).num_milliseconds().max(0))
            .unwrap_or(0)
    }
}
