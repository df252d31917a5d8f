//! The tonic services, one module per proto service (`auth`, `cases`, `hearings`, `record`; the
//! MediaService is the media node's): authenticate, convert the request once (`TryFrom`, which
//! checks every field), call the application, convert back. Proto ↔ domain conversion lives in
//! `convert`, the error → status mapping in `status`.
/// A tonic service impl whose command RPCs only hand their request to one method of the
/// services: a line `"Method" rpc_name(Request) -> Response => handler;` each, expanded into the
/// RPC with its tracing span (the handler records the hearing); the other methods as written,
/// after `rest`.
macro_rules! delegating_service {
    (
        impl $service:ident for $ty:ty;
        delegate { $($method:literal $name:ident($req:ty) -> $resp:ty => $via:ident;)* }
        rest { $($rest:tt)* }
    ) => {
        #[tonic::async_trait]
        impl $service for $ty {
            $(
                #[tracing::instrument(name = "rpc", skip_all, fields(method = $method, hearing = tracing::field::Empty))]
                async fn $name(&self, req: Request<$req>) -> Res<$resp> {
                    self.$via(req).await
                }
            )*
            $($rest)*
        }
    };
}

mod auth;
mod cases;
mod convert;
mod hearings;
mod record;
mod status;

use chrono::Utc;
use opencourt_proto::v1 as pb;
use pb::auth_service_server::AuthServiceServer;
use pb::case_service_server::CaseServiceServer;
use pb::hearing_service_server::HearingServiceServer;
use tonic::{Request, Response, Status};

use crate::app::{App, Caller};
use crate::domain::HearingId;

pub use convert::ts;
pub use status::to_status;

/// The largest request any RPC takes; bigger ones are refused with INVALID_ARGUMENT.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

type Res<T> = Result<Response<T>, Status>;

pub struct Services {
    app: App,
}

impl Services {
    pub fn new(app: App) -> Self {
        Services { app }
    }

    fn clone_for_server(&self) -> Self {
        Services {
            app: self.app.clone(),
        }
    }

    pub fn auth(&self) -> AuthServiceServer<Self> {
        AuthServiceServer::new(self.clone_for_server()).max_decoding_message_size(MAX_REQUEST_BYTES)
    }

    pub fn cases(&self) -> CaseServiceServer<Self> {
        CaseServiceServer::new(self.clone_for_server()).max_decoding_message_size(MAX_REQUEST_BYTES)
    }

    pub fn hearings(&self) -> HearingServiceServer<Self> {
        HearingServiceServer::new(self.clone_for_server())
            .max_decoding_message_size(MAX_REQUEST_BYTES)
    }

    async fn caller<T>(&self, req: &Request<T>) -> Result<Caller, Status> {
        caller(&self.app, req).await
    }
}

/// The caller of a request, from its `authorization: Bearer <token>` (for services outside
/// this crate, such as the MediaService).
pub async fn caller<T>(app: &App, req: &Request<T>) -> Result<Caller, Status> {
    Ok(app.authenticate(bearer(req)?).await?)
}

/// The bearer token of a request.
pub fn bearer<T>(req: &Request<T>) -> Result<&str, Status> {
    let header = req
        .metadata()
        .get("authorization")
        .ok_or_else(|| Status::unauthenticated("missing authorization: Bearer <token>"))?;
    let token = header
        .to_str()
        .ok()
        .and_then(bearer_token)
        .ok_or_else(|| Status::unauthenticated("authorization must be: Bearer <token>"))?;
    Ok(token)
}

/// The client's address, as the server puts it in each request's extensions (the TCP peer:
/// behind a proxy, the proxy's address).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub std::net::IpAddr);

fn client_addr<T>(req: &Request<T>) -> Option<std::net::IpAddr> {
    req.extensions().get::<ClientAddr>().map(|a| a.0)
}

/// The token of an `authorization` header value `Bearer <token>` (or `bearer`), trimmed;
/// `None` when it is not one. The one parser for gRPC calls and HTTP downloads alike.
pub fn bearer_token(value: &str) -> Option<&str> {
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// Names the hearing on the current RPC's span (`rpc`), once the request has been checked, so
/// that what is logged while serving it carries the hearing's id.
fn in_hearing(id: HearingId) {
    tracing::Span::current().record("hearing", tracing::field::display(id));
}

/// Today's UTC date, for clients that list today's hearings.
pub fn today() -> String {
    Utc::now().format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn a_bearer_header_gives_its_trimmed_token_and_nothing_else_does() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("abc"), None);
    }
}
