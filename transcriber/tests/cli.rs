//! The commands as a user runs them: formats on disk, and bad input as a one-line error with a
//! non-zero exit and no output file.
mod common;

use std::fs;
use std::path::Path;

use clap::Parser;
use common::*;
use transcriber::cli::{self, TranscribeArgs};
use transcriber::model::ModelName;

#[derive(Parser)]
struct Cmd {
    #[command(flatten)]
    args: TranscribeArgs,
}

fn run(dir: &Path, extra: &[&str]) -> i32 {
    let model = model(ModelName::TinyEn);
    let mut argv = vec![
        "transcribe".to_owned(),
        "--model".into(),
        model.display().to_string(),
    ];
    argv.extend(["--data".into(), dir.display().to_string()]);
    argv.extend(extra.iter().map(|s| (*s).to_owned()));
    cli::transcribe(Cmd::try_parse_from(argv).unwrap().args)
}

#[test]
fn every_format_is_written_with_speaker_labels() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("judge.wav");
    write_wav(
        &wav,
        &[silence(300), speak("The court is now in session.", "en-us")].concat(),
    );
    let track = format!("Judge Wang={}@2000", wav.display());
    for (format, needle) in [
        ("json", "\"speaker\": \"Judge Wang\""),
        ("vtt", "<v Judge Wang>"),
        ("srt", "Judge Wang: "),
        ("txt", "JUDGE WANG:"),
    ] {
        let out = dir.path().join(format!("t.{format}"));
        let code = run(
            dir.path(),
            &[
                "--track",
                &track,
                "--format",
                format,
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert_eq!(code, 0, "{format}");
        let text = fs::read_to_string(&out).unwrap();
        assert!(text.contains(needle), "{format}: {text}");
        assert!(text.to_lowercase().contains("session"), "{format}: {text}");
    }
    // The offset puts the speech after 2 s on the clock.
    let json: transcriber::transcript::Transcript =
        serde_json::from_str(&fs::read_to_string(dir.path().join("t.json")).unwrap()).unwrap();
    assert!(json.segments[0].start_ms >= 2000, "{:?}", json.segments[0]);
}

#[test]
fn bad_input_fails_without_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.json");
    let out_s = out.to_str().unwrap();
    let text_file = dir.path().join("notes.wav");
    fs::write(
        &text_file,
        "this is not audio at all, just text\n".repeat(50),
    )
    .unwrap();
    let not_audio = format!("Judge={}", text_file.display());
    let missing = format!("Judge={}", dir.path().join("missing.wav").display());
    let bad_model = dir.path().join("model.bin");
    fs::write(&bad_model, "not a model").unwrap();
    for argv in [
        vec!["--track", &missing, "--out", out_s],
        vec!["--track", &not_audio, "--out", out_s],
        vec!["--track", "no-equals-sign", "--out", out_s],
        vec!["--track", &not_audio, "--language", "zh", "--out", out_s],
    ] {
        assert_eq!(run(dir.path(), &argv), 1, "{argv:?}");
        assert!(!out.exists(), "{argv:?} left an output file");
    }
    let argv = [
        "transcribe",
        "--track",
        &missing,
        "--model",
        bad_model.to_str().unwrap(),
        "--out",
        out_s,
    ];
    assert_eq!(cli::transcribe(Cmd::try_parse_from(argv).unwrap().args), 1);
    let refused = Cmd::try_parse_from(["transcribe", "--track", "a=b", "--language", "fr"])
        .err()
        .expect("an unknown language is refused")
        .to_string();
    assert!(
        refused.contains("'fr'") && refused.contains("--language"),
        "{refused}"
    );
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        2,
        "no temporary files left"
    );
}
