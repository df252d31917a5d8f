//! The `opencourt` binary's library: the server (so tests start the real thing on an ephemeral
//! port) and the command-line tools.
//!
//! - [`server`]: `opencourt serve` — gRPC and grpc-web, `/metrics`, `/media` downloads, the
//!   browser app, and the courtroom (the hinge between a hearing's log and its media room);
//! - [`cli`]: one module per client subcommand (`hearing`, `bot`, `loadtest`, `bench`, the demo
//!   seeding), sharing one way to attach a bearer token.
pub mod cli;
pub mod server;
