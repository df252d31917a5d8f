//! A recording file that cannot be written (the disk is full, as writing to `/dev/full` is) or
//! cannot be opened (a directory stands where it goes) is noticed at once, not when the file
//! would have closed: the room says so, stops writing it, opens a new file at once, and says
//! which stretch of the recording is missing.
mod common;

use std::time::Duration;

use anyhow::Result;
use common::*;
use recorder::manifest::FileKind;
use recorder::state::Event;
use recorder::{Manifest, RoomConfig};

const PATIENCE: Duration = Duration::from_secs(60);

#[test]
fn a_full_disk_is_reported_at_once_and_the_recording_goes_on_in_a_new_file() -> Result<()> {
    // the room's first mixed segment starts at hearing time zero: its file is the full disk
    broken_first_segment_is_reported_and_replaced(|first| {
        std::os::unix::fs::symlink("/dev/full", first)
    })
}

#[test]
fn a_file_that_cannot_be_opened_is_reported_at_once_and_another_takes_over() -> Result<()> {
    // a directory where the first segment goes: opening it fails, for root too
    broken_first_segment_is_reported_and_replaced(|first| std::fs::create_dir(first))
}

/// Runs a room whose first mixed segment's path was broken by `break_it`, and checks the
/// fault, the loss and the file that took over.
fn broken_first_segment_is_reported_and_replaced(
    break_it: impl FnOnce(&std::path::Path) -> std::io::Result<()>,
) -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let out = tmp.path().join("rec");
    std::fs::create_dir_all(&out)?;
    break_it(&out.join("mix-0000000000.mkv"))?;
    let mut cfg = RoomConfig::new(&out);
    cfg.segment = Duration::from_secs(30);
    let (room, events) = room_with_a_judge(tmp.path(), cfg, 30.0)?;

    let (fault, _) = next_event(&events, "RecordingFault", PATIENCE, |e| {
        matches!(e, Event::RecordingFault { .. })
    });
    let Event::RecordingFault {
        file,
        kind,
        at,
        message,
    } = fault
    else {
        unreachable!()
    };
    assert_eq!((file.as_str(), kind), ("mix-0000000000.mkv", FileKind::Mix));
    assert!(!message.is_empty());
    // noticed while the file was still open: long before its 30 s segment would have closed
    assert!(
        room.now() < Duration::from_secs(30),
        "noticed at {:?}",
        room.now()
    );
    let (lost, _) = next_event(&events, "RecordingLost", PATIENCE, |e| {
        matches!(e, Event::RecordingLost { .. })
    });
    let Event::RecordingLost {
        kind,
        from,
        to,
        reason,
    } = lost
    else {
        unreachable!()
    };
    assert_eq!(kind, FileKind::Mix);
    assert!(
        from <= at && at <= to,
        "lost {from:?}..{to:?}, fault at {at:?}"
    );
    assert!(
        reason.contains("mix-0000000000.mkv"),
        "the reason names the file: {reason}"
    );
    let resumed = to.as_secs_f64();
    wait_until(&room, resumed + 3.0);
    room.stop()?;

    // the new file starts where the loss ends and holds the rest of the hearing
    let m = Manifest::load(&out)?.expect("manifest");
    let mixes = mix_files(&m);
    assert_eq!(mixes.len(), 1, "{mixes:?}");
    let f = mixes[0];
    assert_ne!(f.file, "mix-0000000000.mkv");
    assert!(
        (f.start_ms as f64 / 1000.0 - resumed).abs() < 0.5,
        "the new file starts at {} ms, the loss ends at {resumed} s",
        f.start_ms
    );
    decodes_cleanly(&out.join(&f.file))?;
    assert!(probe(&out.join(&f.file))?.duration > 2.5);
    Ok(())
}
