//! WatchHearing: replay after a seq, then live events; a client that reconnects with its last
//! seq misses nothing and sees nothing twice, even while events are being appended.
use std::time::Duration;

use hearing_core::domain::Role;
use opencourt_proto::v1 as pb;
use opencourt_tests::*;

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
    let t = TestApp::start(db).await;
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

    // A participant watches from the start while notes are appended concurrently.
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
                hs.add_note(authed(
                    &clerk,
                    pb::AddNoteRequest {
                        hearing_id: hid.clone(),
                        text,
                    },
                ))
                .await
                .unwrap();
            }
        })
    };
    let token = s.token(Role::Counsel).to_string();
    let mut seen: Vec<u64> = Vec::new();
    let mut last = 0;
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
        for _ in 0..7 {
            match tokio::time::timeout(Duration::from_secs(10), st.message()).await {
                Ok(Ok(Some(e))) => {
                    assert_eq!(e.hearing_id, hid);
                    seen.push(e.seq);
                    last = e.seq;
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
    let expected: Vec<u64> = (1..=last).collect();
    assert_eq!(seen, expected, "every event exactly once, in order");
    assert!(last >= 60 + 9, "saw {last} events");

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
    let e = tokio::time::timeout(Duration::from_secs(5), st.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(e.seq, last + 1);
    t.stop().await;
}

async fn removed_watcher_stream_ends(db: Db) {
    let t = TestApp::start(db).await;
    let s = t.scene("watch-rm", pb::Visibility::Public).await;
    let mut hs = t.hearings().await;
    let hid = s.hearing.id.clone();
    let mut st = watch_from_start(&mut hs, s.token(Role::Party), &hid).await;
    hs.remove_participant(authed(
        &s.judge,
        pb::RemoveParticipantRequest {
            hearing_id: hid,
            participant_id: s.participant(Role::Party).id.clone(),
            reason: "contempt".into(),
        },
    ))
    .await
    .unwrap();
    let mut saw_removal = false;
    loop {
        match tokio::time::timeout(Duration::from_secs(10), st.message())
            .await
            .expect("stream did not end")
        {
            Ok(Some(e)) => {
                saw_removal |= matches!(e.payload, Some(pb::hearing_event::Payload::Removed(_)))
            }
            Ok(None) => break,
            Err(status) => panic!("{status}"),
        }
    }
    assert!(saw_removal);
    t.stop().await;
}

both_dbs!(reconnect_and_resume, removed_watcher_stream_ends);
