//! One port serves gRPC (HTTP/2), health, reflection and `/metrics`.
//!
//! The courtroom ([`courtroom`]: media service, rooms and leases, supervisor, pump), live
//! captions ([`captions`]), `/media` downloads ([`downloads`]) and the browser app ([`ui`]) are
//! its parts.
use std::future::{Future, IntoFuture};
use std::net::SocketAddr;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hearing_core::app::App;
use hearing_core::grpc::{ClientAddr, Services, MAX_REQUEST_BYTES};
use http::HeaderValue;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use opencourt_proto::v1 as pb;
use tokio::net::TcpListener;

pub mod captions;
pub mod courtroom;
pub mod downloads;
pub mod ui;

/// Installs the Prometheus recorder once per process.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .install_recorder()
                .expect("a metrics recorder is installed once")
        })
        .clone()
}

/// What a server needs besides its application and listener.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// Where hearings' media live: `MEDIA/<hearing id>/<file>`, served at `/media/…`.
    pub media_dir: Option<std::path::PathBuf>,
    /// Where WebRTC gathers ICE candidates (loopback only in tests; STUN/TURN servers).
    pub ice: opencourt_media::IceConfig,
    /// The language hearings are transcribed in: "en", "zh" or "auto".
    pub language: String,
    /// Where the Whisper models are (`opencourt model fetch`), for live captions; none: no
    /// live captions (transcripts come from the worker after the hearing).
    pub models: Option<std::path::PathBuf>,
    /// This node, for the media leases.
    pub node: courtroom::Node,
    /// Start each hearing's room (and its recording) when the hearing opens, as `serve` does;
    /// otherwise at the first media connection (API tests, which need no media).
    pub rooms_open_with_hearings: bool,
    /// How long a graceful shutdown may take (closing rooms, finalising their files, ending
    /// streams, draining requests) before what is still open is cut off; `None`:
    /// [`DEFAULT_SHUTDOWN_GRACE`].
    pub shutdown_grace: Option<std::time::Duration>,
    /// The bounds on unary RPCs (streams are exempt).
    pub requests: RequestLimits,
}

/// Bounds on every unary gRPC call (streaming calls such as `WatchHearing` and `WatchMedia`
/// are exempt: they are bounded by `app::Limits` instead).
#[derive(Clone, Debug)]
pub struct RequestLimits {
    /// A call that takes longer ends with DEADLINE_EXCEEDED (`request-timeout-secs`).
    pub timeout: std::time::Duration,
    /// Calls served at once; more are refused with RESOURCE_EXHAUSTED at once
    /// (`max-concurrent-requests`).
    pub max_concurrent: usize,
}

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits {
            timeout: std::time::Duration::from_secs(30),
            max_concurrent: 1024,
        }
    }
}

