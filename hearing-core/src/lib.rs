//! OpenCourt's control plane: the domain (cases, hearings, roles, the hearing event log), its
//! storage on SQLite or PostgreSQL, and the gRPC services.
pub mod app;
pub mod auth;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod hub;
pub mod records;
pub mod store;

pub use error::{CoreError, ErrorCode, Result};
