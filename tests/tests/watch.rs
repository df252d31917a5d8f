//! WatchHearing: replay after a seq, then live events; a client that reconnects with its last
//! seq misses nothing and sees nothing twice, even while events are being appended.
//!
//! The server also reads the log every few seconds for events other nodes appended; here that
//! poll is set far beyond every patience, so only this node's hub can deliver a live event in
//! time: a hub that delivers nothing turns these tests red.
use std::time::Duration;

use hearing_core::domain::Role;
use opencourt_proto::v1 as pb;
use opencourt_tests::*;

/// Longer than any test here runs: the log poll never delivers.
const NO_POLL: Duration = Duration::from_secs(3600);
/// How long a watcher waits for an event that is already committed (they arrive within
/// milliseconds; this only turns a stall into a failure).
const PATIENCE: Duration = Duration::from_secs(10);

async fn start(db: Db) -> TestApp {
    TestApp::start_with(db, |app| app.with_watch_poll(NO_POLL)).await
}

async fn add_notes(t: &TestApp, s: &Scene, n: usize, tag: &str) {
    let mut hs = t.hearings().await;
    for i in 0..n {
        hs.add_note(authed(
            &s.clerk,
            pb::AddNoteRequest {
                hearing_id: s.hearing.id.clone(),
                text: format!("{tag} {i}"),
            },
        ))
        .await
        .unwrap();
    }
}

async fn reconnect_and_resume(db: Db) {
    let t = start(db).await;
    let s = t.scene("watch", pb::Visibility::Public).await;
    let mut hs = t.hearings().await;
    let hid = s.hearing.id.clone();
    hs.open_hearing(authed(
        &s.judge,
        pb::OpenHearingRequest {
            hearing_id: hid.clone(),
        },
    ))
    .await
    .unwrap();
    // Admitted: counsel reads the whole log (a waiting participant would see only their own
    // events, as `read_policy.rs` tests).
    t.join_and_admit(&s, Role::Counsel).await;

    // A participant watches from the start while notes are appended concurrently, in bursts of
    // five; after each burst the writer waits until the watcher has seen it, so the watcher then
    // sits on an open stream and the next burst must reach it live.
    let (progress, mut seen_up_to) = tokio::sync::watch::channel(0u64);
    let writer = {
        let (clerk, hid, addr) = (s.clerk.clone(), hid.clone(), t.addr);
        tokio::spawn(async move {
            let ch = tonic::transport::Channel::from_shared(format!("http://{addr}"))
                .unwrap()
                .connect()
                .await
                .unwrap();
            let mut hs = pb::hearing_service_client::HearingServiceClient::new(ch);
            for i in 0..=60 {
                let text = if i == 60 {
                    "the end".to_string()
                } else {
                    format!("live {i}")
                };
                let e = hs
                    .add_note(authed(
                        &clerk,
                        pb::AddNoteRequest {
                            hearing_id: hid.clone(),
                            text,
                        },
                    ))
                    .await
                    .unwrap()
                    .into_inner();
                if i % 5 == 4 {
                    tokio::time::timeout(PATIENCE, seen_up_to.wait_for(|&s| s >= e.seq))
                        .await
                        .unwrap_or_else(|_| panic!("the watcher never saw seq {}", e.seq))
                        .expect("the watcher is gone");
                }
            }
        })
    };
    let token = s.token(Role::Counsel).to_string();
    let mut seen: Vec<u64> = Vec::new();
    let mut last = 0;
    let mut streams = 0;
    // Drop and reconnect the stream every 7 events.
    'outer: loop {
        let mut st = hs
            .watch_hearing(authed(
                &token,
                pb::WatchHearingRequest {
                    hearing_id: hid.clone(),
                    after_seq: last,
                },
            ))
            .await
            .unwrap()
            .into_inner();
        streams += 1;
        for _ in 0..7 {
            match tokio::time::timeout(PATIENCE, st.message()).await {
                Ok(Ok(Some(e))) => {
                    assert_eq!(e.hearing_id, hid);
                    seen.push(e.seq);
                    last = e.seq;
                    progress.send_replace(last);
                    if matches!(&e.payload, Some(pb::hearing_event::Payload::Note(n)) if n.text == "the end")
                    {
                        break 'outer;
                    }
                }
                other => panic!("stream ended or stalled at seq {last}: {other:?}"),
            }
        }
    }
    writer.await.unwrap();
    let head = get_hearing(&mut hs, &s.clerk, &hid).await.last_seq;
    assert_eq!(last, head, "the watcher reached the log's head");
    let expected: Vec<u64> = (1..=last).collect();
    assert_eq!(seen, expected, "every event exactly once, in order");
    assert_eq!(
        streams as u64,
        last.div_ceil(7),
        "reconnected every 7 events"
    );

    // Live after replay: a new event arrives on an open stream.
    let mut st = hs
        .watch_hearing(authed(
            &token,
            pb::WatchHearingRequest {
                hearing_id: hid.clone(),
                after_seq: last,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    add_notes(&t, &s, 1, "after").await;
    let e = tokio::time::timeout(PATIENCE, st.message())
        .await
        .expect("the live event did not arrive")
        .expect("stream error")
        .expect("stream ended");
    assert_eq!(e.seq, last + 1);
    assert!(
        matches!(&e.payload, Some(pb::hearing_event::Payload::Note(n)) if n.text == "after 0"),
        "{e:?}"
    );
    t.stop().await;
}

async fn removed_watcher_stream_ends(db: Db) {
    let t = start(db).await;
    let s = t.scene("watch-rm", pb::Visibility::Public).await;
    let mut hs = t.hearings().await;
    let hid = s.hearing.id.clone();
    let mut st = watch_from_start(&mut hs, s.token(Role::Party), &hid).await;
    hs.remove_participant(authed(
        &s.judge,
        pb::RemoveParticipantRequest {
            hearing_id: hid.clone(),
            participant_id: s.participant(Role::Party).id.clone(),
            reason: "contempt".into(),
        },
    ))
    .await
    .unwrap();
    let mut last = None;
    loop {
        match tokio::time::timeout(PATIENCE, st.message())
            .await
            .expect("stream did not end")
        {
            Ok(Some(e)) => last = Some(e),
            Ok(None) => break,
            Err(status) => panic!("{status}"),
        }
    }
    // The stream's last event is the removal of the watcher itself.
    let last = last.expect("no event before the end");
    let removed = pb::ParticipantRemoved {
        participant_id: s.participant(Role::Party).id.clone(),
        reason: "contempt".into(),
    };
    assert_eq!(
        last.payload,
        Some(pb::hearing_event::Payload::Removed(removed)),
        "{last:?}"
    );
    t.stop().await;
}

both_dbs!(reconnect_and_resume, removed_watcher_stream_ends);
