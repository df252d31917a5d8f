//! `GET /media/<hearing>/<file>`: a hearing's recordings and tracks, for callers who may read the
//! hearing, with the same bearer token as the gRPC API.
use std::path::{Component, Path, PathBuf};

use axum::body::Body;
use axum::extract::Path as UrlPath;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use hearing_core::app::App;
use hearing_core::domain::HearingId;
use hearing_core::CoreError;

/// A file name inside the hearing's directory: relative, no `..`, no root.
fn safe_relative(file: &str) -> Option<PathBuf> {
    let p = Path::new(file);
    p.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| p.to_path_buf())
}

fn content_type(file: &str) -> &'static str {
    match file.rsplit('.').next().unwrap_or("") {
        "webm" => "video/webm",
        "mkv" => "video/x-matroska",
        "mp4" => "video/mp4",
        "ogg" | "opus" => "audio/ogg",
        "wav" => "audio/wav",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

pub async fn download(
    app: App,
    media_dir: Option<PathBuf>,
    UrlPath((hearing, file)): UrlPath<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                CoreError::Unauthenticated("missing authorization: Bearer <token>".into())
            })?;
        let caller = app.authenticate(token.trim()).await?;
        let id = HearingId::parse("hearing", &hearing)?;
        app.may_read_media(&caller, id).await?;
        let rel = safe_relative(&file)
            .ok_or_else(|| CoreError::invalid("file", "is not a file of this hearing"))?;
        let dir =
            media_dir.ok_or_else(|| CoreError::NotFound("this server keeps no media".into()))?;
        let path = dir.join(id.to_string()).join(rel);
        let bytes = tokio::fs::read(&path)
            .await
            .map_err(|_| CoreError::NotFound(format!("no file {file} in hearing {id}")))?;
        Ok::<_, CoreError>((content_type(&file), bytes))
    }
    .await;
    match result {
        Ok((ct, bytes)) => ([(header::CONTENT_TYPE, ct)], Body::from(bytes)).into_response(),
        // the one code table; database and internal detail is logged, never sent
        Err(e) => (e.code().http(), e.client_message()).into_response(),
    }
}
