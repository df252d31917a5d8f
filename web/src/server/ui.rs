//! The browser app (`web/ui`, bundled from the TypeScript in `web/app`), built into the binary
//! and served on the API's port: `/` and `/ui/<file>`. It talks to the same gRPC API as every
//! client, as grpc-web from the same origin. `serve --ui-dir DIR` serves the same file names
//! from DIR instead, read at each request, so the page can be rebuilt without rebuilding the
//! server (development only).
use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// The app's files: name, content type, contents.
const FILES: &[(&str, &str, &str)] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("../../ui/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../ui/app.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../../ui/style.css"),
    ),
];

/// Where `--ui-dir` points, if anywhere.
static UI_DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// Serve the app's files from `dir` instead of the built-in ones (`serve --ui-dir`).
pub fn serve_from(dir: std::path::PathBuf) {
    let _ = UI_DIR.set(dir);
}

/// `GET /`: the app's page.
pub async fn index() -> Response {
    file("index.html")
}

/// `GET /ui/config.json`: what the page needs from the server's settings. The page's WebRTC
/// connection gets the server's STUN server, so a browser behind NAT learns its public address.
/// A TURN server's credentials are not handed to every visitor: the server's own relay candidate
/// (`OPENCOURT_TURN_SERVER` or `--turn-server-file`) is what carries media through a NAT that STUN cannot cross.
pub fn config(ice: &opencourt_media::IceConfig) -> String {
    let servers: Vec<serde_json::Value> = ice
        .stun_server
        .iter()
        .filter_map(|s| s.strip_prefix("stun://"))
        .map(|hostport| serde_json::json!({ "urls": format!("stun:{hostport}") }))
        .collect();
    serde_json::json!({ "iceServers": servers }).to_string()
}

/// `GET /ui/<file>`.
pub async fn asset(Path(name): Path<String>) -> Response {
    file(&name)
}

fn file(name: &str) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, kind, built_in)) => {
            let body = match UI_DIR.get() {
                Some(dir) => match std::fs::read_to_string(dir.join(name)) {
                    Ok(text) => std::borrow::Cow::Owned(text),
                    Err(e) => {
                        return (StatusCode::NOT_FOUND, format!("{name}: {e}")).into_response()
                    }
                },
                None => std::borrow::Cow::Borrowed(*built_in),
            };
            (
                [
                    (header::CONTENT_TYPE, *kind),
                    // The page asks for camera and microphone: nothing else may frame it, and it runs
                    // only its own script and talks only to its own server.
                    (header::X_FRAME_OPTIONS, "DENY"),
                    (
                        header::CONTENT_SECURITY_POLICY,
                        "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; \
                     frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
                    ),
                    (header::REFERRER_POLICY, "no-referrer"),
                    (header::CACHE_CONTROL, "no-cache"),
                ],
                body,
            )
                .into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_gets_the_stun_server_and_never_turn_credentials() {
        let ice = opencourt_media::IceConfig {
            stun_server: Some("stun://stun.court.example:3478".into()),
            turn_server: Some("turn://court:secret@turn.court.example:3478".into()),
            ..Default::default()
        };
        let config = config(&ice);
        assert_eq!(
            config,
            r#"{"iceServers":[{"urls":"stun:stun.court.example:3478"}]}"#
        );
        assert!(!config.contains("secret"));
        assert_eq!(super::config(&Default::default()), r#"{"iceServers":[]}"#);
    }
}
