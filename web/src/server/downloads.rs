//! `GET /media/<hearing>/<file>`: a hearing's recordings and tracks, for callers who may read the
//! hearing, with the same bearer token as the gRPC API. Only files the hearing's log names (its
//! closed recording segments and tracks) are served; anything else in the hearing's directory is
//! "not found". Files are streamed in chunks, never read whole into memory, and a single
//! `Range: bytes=…` gets exactly those bytes (206), a range the file cannot give 416.
use std::path::PathBuf;

use axum::body::{Body, Bytes};
use axum::extract::Path as UrlPath;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hearing_core::app::App;
use hearing_core::domain::HearingId;
use hearing_core::CoreError;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// How much of a file is in memory at once while it is sent.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// A file name inside the hearing's directory: relative, no `..`, no root. Checked before the
/// log is asked, so a path trick is told apart from a file that is not there.
fn safe_relative(file: &str) -> bool {
    std::path::Path::new(file)
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)))
}

/// The type of a file the recorder writes: Matroska video (the mix) or audio (a track).
fn content_type(file: &str) -> &'static str {
    match file.rsplit('.').next().unwrap_or("") {
        "mkv" => "video/x-matroska",
        "mka" => "audio/x-matroska",
        "webm" => "video/webm",
        "ogg" | "opus" => "audio/ogg",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

/// What a `Range` header asks of a file of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Ranged {
    /// No `Range` header: the whole file.
    Whole,
    /// Bytes `start..=end` (inclusive, as `Content-Range` counts).
    Part { start: u64, end: u64 },
    /// A range the file cannot give, several ranges, or a header that is not `bytes=…`.
    Unsatisfiable,
}

/// Reads a `Range` header: one range of bytes (`a-b`, `a-`, or the last `n` with `-n`).
pub fn parse_range(header: Option<&str>, size: u64) -> Ranged {
    let Some(h) = header else {
        return Ranged::Whole;
    };
    let Some(spec) = h.trim().strip_prefix("bytes=") else {
        return Ranged::Unsatisfiable;
    };
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Ranged::Unsatisfiable;
    };
    let num = |s: &str| -> Option<u64> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (start, end) = match (a.trim().is_empty(), num(a), num(b)) {
        // the last n bytes
        (true, _, Some(n)) if n > 0 && size > 0 => (size.saturating_sub(n), size - 1),
        (false, Some(start), None) if b.trim().is_empty() && start < size => (start, size - 1),
        (false, Some(start), Some(end)) if start <= end && start < size => {
            (start, end.min(size - 1))
        }
        _ => return Ranged::Unsatisfiable,
    };
    Ranged::Part { start, end }
}

