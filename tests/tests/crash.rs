//! kill -9 at any moment loses no acknowledged event: every AddNote that got an answer is in the
//! log after a restart, with the seq and hash it was acknowledged with, and the log verifies.
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hearing_core::app::{self, App};
use hearing_core::domain::*;
use hearing_core::store::Store;
use opencourt_proto::v1 as pb;
use opencourt_tests::*;
use pb::hearing_service_client::HearingServiceClient;

async fn kill_nine_loses_no_acknowledged_event(db: Db) {
    let (url, dir) = fresh_database(db).await;
    let hearing_id;
    let password = "kill-test-password".to_string();
    {
        let app = App::new(Store::connect(&url).await.unwrap());
        let clerk = app
            .add_user(
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
        let _ = clerk;
    }

    // Acknowledged notes: text -> (seq, hash) as the server answered.
    let acked: Arc<Mutex<BTreeMap<String, (u64, String)>>> = Arc::default();
    for (round, kill_after_ms) in [150u64, 400, 900].into_iter().enumerate() {
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
        let mut writers = Vec::new();
        for w in 0..4 {
            let (ch, token, acked) = (ch.clone(), token.clone(), acked.clone());
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
                        }
                        Err(_) => break, // the server is gone; this one was never acknowledged
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(kill_after_ms)).await;
        server.kill9();
        for w in writers {
            let _ = w.await;
        }
    }

    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 20,
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
