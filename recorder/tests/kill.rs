//! Done-when 2: `kill -9` during a recording leaves every file playable with at most 1 s lost;
//! a room restarted on the same directory continues and records the gap.
mod common;

use std::process::{Command, Stdio};

use anyhow::Result;
use common::*;
use recorder::Manifest;

/// The recorder's clock (seconds) when it is killed: a second into the fourth 3 s segment, on
/// one of the progress lines it prints every 5 s.
const KILL_AT: f64 = 10.0;

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
    let mut child = record(&out, &parties, 60).stderr(Stdio::piped()).spawn()?;
    // Kill in the middle of the fourth segment, right after the recorder says (on a progress
    // line) that its clock reached KILL_AT: what it recorded before saying so may not be lost.
    // The kill comes a little after the line; that delay only ever puts more media on disk.
    let stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut lines = std::io::BufRead::lines(stderr);
    let clock_at_kill = loop {
        let Some(line) = lines.next().transpose()? else {
            panic!(
                "the recorder exited before its clock reached {KILL_AT} s: {:?}",
                child.wait()?
            )
        };
        let clock = line
            .strip_prefix("record: ")
            .and_then(|l| l.split_once('/'))
            .and_then(|(s, _)| s.parse::<f64>().ok());
        if let Some(clock) = clock.filter(|c| *c >= KILL_AT) {
            break clock;
        }
    };
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
    let mut ends = Vec::new();
    for name in &r.unlisted {
        let end = start_ms_of(name) as f64 / 1000.0 + last_packet_end(&out.join(name))?;
        let lost = clock_at_kill - end;
        eprintln!("{name}: media to {end:.3} s, clock {clock_at_kill:.3} s before the kill");
        assert!(lost <= 1.0, "{name}: {lost:.3} s lost");
        ends.push((name, end));
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
        let lost = clock_at_kill - f.end_ms as f64 / 1000.0;
        assert!(lost <= 1.0, "{name}: listed up to {} ms", f.end_ms);
    }
    let gap = m2
        .gaps
        .iter()
        .find(|g| g.reason == "recorder restarted")
        .expect("restart gap");
    let from = gap.from_ms as f64 / 1000.0;
    assert!(
        gap.from_ms >= last_closed && clock_at_kill - from <= 1.0,
        "{gap:?}"
    );
    // the restart's clock is after the kill: no file holds media past it
    assert!(gap.to_ms as f64 / 1000.0 > clock_at_kill, "{gap:?}");
    for (name, end) in ends {
        assert!(
            end * 1000.0 <= gap.to_ms as f64,
            "{name}: media to {end:.3} s, after the restart {gap:?}"
        );
    }
    let new: Vec<_> = mix_files(&m2)
        .into_iter()
        .filter(|f| f.start_ms >= gap.to_ms)
        .collect();
    assert!(!new.is_empty(), "new segments after the restart");
    let r2 = recorder::verify(&out)?;
    assert!(r2.is_intact() && r2.unlisted.is_empty(), "{r2:?}");
    Ok(())
}
