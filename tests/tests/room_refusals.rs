//! A room command that fails reaches the hearing's log, and so the presiding judge: going back
//! on the record needs the room to save its manifest (with the off-record gap); when it cannot,
//! the judge's WatchHearing stream receives a recording gap naming the failure, instead of the
//! failure staying in a debug line on the media node.
use std::time::Duration;

use opencourt_proto::v1 as pb;
use opencourt_tests::*;
use pb::hearing_event::Payload;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_that_cannot_go_back_on_the_record_tells_the_judge() {
    let t = TestApp::start(Db::Sqlite).await;
    let s = t.scene("refusal", pb::Visibility::Public).await;
    let hid = s.hearing.id.clone();
    let mut hs = t.hearings().await;
    let mut watch = watch_from_start(&mut hs, &s.judge, &hid).await;
    t.open_on_record(&s).await;
    // The judge watching the media signals opens the room on this node, on the record.
    let _signals = watch_media(t.channel().await, &s.judge, &hid).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    hs.go_off_record(authed(
        &s.judge,
        pb::GoOffRecordRequest {
            hearing_id: hid.clone(),
            reason: "recess".into(),
        },
    ))
    .await
    .expect("go off the record");
    // The room went off the record once the segment open until then is closed and logged.
    until_event(&mut watch, "closed segment", |p| match p {
        Payload::MediaClosed(m) if m.kind == "segment" => Some(()),
        _ => None,
    })
    .await;

    // The manifest cannot be saved: a directory where the room writes it before renaming (as
    // root, too, which a read-only mode would not stop).
    let dir = t.dir.path().join("media").join(&hid);
    std::fs::create_dir(dir.join(".manifest.json.tmp")).expect("block the manifest");
    hs.go_on_record(authed(
        &s.judge,
        pb::GoOnRecordRequest {
            hearing_id: hid.clone(),
        },
    ))
    .await
    .expect("the court goes on the record whatever the room says");
    let gap = until_event(&mut watch, "refusal", |p| match p {
        Payload::RecordingGap(g) => Some(g.clone()),
        _ => None,
    })
    .await;
    assert!(
        gap.reason
            .starts_with("the media room could not go on the record (on the record):"),
        "{}",
        gap.reason
    );
    assert!(gap.reason.contains("manifest.json"), "{}", gap.reason);
    assert_eq!(gap.from_ms, gap.to_ms, "a refusal is a moment, not a span");

    std::fs::remove_dir(dir.join(".manifest.json.tmp")).unwrap();
    t.adjourn(&s).await;
    t.stop().await;
}
