//! OpenCourt's WebRTC media: the server's per-participant endpoints (`Rooms`, `Endpoint`), the
//! bot client (`Bot`), and the plain logic around them (`sdp`, `signals`, `stats`). No gRPC, no database:
//! the `opencourt` binary wires these to the MediaService and the hearing's events.
pub mod bot;
mod endpoint;
mod error;
pub mod peer;
pub mod rooms;
pub mod sdp;
pub mod signals;
pub mod stats;

pub use bot::{Bot, BotEvent, BotOptions, Received};
pub use error::{MediaError, Result};
pub use peer::{init, IceConfig};
pub use rooms::{Answer, PeerInfo, Rooms};
pub use sdp::Offer;
pub use signals::{Signal, SignalKind};
pub use stats::{PeerState, PeerView, Quality};
