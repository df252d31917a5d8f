//! Done-when 1: `opencourt record` with three speech files and one off-record interval gives a
//! playable mixed recording, three per-party tracks aligned on the hearing clock, and a
//! manifest whose hashes match.
mod common;

use std::process::Command;

use anyhow::Result;
use common::*;
use recorder::Manifest;

const SECONDS: f64 = 14.0;
const OFF: (f64, f64) = (8.0, 10.0);

#[test]
fn record_three_parties_with_an_off_record_interval() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let d = tmp.path();
    let parties = [
        (
            "judge-ada",
            "Judge Ada:judge",
            speech(
                d,
                "ada",
                "The court is now in session. Please be seated.",
                1.0,
                SECONDS,
            )?,
        ),
        (
            "bo",
            "Bo:counsel",
            speech(
                d,
                "bo",
                "Your honour, I represent the claimant in this matter.",
                4.5,
                SECONDS,
            )?,
        ),
        (
            "cy",
            "Cy:witness",
            speech(d, "cy", "I swear to tell the truth.", 10.5, SECONDS)?,
        ),
    ];
    let out = d.join("rec");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_opencourt-record"));
    cmd.arg("--out")
        .arg(&out)
        .args(["--seconds", &SECONDS.to_string()]);
    cmd.args([
        "--off-record",
        &format!("{}-{}", OFF.0, OFF.1),
        "--segment-seconds",
        "5",
    ]);
    for (_, label, wav) in &parties {
        cmd.arg("--party").arg(format!("{label}={}", wav.display()));
    }
    let output = cmd.output()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("\"went_on_record\""),
        "the gap is announced: {stderr}"
    );

    let m = Manifest::load(&out)?.expect("a manifest");
    // playable: one H.264 1280x720 video and one Opus audio stream in every mixed segment
    let mixes = mix_files(&m);
    assert!(mixes.len() >= 3, "segments of at most 5 s: {mixes:?}");
    let mut recorded = 0.0;
    for f in &mixes {
        let path = out.join(&f.file);
        let p = probe(&path)?;
        assert_eq!(
            p.streams,
            vec![
                ("video".into(), "h264".into(), 1280, 720),
                ("audio".into(), "opus".into(), 0, 0)
            ],
            "{}",
            f.file
        );
        discoverable(&path)?;
        decodes_cleanly(&path)?;
        recorded += p.duration;
    }
    let on_record = SECONDS - (OFF.1 - OFF.0);
    assert!(
        (recorded - on_record).abs() <= 0.5,
        "recorded {recorded} s, on the record {on_record} s"
    );

    // the off-record interval is a gap in the manifest and in no mixed segment
    assert_eq!(m.gaps.len(), 1);
    let g = &m.gaps[0];
    assert!(
        (g.from_ms as f64 / 1000.0 - OFF.0).abs() < 0.3
            && (g.to_ms as f64 / 1000.0 - OFF.1).abs() < 0.3,
        "{g:?}"
    );
    for f in &mixes {
        assert!(
            f.end_ms <= g.from_ms + 150 || f.start_ms >= g.to_ms,
            "{} overlaps the gap: {}..{} against {g:?}",
            f.file,
            f.start_ms,
            f.end_ms
        );
    }

    // each party's own track has speech where they spoke, silence where the others spoke
    let spans: Vec<(f64, f64)> = parties
        .iter()
        .map(|p| speech_span(&p.2))
        .collect::<Result<_>>()?;
    let mix = timeline(&out, &mixes)?;
    for (i, (id, _, _)) in parties.iter().enumerate() {
        let t = timeline(&out, &track_files(&m, id))?;
        let (s, e) = spans[i];
        let own = rms(&slice(&t, s + 0.2, e - 0.2));
        assert!(
            own > LOUD,
            "{id} spoke in {s}-{e} s but the track has rms {own}"
        );
        // aligned on the hearing clock: the first sound is where the speech starts
        let w = windows(&slice(&t, 0.0, SECONDS));
        let onset = w.iter().position(|r| *r > LOUD).unwrap() as f64 * WIN;
        assert!(
            (onset - s).abs() <= 0.3,
            "{id}: speech at {s} s, track sound from {onset} s"
        );
        for (j, (other, _, _)) in parties.iter().enumerate().filter(|(j, _)| *j != i) {
            let (s, e) = spans[j];
            let r = rms(&slice(&t, s, e));
            assert!(
                r < LOUD / 3.0,
                "{id}'s track not silent while {other} spoke ({r})"
            );
        }
        assert!(
            rms(&slice(&mix, s + 0.2, e - 0.2)) > LOUD,
            "{id} is heard in the mix"
        );
    }

    // the manifest's hashes match, and a changed byte is detected
    let r = recorder::verify(&out)?;
    assert!(r.is_intact() && r.unlisted.is_empty(), "{r:?}");
    assert_eq!(r.ok.len(), m.files.len());
    let victim = out.join(&mixes[0].file);
    let mut bytes = std::fs::read(&victim)?;
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&victim, bytes)?;
    let r = recorder::verify(&out)?;
    assert_eq!(r.changed, vec![mixes[0].file.clone()]);
    Ok(())
}

#[test]
fn help_shows_an_example() -> Result<()> {
    let out = run(Command::new(env!("CARGO_BIN_EXE_opencourt-record")).arg("--help"))?;
    assert!(
        out.contains("Example:") && out.contains("--off-record"),
        "{out}"
    );
    Ok(())
}

#[test]
fn a_missing_exhibit_page_fails_before_anything_is_recorded() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let d = tmp.path();
    let pdf_file = red_green_pdf(d, "contract.pdf")?;
    let out = Command::new(env!("CARGO_BIN_EXE_opencourt-record"))
        .arg("--out")
        .arg(d.join("rec"))
        .args(["--seconds", "3", "--party"])
        .arg(format!("Ada={}", tone(d, "ada", 440, 3.0)?.display()))
        .arg("--exhibit")
        .arg(format!("1-2={}#3", pdf_file.display()))
        .output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.trim().lines().count() == 1 && err.contains("pages 1 to 2"),
        "{err}"
    );
    assert!(!d.join("rec").exists(), "nothing recorded");
    Ok(())
}