/// How long a graceful shutdown may take unless the settings say otherwise.
pub const DEFAULT_SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves on `listener` until `shutdown` completes.
pub async fn serve(
    settings: Settings,
    app: App,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let metrics = metrics_handle();
    let media_app = app.clone();
    let media_dir = settings
        .media_dir
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from("data/media"));
    let media = courtroom::Media::new(
        app.clone(),
        opencourt_media::Rooms::new(media_dir.clone(), settings.ice.clone()),
        media_dir,
        settings.language.clone(),
        settings.models.clone(),
        settings.node.clone(),
    );
    if settings.rooms_open_with_hearings {
        media.open_rooms_as_hearings_open();
    }
    let hub = app.hub.clone();
    let services = Services::new(app);

    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<pb::auth_service_server::AuthServiceServer<Services>>()
        .await;
    health_reporter
        .set_serving::<pb::case_service_server::CaseServiceServer<Services>>()
        .await;
    health_reporter
        .set_serving::<pb::hearing_service_server::HearingServiceServer<Services>>()
        .await;
    health_reporter
        .set_serving::<pb::record_service_server::RecordServiceServer<Services>>()
        .await;
    health_reporter
        .set_serving::<pb::media_service_server::MediaServiceServer<courtroom::Media>>()
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(opencourt_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(opencourt_proto::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let grpc = tonic::service::Routes::new(health_service)
        .add_service(reflection)
        .add_service(reflection_alpha)
        .add_service(services.auth())
        .add_service(services.cases())
        .add_service(services.hearings())
        .add_service(services.record())
        .add_service(media.service())
        .prepare()
        .into_axum_router()
        // Browsers speak grpc-web (unary and server streaming) over HTTP/1.1 or HTTP/2.
        .layer(tonic_web::GrpcWebLayer::new())
        .layer(cors());

    let router = grpc
        .route(
            "/media/{hearing}/{*file}",
            get(move |path, headers| {
                downloads::download(media_app.clone(), settings.media_dir.clone(), path, headers)
            }),
        )
        .route("/", get(ui::index))
        .route(
            "/ui/config.json",
            get({
                let config = ui::config(&settings.ice);
                move || {
                    std::future::ready(
                        ([(http::header::CONTENT_TYPE, "application/json")], config)
                            .into_response(),
                    )
                }
            }),
        )
        .route("/ui/{file}", get(ui::asset))
        .route(
            "/metrics",
            get(move || std::future::ready(metrics.render())),
        )
        .layer(axum::middleware::from_fn_with_state(
            std::sync::Arc::new(Bounds::new(&settings.requests)),
            bound_unary,
        ))
        .layer(axum::middleware::from_fn(observe));

    let addr: SocketAddr = listener.local_addr()?;
    tracing::info!(%addr, "serving grpc and /metrics");
    // On shutdown, first end every media connection and stop every room (its files closed,
    // hashed and logged; WatchMedia streams end), end every WatchHearing stream, then let the
    // open requests drain: all within the grace, after which what is still open is cut off (a
    // client that never finishes its request must not keep the node up).
    let grace = settings.shutdown_grace.unwrap_or(DEFAULT_SHUTDOWN_GRACE);
    let (begun, begun_rx) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        shutdown.await;
        tracing::info!(grace_ms = grace.as_millis() as u64, "shutting down");
        let _ = begun.send(());
        media.close_all().await;
        hub.close();
    };
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .into_future();
    let cut_off = async move {
        match begun_rx.await {
            Ok(()) => tokio::time::sleep(grace).await,
            // the server ended before any shutdown began
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        r = server => r?,
        () = cut_off => {
            tracing::warn!(grace_ms = grace.as_millis() as u64, "shutdown: still open after the grace, cut off");
        }
    }
    Ok(())
}

/// Counts RPCs by method and status, and turns tonic's "message too large" (OUT_OF_RANGE) and
/// "cannot decode" (INTERNAL) into INVALID_ARGUMENT, whether in the headers or the trailers.
async fn observe(mut req: Request, next: Next) -> Response {
    let method = req.uri().path().to_string();
    // The TCP peer, for the per-address limits of `App::login` and `App::redeem_invite`.
    if let Some(peer) = req
        .extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
    {
        req.extensions_mut().insert(ClientAddr(peer));
    }
    let res = next.run(req).await;
    let (mut parts, body) = res.into_parts();
    rewrite_too_large(&mut parts.headers);
    let mut method = method.starts_with("/court.v1.").then(|| rpc_label(&method));
    // A trailers-only response carries its status in the headers; others in the trailers.
    if parts.headers.contains_key("grpc-status") {
        count_rpc(&mut method, &parts.headers);
    }
    Response::from_parts(
        parts,
        axum::body::Body::new(RewriteTrailers { body, method }),
    )
}

/// The methods the court.v1 services have, read from the compiled-in descriptor set: all of
/// them, and those that stream (either way).
struct Methods {
    known: std::collections::HashSet<String>,
    streaming: std::collections::HashSet<String>,
}

fn methods() -> &'static Methods {
    static METHODS: std::sync::OnceLock<Methods> = std::sync::OnceLock::new();
    METHODS.get_or_init(|| {
        use prost::Message;
        let set = prost_types::FileDescriptorSet::decode(opencourt_proto::FILE_DESCRIPTOR_SET)
            .expect("the compiled-in descriptor set decodes");
        let mut m = Methods {
            known: Default::default(),
            streaming: Default::default(),
        };
        for f in &set.file {
            for s in &f.service {
                for method in &s.method {
                    let path = format!("/{}.{}/{}", f.package(), s.name(), method.name());
                    if method.server_streaming() || method.client_streaming() {
                        m.streaming.insert(path.clone());
                    }
                    m.known.insert(path);
                }
            }
        }
        m
    })
}

/// The `method` label of a call to `path`: the path of a method the court.v1 services have,
/// anything else one `unknown` label, so made-up paths cannot grow the series without bound.
fn rpc_label(path: &str) -> String {
    if methods().known.contains(path) {
        path.to_string()
    } else {
        "unknown".to_string()
    }
}

/// A call bounded by `RequestLimits`: any gRPC call but the streaming ones (those of court.v1,
/// and health's and reflection's under `/grpc.`).
fn is_bounded_call(req: &Request) -> bool {
    let grpc = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"));
    let path = req.uri().path();
    grpc && !path.starts_with("/grpc.") && !methods().streaming.contains(path)
}

/// The state of `bound_unary`.
struct Bounds {
    timeout: std::time::Duration,
    max_concurrent: usize,
    slots: std::sync::Arc<tokio::sync::Semaphore>,
}

impl Bounds {
    fn new(l: &RequestLimits) -> Self {
        Bounds {
            timeout: l.timeout,
            max_concurrent: l.max_concurrent.max(1),
            slots: std::sync::Arc::new(tokio::sync::Semaphore::new(l.max_concurrent.max(1))),
        }
    }
}

