//! Audio is whole across the boundaries between files: the mix and a track, cut every 2 s
//! on the record, decoded file by file and laid on the hearing clock, have no hole where one file
//! ends and the next begins. (Each file used to start with the encoder's 6.5 ms pre-skip, which a
//! decoder drops: 6.5 ms of silence at every boundary.) A file after a gap keeps its pre-skip:
//! what it would add is from before the record resumed.
mod common;

use std::time::Duration;

use anyhow::{Context, Result};
use common::*;
use recorder::{Manifest, RoomConfig};

/// The longest run of samples (16 kHz) quieter than -60 dBFS in `a..b` seconds of `t`.
fn longest_hole(t: &[Option<f32>], a: f64, b: f64) -> usize {
    let (mut run, mut worst) = (0, 0);
    for x in slice(t, a, b) {
        if x.abs() < 1e-3 {
            run += 1;
            worst = worst.max(run);
        } else {
            run = 0;
        }
    }
    worst
}

/// The pre-skip in the OpusHead of a file's audio (what `ffprobe -show_data` dumps of it).
fn opus_pre_skip(path: &std::path::Path) -> Result<u16> {
    let dump = run(std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "a:0",
            "-show_data",
            "-show_streams",
        ])
        .arg(path))?;
    let line = dump
        .lines()
        .skip_while(|l| !l.starts_with("extradata="))
        .nth(1)
        .context("no extradata")?;
    // "00000000: 4f70 7573 4865 6164 0101 3801 ...": bytes 10 and 11, little-endian
    let hex: String = line.split_whitespace().skip(1).take(6).collect();
    let byte = |i: usize| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16);
    Ok(u16::from_le_bytes([byte(10)?, byte(11)?]))
}

#[test]
fn no_audio_is_lost_where_one_file_ends_and_the_next_begins() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let d = tmp.path();
    let out = d.join("rec");
    let mut cfg = RoomConfig::new(&out);
    cfg.segment = Duration::from_secs(2);
    let (room, _events) = room_with_a_judge(d, cfg, 8.0)?;
    let until = |ms: u64| wait_until(&room, ms as f64 / 1000.0);
    until(6_500);
    room.off_record("recess")?;
    until(7_200);
    room.on_record("back")?;
    until(8_500);
    room.stop()?;

    let m = Manifest::load(&out)?.expect("manifest");
    for (what, files) in [
        ("the mix", mix_files(&m)),
        ("the judge's track", track_files(&m, "judge")),
    ] {
        assert!(files.len() >= 4, "{what}: {:?}", m.files);
        // files that continue the one before skip nothing; the first, and the first after the
        // recess, skip the encoder's warm-up
        let skips: Vec<(u64, u16)> = files
            .iter()
            .map(|f| Ok((f.start_ms, opus_pre_skip(&out.join(&f.file))?)))
            .collect::<Result<_>>()?;
        let after_gap = |start: u64| start == 0 || (6_500..7_500).contains(&start);
        assert!(
            skips.iter().any(|&(s, _)| s > 0 && after_gap(s)),
            "{what}: {skips:?}"
        );
        assert!(
            skips
                .iter()
                .all(|&(start, skip)| skip == if after_gap(start) { 312 } else { 0 }),
            "{what}: (start ms, pre-skip) {skips:?}"
        );
        let t = timeline(&out, &files)?;
        // a 440 Hz sine at 0.2 is that quiet for a sample or two at each zero crossing; a
        // decoder starting without the stream's history takes under a millisecond to sound
        // (measured: 14 samples), where the pre-skip dropped 6.5 ms (104 samples)
        let hole = longest_hole(&t, 1.0, 6.0);
        assert!(
            hole <= 24,
            "{what}: {hole} silent samples ({:.1} ms) inside the tone; files start at {:?} ms",
            hole as f64 / 16.0,
            files.iter().map(|f| f.start_ms).collect::<Vec<_>>()
        );
    }
    Ok(())
}
