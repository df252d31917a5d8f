//! kill -9 at any moment loses no acknowledged event: every AddNote that got an answer is in the
//! log after a restart, with the seq and hash it was acknowledged with, and the log verifies.
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hearing_core::app::{self, App};
use hearing_core::domain::*;
use hearing_core::store::Store;
use opencourt_proto::v1 as pb;
use opencourt_tests::*;
use pb::hearing_service_client::HearingServiceClient;

/// Waiting for what is bound to happen (notes acknowledged, writers noticing the kill): only
/// turns a hang into a failure.
const PATIENCE: Duration = Duration::from_secs(60);

/// What a client sees of a server killed under it: a status its own transport made up because
/// the connection was refused, reset or closed (UNAVAILABLE "tcp connect error", UNKNOWN
/// "transport error" over a reset or a broken pipe, CANCELLED "operation was canceled" over a
/// closed connection: each seen here). A status the server sent (INTERNAL, "database is locked",
/// ...) has no transport error behind it, so it is a bug, killed or not.
fn server_gone(s: &tonic::Status) -> bool {
    let from_transport = std::error::Error::source(s)
        .is_some_and(|e| e.downcast_ref::<tonic::transport::Error>().is_some());
    from_transport
        && matches!(
            s.code(),
            tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Cancelled
        )
}

async fn kill_nine_loses_no_acknowledged_event(db: Db) {
    let (url, dir) = fresh_database(db).await;
    let hearing_id;
    let password = "kill-test-password".to_string();
    {
        let app = App::new(Store::connect(&url).await.unwrap());
        app.add_user(
            Username::parse("u", "clerk").unwrap(),
            DisplayName::parse("d", "Clerk Li").unwrap(),
            Role::Clerk,
            password.clone(),
        )
        .await
        .unwrap();
        let judge = app
            .add_user(
                Username::parse("u", "judge").unwrap(),
                DisplayName::parse("d", "Judge Wang").unwrap(),
                Role::Judge,
                password.clone(),
            )
            .await
            .unwrap();
        let as_judge = app::Caller::Staff(judge);
        let case = app
            .create_case(
                &as_judge,
                CaseNumber::parse("c", "KILL-1").unwrap(),
                Title::parse("t", "Crash").unwrap(),
                Visibility::Public,
            )
            .await
            .unwrap();
        let now = chrono::Utc::now();
        let h = app
            .schedule_hearing(
                &as_judge,
                case.id,
                Title::parse("t", "Crash").unwrap(),
                now,
                now + chrono::Duration::hours(1),
                None,
            )
            .await
            .unwrap();
        hearing_id = h.id;
    }

    // Acknowledged notes: text -> (seq, hash) as the server answered.
    let acked: Arc<Mutex<BTreeMap<String, (u64, String)>>> = Arc::default();
    // Each round kills the server once its writers have had this many notes acknowledged.
    for (round, kill_after_acks) in [10usize, 60, 200].into_iter().enumerate() {
        let server = ServerProcess::start(&url, dir.path());
        let ch = server.channel().await;
        let mut auth = pb::auth_service_client::AuthServiceClient::new(ch.clone());
        let token = auth
            .login(pb::LoginRequest {
                username: "clerk".into(),
                password: password.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .token;
        let killed = Arc::new(AtomicBool::new(false));
        let (acks_tx, mut acks) = tokio::sync::watch::channel(0usize);
        let acks_tx = Arc::new(acks_tx);
        let mut writers = Vec::new();
        for w in 0..4 {
            let (ch, token, acked) = (ch.clone(), token.clone(), acked.clone());
            let (killed, acks_tx) = (killed.clone(), acks_tx.clone());
            let hid = hearing_id.to_string();
            writers.push(tokio::spawn(async move {
                let mut hs = HearingServiceClient::new(ch);
                for i in 0.. {
                    let text = format!("round {round} writer {w} note {i}");
                    match hs
                        .add_note(authed(
                            &token,
                            pb::AddNoteRequest {
                                hearing_id: hid.clone(),
                                text: text.clone(),
                            },
                        ))
                        .await
                    {
                        Ok(r) => {
                            let e = r.into_inner();
                            acked.lock().unwrap().insert(text, (e.seq, e.hash));
                            acks_tx.send_modify(|n| *n += 1);
                        }
                        // Read the flag only now: a status the server sent before the kill is a
                        // failure even when the kill happens while it travels.
                        Err(s) if killed.load(Ordering::SeqCst) && server_gone(&s) => {
                            return i; // this one was never acknowledged
                        }
                        Err(s) => panic!(
                            "{text}: {:?} {:?} (killed: {})",
                            s.code(),
                            s.message(),
                            killed.load(Ordering::SeqCst)
                        ),
                    }
                }
                unreachable!()
            }));
        }
        drop(acks_tx); // the writers hold the rest: when all are gone, the wait below ends
                       // Not reached: a timeout, or every writer gone (their panics, joined below, say why).
        let reached = tokio::time::timeout(PATIENCE, acks.wait_for(|n| *n >= kill_after_acks))
            .await
            .is_ok_and(|r| r.is_ok());
        killed.store(true, Ordering::SeqCst);
        server.kill9();
        // A writer that panicked (an unexpected status) fails the test with its message.
        for w in writers {
            match tokio::time::timeout(PATIENCE, w).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Ok(Err(e)) => panic!("writer: {e}"),
                Err(_) => panic!("round {round}: a writer did not notice the kill"),
            }
        }
        assert!(
            reached,
            "round {round}: fewer than {kill_after_acks} notes acknowledged"
        );
    }

    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 10 + 60 + 200,
        "only {} notes were acknowledged",
        acked.len()
    );
    let store = Store::connect(&url).await.unwrap();
    let events = store.events_after(hearing_id, 0, 1_000_000).await.unwrap();
    let stored: BTreeMap<String, (u64, String)> = events
        .iter()
        .filter_map(|e| match e.payload() {
            Some(EventPayload::Note { text }) => Some((text, (e.seq, e.hash.clone()))),
            _ => None,
        })
        .collect();
    for (text, ack) in &acked {
        assert_eq!(
            stored.get(text),
            Some(ack),
            "acknowledged note {text:?} lost or changed after kill -9"
        );
    }
    let v = store.verify_log(hearing_id).await.unwrap();
    assert!(v.ok, "{v:?}");
}

both_dbs!(kill_nine_loses_no_acknowledged_event);
