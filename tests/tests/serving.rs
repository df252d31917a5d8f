//! How the server serves besides the court's own calls: `grpc.health.v1` reports every service
//! SERVING, server reflection lists and describes the court's services, and a graceful shutdown
//! lets a call in flight finish, ends open watches with UNAVAILABLE, stops, and loses nothing.
use std::collections::BTreeSet;
use std::time::Duration;

use futures::StreamExt;
use hearing_core::domain::{EventPayload, HearingId, Role};
use hearing_core::store::Store;
use opencourt_proto::v1 as pb;
use opencourt_tests::*;
use prost::Message;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

/// What the server must serve, by the names clients use.
const COURT_SERVICES: [&str; 5] = [
    "court.v1.AuthService",
    "court.v1.CaseService",
    "court.v1.HearingService",
    "court.v1.RecordService",
    "court.v1.MediaService",
];

/// Waiting for something already under way (a lock wait to show, a port to close): only turns a
/// hang into a failure.
const PATIENCE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn health_reports_every_service_serving() {
    let t = TestApp::start(Db::Sqlite).await;
    let mut health = HealthClient::new(t.channel().await);
    // "" is the server as a whole.
    for service in std::iter::once("").chain(COURT_SERVICES) {
        let r = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap_or_else(|s| panic!("health of {service:?}: {s:?}"))
            .into_inner();
        assert_eq!(r.status(), ServingStatus::Serving, "{service:?}");
    }
    assert_status(
        health
            .check(HealthCheckRequest {
                service: "court.v1.NoSuchService".into(),
            })
            .await,
        Code::NotFound,
        "service not registered",
    );
    // Watch answers at once with the current status.
    let mut watch = health
        .watch(HealthCheckRequest {
            service: "court.v1.HearingService".into(),
        })
        .await
        .expect("health watch")
        .into_inner();
    let first = tokio::time::timeout(PATIENCE, watch.message())
        .await
        .expect("no health status")
        .expect("health watch stream")
        .expect("health watch ended");
    assert_eq!(first.status(), ServingStatus::Serving);
    drop(watch);
    t.stop().await;
}

/// One reflection request, v1 or v1alpha (older grpcurl), and its answer.
mod reflect {
    use tonic::transport::Channel;

    pub async fn v1(
        ch: Channel,
        req: tonic_reflection::pb::v1::server_reflection_request::MessageRequest,
    ) -> tonic_reflection::pb::v1::server_reflection_response::MessageResponse {
        v1_result(ch, req).await.expect("reflection v1 answer")
    }

    pub async fn v1_result(
        ch: Channel,
        req: tonic_reflection::pb::v1::server_reflection_request::MessageRequest,
    ) -> Result<tonic_reflection::pb::v1::server_reflection_response::MessageResponse, tonic::Status>
    {
        use tonic_reflection::pb::v1::*;
        let mut c = server_reflection_client::ServerReflectionClient::new(ch);
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(req),
        };
        let mut answers = c
            .server_reflection_info(futures::stream::iter([request]))
            .await?
            .into_inner();
        Ok(answers
            .message()
            .await?
            .expect("one answer")
            .message_response
            .expect("a response"))
    }

    pub async fn v1alpha_services(ch: Channel) -> Vec<String> {
        use tonic_reflection::pb::v1alpha::*;
        let mut c = server_reflection_client::ServerReflectionClient::new(ch);
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(server_reflection_request::MessageRequest::ListServices(
                String::new(),
            )),
        };
        let mut answers = c
            .server_reflection_info(futures::stream::iter([request]))
            .await
            .expect("reflection v1alpha")
            .into_inner();
        match answers
            .message()
            .await
            .expect("reflection v1alpha answer")
            .expect("one answer")
            .message_response
        {
            Some(server_reflection_response::MessageResponse::ListServicesResponse(l)) => {
                l.service.into_iter().map(|s| s.name).collect()
            }
            other => panic!("v1alpha list_services: {other:?}"),
        }
    }
}

