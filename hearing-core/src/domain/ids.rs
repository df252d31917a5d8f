//! Identifiers: UUIDs inside, strings on the wire. Parsing names the field on failure.
use std::fmt;

use uuid::Uuid;

use crate::error::CoreError;

macro_rules! id_type {
    ($name:ident) => {
        #[derive(
            Clone,
            Copy,
            Debug,
            PartialEq,
            Eq,
            Hash,
            PartialOrd,
            Ord,
            serde::Serialize,
            serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Parses an id from the wire; `field` names the request field in the error.
            pub fn parse(field: &'static str, s: &str) -> Result<Self, CoreError> {
                if s.is_empty() {
                    return Err(CoreError::invalid(field, "is required"));
                }
                Uuid::parse_str(s)
                    .map(Self)
                    .map_err(|_| CoreError::invalid(field, format!("{s:?} is not a valid id")))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(UserId);
id_type!(CaseId);
id_type!(HearingId);
id_type!(ParticipantId);
