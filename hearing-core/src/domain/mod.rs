//! The domain: no transport, storage or media types in here.
pub mod events;
pub mod ids;
pub mod machine;
pub mod model;
pub mod permissions;
pub mod read_policy;
pub mod transcript;
pub mod transcript_export;
pub mod values;

pub use events::{Actor, EventPayload, StoredEvent, Verification};
pub use ids::{CaseId, HearingId, ParticipantId, UserId};
pub use machine::{apply, Command, Outcome, Rejection};
pub use model::{
    Case, Hearing, HearingLabels, HearingState, Participant, Presence, Role, User, Visibility,
};
pub use permissions::Action;
pub use values::{CaseNumber, DisplayName, NoteText, Reason, Title, Username, WaitingRoomText};

#[cfg(test)]
mod machine_model;
#[cfg(test)]
mod machine_tests;
#[cfg(test)]
mod room_tests;
