//! The transcript as data (segments and words on the hearing clock, each naming its speaker, and
//! the merge of several tracks) is a domain type: it lives in `hearing_core::domain::transcript`
//! so the case record stores exactly what this crate produces.
pub use hearing_core::domain::transcript::*;