/// Applies `RequestLimits` to unary gRPC calls: RESOURCE_EXHAUSTED when every slot is taken,
/// DEADLINE_EXCEEDED when the call outlasts the timeout. Streams pass untouched.
async fn bound_unary(
    axum::extract::State(b): axum::extract::State<std::sync::Arc<Bounds>>,
    req: Request,
    next: Next,
) -> Response {
    if !is_bounded_call(&req) {
        return next.run(req).await;
    }
    let Ok(_slot) = b.slots.clone().try_acquire_owned() else {
        return grpc_refusal(
            tonic::Code::ResourceExhausted,
            &format!(
                "the server is serving its limit of {} calls at once (max-concurrent-requests): retry",
                b.max_concurrent
            ),
        );
    };
    match tokio::time::timeout(b.timeout, next.run(req)).await {
        Ok(res) => res,
        Err(_) => grpc_refusal(
            tonic::Code::DeadlineExceeded,
            &format!(
                "the call took longer than the server allows (request-timeout-secs = {})",
                b.timeout.as_secs()
            ),
        ),
    }
}

/// A trailers-only gRPC answer with `code` and `message`.
fn grpc_refusal(code: tonic::Code, message: &str) -> Response {
    tonic::Status::new(code, message).into_http::<axum::body::Body>()
}

fn count_rpc(method: &mut Option<String>, headers: &http::HeaderMap) {
    if let Some(method) = method.take() {
        let code = headers
            .get("grpc-status")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<i32>().ok())
            .unwrap_or(0)
            .to_string();
        metrics::counter!("opencourt_rpc_total", "method" => method, "code" => code).increment(1);
    }
}

fn rewrite_too_large(headers: &mut http::HeaderMap) {
    let code = headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok());
    let too_large = headers
        .get("grpc-message")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|m| m.contains("too%20large") || m.contains("too large"));
    let malformed = headers
        .get("grpc-message")
        .and_then(|v| v.to_str().ok())
        .map(|m| m.replace("%20", " "))
        .is_some_and(|m| {
            m.starts_with("failed to decode Protobuf message")
                || m.starts_with("protocol error")
                || m.starts_with("Unexpected EOF")
        });
    if code == Some(tonic::Code::Internal as i32) && malformed {
        // tonic reports a request it cannot decode as INTERNAL: it is the client's fault.
        headers.insert(
            "grpc-status",
            HeaderValue::from(tonic::Code::InvalidArgument as i32),
        );
        let msg = "request: the gRPC message is malformed (truncated, not protobuf, or compressed without grpc-encoding)"
            .replace(' ', "%20");
        headers.insert("grpc-message", HeaderValue::from_str(&msg).expect("ascii"));
    }
    if code == Some(tonic::Code::OutOfRange as i32) && too_large {
        headers.insert(
            "grpc-status",
            HeaderValue::from(tonic::Code::InvalidArgument as i32),
        );
        let msg = format!("request: message is larger than the {MAX_REQUEST_BYTES}-byte limit")
            .replace(' ', "%20");
        headers.insert("grpc-message", HeaderValue::from_str(&msg).expect("ascii"));
    }
}

struct RewriteTrailers {
    body: axum::body::Body,
    /// Set until the RPC has been counted.
    method: Option<String>,
}

impl http_body::Body for RewriteTrailers {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        let polled = std::pin::Pin::new(&mut this.body).poll_frame(cx);
        polled.map(|frame| {
            frame.map(|f| {
                f.map(|frame| match frame.into_trailers() {
                    Ok(mut trailers) => {
                        rewrite_too_large(&mut trailers);
                        count_rpc(&mut this.method, &trailers);
                        http_body::Frame::trailers(trailers)
                    }
                    Err(frame) => frame,
                })
            })
        })
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// CORS for browser clients: any origin may call (every call still needs a bearer token), and
/// the gRPC status headers are exposed so grpc-web clients can read errors.
fn cors() -> tower_http::cors::CorsLayer {
    use http::header::{HeaderName, AUTHORIZATION, CONTENT_TYPE};
    let h = HeaderName::from_static;
    tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([http::Method::POST, http::Method::GET, http::Method::OPTIONS])
        .allow_headers([
            AUTHORIZATION,
            CONTENT_TYPE,
            h("x-grpc-web"),
            h("x-user-agent"),
            h("grpc-timeout"),
        ])
        .expose_headers([
            h("grpc-status"),
            h("grpc-message"),
            h("grpc-status-details-bin"),
        ])
        .max_age(std::time::Duration::from_secs(3600))
}

#[cfg(test)]
mod tests {
    use super::rpc_label;

    #[test]
    fn only_methods_the_services_have_keep_their_name() {
        for known in [
            "/court.v1.AuthService/Login",
            "/court.v1.HearingService/WatchHearing",
            "/court.v1.MediaService/Offer",
        ] {
            assert_eq!(rpc_label(known), known);
        }
        for made_up in [
            "/court.v1.AuthService/Guess",
            "/court.v1.NoService/Login",
            "/court.v1.AuthService/Login/extra",
            "/court.v1.",
        ] {
            assert_eq!(rpc_label(made_up), "unknown", "{made_up}");
        }
    }
}
