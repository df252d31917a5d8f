//! One port serves gRPC (HTTP/2), health, reflection and `/metrics`.
use std::future::Future;
use std::net::SocketAddr;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use hearing_core::app::App;
use hearing_core::grpc::{Services, MAX_REQUEST_BYTES};
use http::HeaderValue;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use opencourt_proto::v1 as pb;
use tokio::net::TcpListener;

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

/// Serves on `listener` until `shutdown` completes.
pub async fn serve(
    app: App,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let metrics = metrics_handle();
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
        .prepare()
        .into_axum_router();

    let router = grpc
        .route(
            "/metrics",
            get(move || std::future::ready(metrics.render())),
        )
        .layer(axum::middleware::from_fn(observe));

    let addr: SocketAddr = listener.local_addr()?;
    tracing::info!(%addr, "serving grpc and /metrics");
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// Counts RPCs by method and status, and turns tonic's "message too large" into INVALID_ARGUMENT.
async fn observe(req: Request, next: Next) -> Response {
    let method = req.uri().path().to_string();
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    let code = headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok());
    if code == Some(tonic::Code::OutOfRange as i32) {
        let too_large = headers
            .get("grpc-message")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|m| m.contains("too large"));
        if too_large {
            headers.insert(
                "grpc-status",
                HeaderValue::from(tonic::Code::InvalidArgument as i32),
            );
            let msg = format!("request: message is larger than the {MAX_REQUEST_BYTES}-byte limit")
                .replace(' ', "%20");
            headers.insert("grpc-message", HeaderValue::from_str(&msg).expect("ascii"));
        }
    }
    if method.starts_with("/court.v1.") {
        let code = res
            .headers()
            .get("grpc-status")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("0")
            .to_string();
        metrics::counter!("opencourt_rpc_total", "method" => method, "code" => code).increment(1);
    }
    res
}
