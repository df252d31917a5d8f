//! Done-when 2: `kill -9` during a recording leaves every file playable with at most 1 s lost;
//! a room restarted on the same directory continues and records the gap.
mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::Result;
use common::*;
use recorder::Manifest;

fn record(
    out: &std::path::Path,
    parties: &[(String, std::path::PathBuf)],
    seconds: u32,
) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_opencourt-record"));
    cmd.arg("--out")
        .arg(out)
        .args(["--seconds", &seconds.to_string(), "--segment-seconds", "3"]);
    for (label, wav) in parties {
        cmd.arg("--party").arg(format!("{label}={}", wav.display()));
    }
    cmd
}

#[test]
fn kill_9_loses_at_most_one_second_and_a_restart_continues() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let d = tmp.path();
    let parties = vec![
        ("Judge:judge".to_string(), tone(d, "judge", 440, 60.0)?),
        (
            "Wit:witness".to_string(),
            speech(
                d,
                "wit",
                "I was at home all evening, I saw nothing.",
                0.5,
                60.0,
            )?,
        ),
    ];
    let out = d.join("rec");
    let mut child = record(&out, &parties, 60).stderr(Stdio::null()).spawn()?;
    // wait until two segments are closed, then kill in the middle of the third
    let started = loop {
        std::thread::sleep(Duration::from_millis(100));
        if let Some(m) = Manifest::load(&out)? {
            if mix_files(&m).len() >= 2 {
                break m.started()?;
            }
        }
        assert!(child.try_wait()?.is_none(), "the recorder exited early");
    };
    std::thread::sleep(Duration::from_millis(1400));
    let killed_at = (chrono::Utc::now() - started).to_std()?.as_secs_f64();
    child.kill()?; // SIGKILL
    child.wait()?;

    let m = Manifest::load(&out)?.expect("manifest");
    let r = recorder::verify(&out)?;
    assert!(
        r.is_intact(),
        "closed files still match their hashes: {r:?}"
    );
    // the files open at the kill: the mix and one track per party
    assert_eq!(r.unlisted.len(), 3, "{r:?}");
    let mut names: Vec<String> = m.files.iter().map(|f| f.file.clone()).collect();
    names.extend(r.unlisted.iter().cloned());
    for name in &names {
        let path = out.join(name);
        decodes_cleanly(&path)?;
        discoverable(&path)?;
    }
    for name in &r.unlisted {
        let end = start_ms_of(name) as f64 / 1000.0 + last_packet_end(&out.join(name))?;
        let lost = killed_at - end;
        eprintln!("{name}: media to {end:.3} s, killed at {killed_at:.3} s, lost {lost:.3} s");
        assert!(lost <= 1.0, "{name}: {lost:.3} s lost");
        assert!(lost > -0.2, "{name}: media after the kill? {lost:.3}");
    }
    let last_closed = m.last_end_ms();

    // a new room on the same directory continues on the same hearing clock
    let status = record(&out, &parties, 3).stderr(Stdio::null()).status()?;
    assert!(status.success());
    let m2 = Manifest::load(&out)?.expect("manifest");
    assert_eq!(m2.hearing_started_utc, m.hearing_started_utc);
    // the files open at the kill are measured, hashed and listed as recovered
    for name in &r.unlisted {
        let f = m2
            .files
            .iter()
            .find(|f| &f.file == name)
            .expect("recovered file listed");
        assert!(f.recovered, "{name}");
        let lost = killed_at - f.end_ms as f64 / 1000.0;
        assert!(
            (-0.1..=1.0).contains(&lost),
            "{name}: listed up to {} ms",
            f.end_ms
        );
    }
    let gap = m2
        .gaps
        .iter()
        .find(|g| g.reason == "recorder restarted")
        .expect("restart gap");
    let from = gap.from_ms as f64 / 1000.0;
    assert!(
        gap.from_ms >= last_closed && killed_at - from <= 1.0,
        "{gap:?}"
    );
    assert!(gap.to_ms as f64 / 1000.0 > killed_at, "{gap:?}");
    let new: Vec<_> = mix_files(&m2)
        .into_iter()
        .filter(|f| f.start_ms >= gap.to_ms)
        .collect();
    assert!(!new.is_empty(), "new segments after the restart");
    let r2 = recorder::verify(&out)?;
    assert!(r2.is_intact() && r2.unlisted.is_empty(), "{r2:?}");
    Ok(())
}