#[tokio::test]
async fn reflection_lists_and_describes_the_court_services() {
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let t = TestApp::start(Db::Sqlite).await;

    let listed: BTreeSet<String> = match reflect::v1(
        t.channel().await,
        MessageRequest::ListServices(String::new()),
    )
    .await
    {
        MessageResponse::ListServicesResponse(l) => l.service.into_iter().map(|s| s.name).collect(),
        other => panic!("list_services: {other:?}"),
    };
    let court: BTreeSet<String> = listed
        .iter()
        .filter(|s| s.starts_with("court."))
        .cloned()
        .collect();
    assert_eq!(court, COURT_SERVICES.map(String::from).into(), "{listed:?}");
    assert!(listed.contains("grpc.health.v1.Health"), "{listed:?}");
    let alpha: BTreeSet<String> = reflect::v1alpha_services(t.channel().await)
        .await
        .into_iter()
        .filter(|s| s.starts_with("court."))
        .collect();
    assert_eq!(alpha, court, "v1alpha lists the same court services");

    // A client can build a stub from what reflection sends: the file that defines
    // HearingService, with WatchHearing streaming from the server.
    let files = match reflect::v1(
        t.channel().await,
        MessageRequest::FileContainingSymbol("court.v1.HearingService".into()),
    )
    .await
    {
        MessageResponse::FileDescriptorResponse(f) => f.file_descriptor_proto,
        other => panic!("file_containing_symbol: {other:?}"),
    };
    let files: Vec<prost_types::FileDescriptorProto> = files
        .iter()
        .map(|b| prost_types::FileDescriptorProto::decode(b.as_slice()).expect("a descriptor"))
        .collect();
    let hearing = files
        .iter()
        .find(|f| f.name() == "court/v1/hearing.proto")
        .unwrap_or_else(|| panic!("{:?}", files.iter().map(|f| f.name()).collect::<Vec<_>>()));
    assert_eq!(hearing.package(), "court.v1");
    let service = hearing
        .service
        .iter()
        .find(|s| s.name() == "HearingService")
        .expect("HearingService in hearing.proto");
    let watch = service
        .method
        .iter()
        .find(|m| m.name() == "WatchHearing")
        .expect("WatchHearing");
    assert_eq!(
        (
            watch.input_type(),
            watch.output_type(),
            watch.server_streaming(),
            watch.client_streaming()
        ),
        (
            ".court.v1.WatchHearingRequest",
            ".court.v1.HearingEvent",
            true,
            false
        )
    );
    assert_status(
        reflect::v1_result(
            t.channel().await,
            MessageRequest::FileContainingSymbol("court.v1.NoSuchThing".into()),
        )
        .await,
        Code::NotFound,
        "symbol 'court.v1.NoSuchThing' not found",
    );
    t.stop().await;
}

/// Locks of this database that someone waits for.
async fn lock_waits(admin: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE NOT l.granted AND a.datname = current_database()",
    )
    .fetch_one(admin)
    .await
    .expect("pg_locks")
}

