//! The `court.v1` contract: generated message types, clients and servers.
//!
//! The `.proto` files under `proto/court/v1` are the one contract for the server, the CLI, bots
//! and the browser; other languages generate their clients from the same files.

#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod court {
    pub mod v1 {
        tonic::include_proto!("court.v1");
    }
}

pub use court::v1;

/// The encoded `FileDescriptorSet` for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("court_descriptor");
