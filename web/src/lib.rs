//! The `opencourt` binary's library: the server (so tests start the real thing on an ephemeral
//! port) and the command-line tools.
pub mod bench;
pub mod bot;
pub mod captions;
pub mod court;
pub mod demo;
pub mod loadtest;
pub mod media;
pub mod outbox;
pub mod server;
pub mod signalling;
pub mod ui;