/// A body streaming `len` bytes of `file` from where it stands, `CHUNK_BYTES` at a time.
pub fn file_body(file: tokio::fs::File, len: u64) -> Body {
    let stream = async_stream::try_stream! {
        let mut file = file.take(len);
        let mut buf = vec![0u8; CHUNK_BYTES];
        loop {
            let n = file.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            yield Bytes::copy_from_slice(&buf[..n]);
        }
    };
    Body::from_stream::<_>(Box::pin(stream)
        as std::pin::Pin<
            Box<dyn futures::Stream<Item = std::io::Result<Bytes>> + Send>,
        >)
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
            .and_then(hearing_core::grpc::bearer_token)
            .ok_or_else(|| {
                CoreError::Unauthenticated("missing authorization: Bearer <token>".into())
            })?;
        let caller = app.authenticate(token).await?;
        let id = HearingId::parse("hearing", &hearing)?;
        if !safe_relative(&file) {
            return Err(CoreError::invalid("file", "is not a file of this hearing"));
        }
        // The log's own name of the file, never the caller's path: `..` and strays are not
        // found there.
        let logged = app.logged_media_file(&caller, id, &file).await?;
        let dir =
            media_dir.ok_or_else(|| CoreError::NotFound("this server keeps no media".into()))?;
        let path = dir.join(id.to_string()).join(&logged.file);
        let not_found = |_| CoreError::NotFound(format!("no file {file} in hearing {id}"));
        let f = tokio::fs::File::open(&path).await.map_err(not_found)?;
        let size = f.metadata().await.map_err(not_found)?.len();
        Ok::<_, CoreError>((content_type(&logged.file), f, size))
    }
    .await;
    let (ct, mut f, size) = match result {
        Ok(found) => found,
        // the one code table; database and internal detail is logged, never sent
        Err(e) => return (e.code().http(), e.client_message()).into_response(),
    };
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let mut res = match parse_range(range, size) {
        Ranged::Whole => {
            let mut res = Response::new(file_body(f, size));
            res.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(size));
            res
        }
        Ranged::Part { start, end } => {
            if let Err(e) = f.seek(std::io::SeekFrom::Start(start)).await {
                tracing::error!(error = %e, "seeking in a media file");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
            let len = end - start + 1;
            let mut res = Response::new(file_body(f, len));
            *res.status_mut() = StatusCode::PARTIAL_CONTENT;
            let h = res.headers_mut();
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
            if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{size}")) {
                h.insert(header::CONTENT_RANGE, v);
            }
            res
        }
        Ranged::Unsatisfiable => {
            let mut res = (
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range: give one range of bytes within the file, e.g. bytes=0-1023",
            )
                .into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                res.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return res;
        }
    };
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_read_as_http_says() {
        let r = |h: &str| parse_range(Some(h), 1000);
        assert_eq!(parse_range(None, 1000), Ranged::Whole);
        assert_eq!(r("bytes=0-99"), Ranged::Part { start: 0, end: 99 });
        assert_eq!(
            r("bytes=990-"),
            Ranged::Part {
                start: 990,
                end: 999
            }
        );
        assert_eq!(
            r("bytes=-10"),
            Ranged::Part {
                start: 990,
                end: 999
            }
        );
        assert_eq!(r("bytes=-5000"), Ranged::Part { start: 0, end: 999 });
        // an end past the file is cut to it
        assert_eq!(
            r("bytes=900-5000"),
            Ranged::Part {
                start: 900,
                end: 999
            }
        );
        for bad in [
            "bytes=1000-",
            "bytes=5-4",
            "bytes=-0",
            "bytes=0-1,5-6",
            "bytes=a-b",
            "bytes=+1-2",
            "items=0-1",
            "bytes=",
            "bytes=-",
        ] {
            assert_eq!(r(bad), Ranged::Unsatisfiable, "{bad}");
        }
        assert_eq!(parse_range(Some("bytes=0-"), 0), Ranged::Unsatisfiable);
    }

    /// A file larger than a chunk goes out in chunks: never more than `CHUNK_BYTES` of it in
    /// memory at once.
    #[tokio::test]
    async fn a_large_file_is_sent_a_chunk_at_a_time() {
        use http_body::Body as _;
        let path = std::env::temp_dir().join(format!("oc-media-{}.bin", uuid::Uuid::new_v4()));
        let data: Vec<u8> = (0..(5 * CHUNK_BYTES + 123)).map(|i| i as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let mut f = tokio::fs::File::open(&path).await.unwrap();
        f.seek(std::io::SeekFrom::Start(7)).await.unwrap();
        let len = data.len() as u64 - 7 - 11;
        let mut body = file_body(f, len);
        let mut got = Vec::new();
        let mut chunks = 0;
        while let Some(frame) =
            std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
        {
            let bytes = frame.unwrap().into_data().unwrap();
            assert!(
                bytes.len() <= CHUNK_BYTES,
                "a chunk of {} bytes",
                bytes.len()
            );
            got.extend_from_slice(&bytes);
            chunks += 1;
        }
        std::fs::remove_file(&path).unwrap();
        assert!(chunks > 5, "{chunks} chunks");
        assert_eq!(got, data[7..data.len() - 11]);
    }
}
