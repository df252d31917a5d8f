//! A graceful shutdown is bounded: `opencourt serve` told to stop (SIGTERM) with a hearing's
//! room recording, a judge's WatchHearing and WatchMedia streams open, and a client that sent
//! half a request and went quiet, ends its streams, stops the room (its files closed, hashed
//! and in the hearing's log) and exits within its grace instead of waiting for that client.
use std::time::Duration;

use hearing_core::domain::events::MediaKind;
use hearing_core::domain::{EventPayload, HearingId};
use opencourt_proto::v1 as pb;
use opencourt_tests::*;
use pb::hearing_service_client::HearingServiceClient;
use tokio::io::AsyncWriteExt;

/// Generous bound for steps that take seconds here; never asserted as a time.
const PATIENCE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_streams_finalises_files_and_exits_despite_a_stalled_client() {
    let mut t = TestApp::start(Db::Sqlite).await;
    let s = t.scene("shutdown", pb::Visibility::Public).await;
    let hid = s.hearing.id.clone();
    t.stop_server().await;
    let data = t.dir.path().to_path_buf();
    let mut server = ServerProcess::start_with(
        &t.database_url,
        &data,
        &["--no-worker", "--shutdown-grace-secs", "3"],
    );
    let channel = server.channel().await;
    let mut hs = HearingServiceClient::new(channel.clone());
    hs.open_hearing(authed(
        &s.judge,
        pb::OpenHearingRequest {
            hearing_id: hid.clone(),
        },
    ))
    .await
    .expect("open");
    go_on_record(&mut hs, &s.judge, &hid).await;
    let mut watch = watch_from_start(&mut hs, &s.judge, &hid).await;
    let mut signals = watch_media(channel, &s.judge, &hid).await;
    // A client that announces a request body and sends a little of it, then nothing (grpc-web
    // over HTTP/1.1, as a browser would: the request is in the server's hands, unfinished).
    let mut stalled = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stalled
        .write_all(
            b"POST /court.v1.AuthService/Login HTTP/1.1\r\nHost: x\r\n\
              content-type: application/grpc-web+proto\r\ncontent-length: 1000\r\n\r\n\
              \0\0\0\x03\xe3",
        )
        .await
        .unwrap();
    // A little of the room's mix to keep.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let pid = server.child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(PATIENCE, async {
        loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the server did not exit after SIGTERM");
    assert!(status.success(), "{status}");
    drop(stalled);

    // The streams ended (not cut mid-message): the watch says to watch again elsewhere.
    let end = loop {
        match watch.message().await {
            Ok(Some(_)) => continue,
            end => break end,
        }
    };
    let e = end.expect_err("the watch ends with a status");
    assert_eq!(e.code(), tonic::Code::Unavailable, "{e:?}");
    while let Ok(Some(_)) = signals.message().await {}

    // The room's files are finalised: in its manifest with matching hashes…
    let room = data.join("media").join(&hid);
    let out = std::process::Command::new(opencourt_bin())
        .args(["verify", "--recording"])
        .arg(&room)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success() && said.starts_with("ok: "), "{said}");
    // …and in the hearing's log, which verifies.
    let id = HearingId::parse("id", &hid).unwrap();
    let events = t.app.system().events_after(id, 0, u32::MAX).await.unwrap();
    assert!(
        events.iter().any(|e| matches!(
            e.payload(),
            Some(EventPayload::MediaClosed {
                kind: MediaKind::Segment,
                ..
            })
        )),
        "no closed segment in the log"
    );
    let (ok, said) = verify_hearing(&t.database_url, &data, &hid);
    assert!(ok, "{said}");
}
