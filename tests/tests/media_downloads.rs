//! `/media` downloads and the media lease, as an operator would see them misbehave: only files
//! the hearing's log names are served (a stray file in the hearing's directory is not), ranges
//! give exactly the bytes asked (206) or 416, every answer says `nosniff` and its type; and a
//! node that loses a hearing's media lease stops that hearing's room (files closed and logged,
//! the loss on the log) instead of recording beside the node that took it over.
use std::net::SocketAddr;
use std::time::Duration;

use opencourt_proto::v1 as pb;
use opencourt_tests::*;
use pb::hearing_event::Payload;
use pb::media_service_client::MediaServiceClient;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Generous bound for steps that take seconds here; never asserted as a time.
const PATIENCE: Duration = Duration::from_secs(60);

/// A GET with extra header lines: (status, lower-cased head, body).
async fn get(addr: SocketAddr, path: &str, token: &str, extra: &str) -> (u16, String, Vec<u8>) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n{extra}Connection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&buf[..split]).to_ascii_lowercase();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(!head.contains("transfer-encoding: chunked"), "{head}");
    (status, head, buf[split + 4..].to_vec())
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim() == name)
        .map(|(_, v)| v.trim())
}

/// Opens the hearing, goes on the record and opens its room on this node (the judge watches
/// the media signals, as a browser does before offering): the room records the mix from now.
async fn recording(t: &TestApp, s: &Scene) -> tonic::Streaming<pb::MediaSignal> {
    t.open_on_record(s).await;
    let hid = s.hearing.id.clone();
    watch_media(t.channel().await, &s.judge, &hid).await
}

fn segment(p: &Payload) -> Option<pb::MediaClosed> {
    match p {
        Payload::MediaClosed(m) if m.kind == "segment" => Some(m.clone()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_logged_files_are_served_streamed_and_by_range() {
    let t = TestApp::start(Db::Sqlite).await;
    let s = t.scene("downloads", pb::Visibility::Public).await;
    let hid = s.hearing.id.clone();
    let mut hs = t.hearings().await;
    let mut watch = watch_from_start(&mut hs, &s.judge, &hid).await;
    let _signals = recording(&t, &s).await;
    // a little of the room's mix to keep
    tokio::time::sleep(Duration::from_secs(2)).await;
    t.adjourn(&s).await;
    let seg = until_event(&mut watch, "closed segment", segment).await;
    let dir = t.dir.path().join("media").join(&hid);
    let on_disk = std::fs::read(dir.join(&seg.file)).unwrap();
    assert_eq!(on_disk.len() as u64, seg.size);
    assert!(on_disk.len() > 100, "{} bytes", on_disk.len());

    // The whole file, with its type, nosniff and its length.
    let url = format!("/media/{hid}/{}", seg.file);
    let (code, head, body) = get(t.addr, &url, &s.judge, "").await;
    assert_eq!(code, 200, "{head}");
    assert_eq!(body, on_disk);
    assert_eq!(header(&head, "content-type"), Some("video/x-matroska"));
    assert_eq!(header(&head, "x-content-type-options"), Some("nosniff"));
    assert_eq!(header(&head, "accept-ranges"), Some("bytes"));
    assert_eq!(
        header(&head, "content-length"),
        Some(on_disk.len().to_string().as_str())
    );

    // A range: exactly those bytes.
    let (code, head, body) = get(t.addr, &url, &s.judge, "Range: bytes=10-99\r\n").await;
    assert_eq!(code, 206, "{head}");
    assert_eq!(body, on_disk[10..=99]);
    let total = on_disk.len();
    assert_eq!(
        header(&head, "content-range"),
        Some(format!("bytes 10-99/{total}").as_str())
    );
    assert_eq!(header(&head, "x-content-type-options"), Some("nosniff"));
    let (code, _, body) = get(t.addr, &url, &s.judge, "Range: bytes=-7\r\n").await;
    assert_eq!((code, body.as_slice()), (206, &on_disk[total - 7..]));
    // A range past the end, or several at once: 416, naming the file's size.
    for bad in [format!("bytes={total}-"), "bytes=0-1,4-5".to_string()] {
        let (code, head, body) = get(t.addr, &url, &s.judge, &format!("Range: {bad}\r\n")).await;
        assert_eq!(code, 416, "{bad}: {head}");
        assert_eq!(
            header(&head, "content-range"),
            Some(format!("bytes */{total}").as_str())
        );
        assert!(String::from_utf8_lossy(&body).contains("range"), "{bad}");
    }

    // Files the log does not name are not served, even inside the hearing's directory, and
    // even when named like a recording.
    std::fs::write(dir.join("stray.html"), b"<script>alert(1)</script>").unwrap();
    std::fs::write(dir.join("mix-9999999999.mkv"), b"not on the record").unwrap();
    for stray in ["stray.html", "mix-9999999999.mkv", "manifest.json"] {
        let (code, head, _) = get(t.addr, &format!("/media/{hid}/{stray}"), &s.judge, "").await;
        assert_eq!(code, 404, "{stray}: {head}");
    }
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_loses_the_media_lease_stops_its_room() {
    let t = TestApp::start(Db::Sqlite).await;
    let s = t.scene("lease", pb::Visibility::Public).await;
    let hid = s.hearing.id.clone();
    let mut hs = t.hearings().await;
    let mut watch = watch_from_start(&mut hs, &s.judge, &hid).await;
    let mut signals = recording(&t, &s).await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    // Another node takes the lease over (as if this one had not renewed it in time).
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&t.database_url).await.unwrap();
    let stolen = sqlx::query(
        "UPDATE media_leases SET node = 'node-thief', address = 'thief:1', \
         expires_at = expires_at + 3600000 WHERE hearing_id = $1",
    )
    .bind(&hid)
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(stolen.rows_affected(), 1);

    // This node's room stops at its next renewal: the loss is on the log, the open file is
    // closed and logged after it, and the judge's media connection is told.
    let reason = until_event(&mut watch, "recording gap", |p| match p {
        Payload::RecordingGap(g) => Some(g.reason.clone()),
        _ => None,
    })
    .await;
    assert!(
        reason.contains("lost the hearing's media lease to node node-thief"),
        "{reason}"
    );
    until_event(&mut watch, "closed segment", segment).await;
    let closed = tokio::time::timeout(PATIENCE, async {
        loop {
            match signals.message().await.expect("media signals") {
                Some(pb::MediaSignal {
                    signal: Some(pb::media_signal::Signal::Closed(c)),
                    ..
                }) => return c.reason,
                Some(_) => {}
                None => panic!("the signal stream ended without a reason"),
            }
        }
    })
    .await
    .expect("no Closed signal");
    assert!(
        closed.contains("lost the hearing's media lease"),
        "{closed}"
    );

    // The lease stays the other node's; this node sends connections there.
    let r = MediaServiceClient::new(t.channel().await)
        .watch_media(authed(
            &s.judge,
            pb::WatchMediaRequest {
                hearing_id: hid.clone(),
            },
        ))
        .await;
    assert_status(r, tonic::Code::FailedPrecondition, "node-thief");
    t.stop().await;
}
