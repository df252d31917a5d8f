//! A recording file that cannot be written reaches the hearing's record at once: the room
//! (the recorder's, on a directory whose first segment's file is the full disk `/dev/full`)
//! reports the fault, the pump that carries a hearing's room events into its record logs it
//! as a RecordingFault the presiding judge sees on WatchHearing, and once a new file has taken
//! over, a RecordingGap for the media lost, with the reason; the new file is logged as usual.
use std::time::Duration;

use hearing_core::domain::{EventPayload, HearingId};
use opencourt_proto::v1 as pb;
use opencourt_tests::*;

/// Generous bound for steps that take seconds here; never asserted as a time.
const PATIENCE: Duration = Duration::from_secs(60);

/// A hearing on the record, and its presiding judge's watch of it.
async fn on_record(t: &TestApp, tag: &str) -> (HearingId, tonic::Streaming<pb::HearingEvent>) {
    let s = t.scene(tag, pb::Visibility::Public).await;
    t.open_on_record(&s).await;
    let hid = HearingId::parse("hearing_id", &s.hearing.id).unwrap();
    let mut hs = t.hearings().await;
    let watch = watch_from_start(&mut hs, &s.judge, &s.hearing.id).await;
    (hid, watch)
}

/// A room recording into `dir` (30 s segments), and the pump carrying its events into hearing
/// `hid`'s record.
async fn room_with_pump(
    t: &TestApp,
    hid: HearingId,
    dir: &std::path::Path,
) -> (recorder::Room, std::thread::JoinHandle<()>) {
    let mut cfg = recorder::RoomConfig::new(dir);
    cfg.segment = Duration::from_secs(30);
    let (room, events) = tokio::task::spawn_blocking(move || recorder::Room::start(cfg))
        .await
        .unwrap()
        .expect("room");
    let (app, rt, room_dir) = (
        t.app.clone(),
        tokio::runtime::Handle::current(),
        dir.to_path_buf(),
    );
    let pump = std::thread::spawn(move || {
        opencourt::server::courtroom::pump::run(
            app,
            "test-node",
            hid,
            room_dir,
            "en".into(),
            rt,
            events,
        )
    });
    (room, pump)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_fault_is_logged_at_once_for_the_judge_with_the_media_lost() {
    let t = TestApp::start(Db::Sqlite).await;
    let (hid, mut watch) = on_record(&t, "fault").await;

    let dir = t.dir.path().join("room");
    std::fs::create_dir_all(&dir).unwrap();
    // the room's clock starts at zero, so its first mixed segment is this file: the full disk
    std::os::unix::fs::symlink("/dev/full", dir.join("mix-0000000000.mkv")).unwrap();
    let (room, pump) = room_with_pump(&t, hid, &dir).await;

    // The judge is told while the hearing goes on.
    let fault = tokio::time::timeout(PATIENCE, async {
        loop {
            let e = watch.message().await.unwrap().expect("event stream");
            if let Some(pb::hearing_event::Payload::RecordingFault(f)) = e.payload {
                return f;
            }
        }
    })
    .await
    .expect("no RecordingFault on the judge's watch");
    assert_eq!(fault.file, "mix-0000000000.mkv");
    assert_eq!(fault.participant_id, "", "the mixed recording's file");
    assert!(!fault.message.is_empty());

    // A new file takes over: the loss is a gap in the log, from the failed file's start.
    let gap = || async {
        mix_gaps(&t.app.system().events_after(hid, 0, u32::MAX).await.unwrap())
            .into_iter()
            .next()
    };
    wait_until("the RecordingGap", PATIENCE, || async {
        gap().await.is_some()
    })
    .await;
    let (from_ms, to_ms, reason) = gap().await.unwrap();
    assert!(
        from_ms <= fault.at_ms && fault.at_ms <= to_ms,
        "lost {from_ms}..{to_ms} ms, fault at {} ms",
        fault.at_ms
    );
    assert!(reason.contains("mix-0000000000.mkv"), "{reason}");
    // Media after the loss is kept: the new file closes, hashed, into the log.
    tokio::time::sleep(Duration::from_secs(2)).await;
    tokio::task::spawn_blocking(move || room.stop())
        .await
        .unwrap()
        .expect("stop");
    pump.join().unwrap();
    let events = t.app.system().events_after(hid, 0, u32::MAX).await.unwrap();
    let closed: Vec<_> = events
        .iter()
        .filter_map(|e| match e.payload() {
            Some(EventPayload::MediaClosed { file, start_ms, .. }) => Some((file, start_ms)),
            _ => None,
        })
        .collect();
    assert_eq!(closed.len(), 1, "{closed:?}");
    assert_ne!(closed[0].0, "mix-0000000000.mkv");
    assert!(
        closed[0].1 >= to_ms,
        "{closed:?} starts before the loss ends ({to_ms} ms)"
    );
    t.stop().await;
}

/// An error in the room's own pipeline (here its audio mixer fails) is a RecordingFault on the
/// judge's watch at once, naming the element; the mixed recording from then to the stop is a
/// RecordingGap with that reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixer_failure_is_a_fault_for_the_judge_and_a_gap_to_the_stop() {
    let t = TestApp::start(Db::Sqlite).await;
    let (hid, mut watch) = on_record(&t, "mixer").await;
    let dir = t.dir.path().join("room");
    let (room, pump) = room_with_pump(&t, hid, &dir).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    room.fail_mixer_for_test("injected mixer failure");

    let fault = until_event(&mut watch, "the mixer's fault", |p| match p {
        pb::hearing_event::Payload::RecordingFault(f) => Some(f.clone()),
        _ => None,
    })
    .await;
    assert_eq!(fault.file, "", "not a file: the room's pipeline");
    assert!(fault.message.contains("amix"), "{}", fault.message);
    assert!(
        fault.message.contains("injected mixer failure"),
        "{}",
        fault.message
    );

    tokio::task::spawn_blocking(move || room.stop())
        .await
        .unwrap()
        .expect("stop");
    pump.join().unwrap();
    let gaps = mix_gaps(&t.app.system().events_after(hid, 0, u32::MAX).await.unwrap());
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    let (from_ms, to_ms, reason) = &gaps[0];
    assert_eq!(*from_ms, fault.at_ms);
    assert!(to_ms >= from_ms, "{gaps:?}");
    assert!(reason.contains("amix"), "{reason}");
    t.stop().await;
}