/// `opencourt serve` gets SIGTERM while a note is being written (it waits for a row lock the test
/// holds, so it is certainly in flight) and a participant watches: the port closes at once, the
/// watch ends with UNAVAILABLE, the note still completes and is acknowledged, the process then
/// exits cleanly, and the log holds the note as acknowledged and verifies. (PostgreSQL: its lock
/// waits are visible, so the test knows the call is in flight without guessing a time.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_the_call_in_flight() {
    let mut t = TestApp::start(Db::Postgres).await;
    let s = t.scene("shutdown", pb::Visibility::Public).await;
    let hid = s.hearing.id.clone();
    t.hearings()
        .await
        .open_hearing(authed(
            &s.judge,
            pb::OpenHearingRequest {
                hearing_id: hid.clone(),
            },
        ))
        .await
        .unwrap();
    // Admitted, counsel reads the whole log.
    t.join_and_admit(&s, Role::Counsel).await;
    // The hearing (and its tokens) move to a real `opencourt serve` on the same database.
    t.stop_server().await;
    let mut server = ServerProcess::start(&t.database_url, t.dir.path());
    let mut hs = pb::hearing_service_client::HearingServiceClient::new(server.channel().await);
    let head = get_hearing(&mut hs, &s.clerk, &hid).await.last_seq;
    // The watcher has read the whole log and waits for live events.
    let mut watch = watch_from_start(&mut hs, s.token(Role::Counsel), &hid).await;
    let mut watched = Vec::new();
    while watched.last() != Some(&head) {
        let e = tokio::time::timeout(PATIENCE, watch.message())
            .await
            .expect("replay stalled")
            .expect("watch")
            .expect("watch ended");
        watched.push(e.seq);
    }
    assert_eq!(watched, (1..=head).collect::<Vec<_>>());

    // Hold the hearing's row: the note's transaction waits for it.
    let pool = sqlx::PgPool::connect(&t.database_url).await.unwrap();
    let mut holder = pool.begin().await.unwrap();
    sqlx::query("SELECT id FROM hearings WHERE id = $1 FOR UPDATE")
        .bind(&hid)
        .fetch_one(&mut *holder)
        .await
        .unwrap();
    let note = {
        let mut hs = hs.clone();
        let req = authed(
            &s.clerk,
            pb::AddNoteRequest {
                hearing_id: hid.clone(),
                text: "said while the server stopped".into(),
            },
        );
        tokio::spawn(async move { hs.add_note(req).await })
    };
    tokio::time::timeout(PATIENCE, async {
        while lock_waits(&pool).await == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the note never waited for the row");

    let term = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(term.success());
    // The watch ends, telling the client to watch again elsewhere.
    let end = tokio::time::timeout(PATIENCE, watch.message())
        .await
        .expect("the watch did not end at shutdown");
    let status = end.expect_err("the watch ends with a status");
    assert_eq!(
        (status.code(), status.message()),
        (
            Code::Unavailable,
            "the server is shutting down: watch again after the last seq received"
        )
    );
    // No new connection is taken while the note is still waiting.
    tokio::time::timeout(PATIENCE, async {
        while tokio::net::TcpStream::connect(server.addr).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the server still accepts connections");
    assert!(
        !note.is_finished(),
        "the note finished before its row was free"
    );

    holder.commit().await.unwrap();
    let acked = tokio::time::timeout(PATIENCE, note)
        .await
        .expect("the note in flight did not complete")
        .expect("note task")
        .expect("the note in flight is acknowledged")
        .into_inner();
    assert_eq!(acked.seq, head + 1);
    let exit = tokio::time::timeout(PATIENCE, async {
        loop {
            if let Some(status) = server.child.try_wait().expect("server status") {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the server did not exit after SIGTERM");
    assert!(exit.success(), "{exit:?}");

    // The log, read afresh: the note as acknowledged, and a chain that verifies.
    let store = Store::connect(&t.database_url).await.unwrap();
    let id = HearingId::parse("hearing_id", &hid).unwrap();
    let events = store.events_after(id, 0, 1000).await.unwrap();
    let note = events
        .iter()
        .find(|e| e.seq == acked.seq)
        .expect("the acknowledged note");
    assert_eq!(note.hash, acked.hash);
    assert_eq!(
        note.payload(),
        Some(EventPayload::Note {
            text: "said while the server stopped".into()
        })
    );
    let v = store.verify_log(id).await.unwrap();
    assert!(v.ok && v.events_checked >= acked.seq, "{v:?}");
}

/// On either database: a server with watchers and finished calls stops within the patience, and
/// everything acknowledged before is in the log.
async fn shutdown_with_watchers_loses_nothing(db: Db) {
    let mut t = TestApp::start(db).await;
    let s = t.scene("shutdown-w", pb::Visibility::Public).await;
    let mut hs = t.hearings().await;
    let hid = s.hearing.id.clone();
    // Admitted, the three watchers read the whole log (the read policy).
    t.open(&s).await;
    for r in [Role::Counsel, Role::Party, Role::Observer] {
        t.join_and_admit(&s, r).await;
    }
    let mut acked = Vec::new();
    for i in 0..5 {
        acked.push(
            hs.add_note(authed(
                &s.clerk,
                pb::AddNoteRequest {
                    hearing_id: hid.clone(),
                    text: format!("note {i}"),
                },
            ))
            .await
            .unwrap()
            .into_inner(),
        );
    }
    let head = acked.last().unwrap().seq;
    // Three watchers, each having read the whole log.
    let mut watchers = Vec::new();
    for r in [Role::Counsel, Role::Party, Role::Observer] {
        let mut w = watch_from_start(&mut hs, s.token(r), &hid).await;
        for seq in 1..=head {
            let e = tokio::time::timeout(PATIENCE, w.message())
                .await
                .expect("replay stalled")
                .expect("watch")
                .expect("watch ended");
            assert_eq!(e.seq, seq, "{r:?}");
        }
        watchers.push(w);
    }
    t.stop_server().await;
    // Each watch then ended with UNAVAILABLE, and nothing after it.
    for w in watchers {
        let rest: Vec<_> = w.collect().await;
        let rest: Vec<_> = rest
            .into_iter()
            .map(|r| r.map(|e| e.seq).map_err(|s| s.code()))
            .collect();
        assert_eq!(rest, [Err(Code::Unavailable)]);
    }
    let store = Store::connect(&t.database_url).await.unwrap();
    let id = HearingId::parse("hearing_id", &hid).unwrap();
    let events = store.events_after(id, 0, 1000).await.unwrap();
    for a in &acked {
        let e = &events[a.seq as usize - 1];
        assert_eq!((e.seq, &e.hash), (a.seq, &a.hash));
    }
    assert!(store.verify_log(id).await.unwrap().ok);
}

both_dbs!(shutdown_with_watchers_loses_nothing);
