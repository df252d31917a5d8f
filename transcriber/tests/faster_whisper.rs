//! The proof that an import is right: faster-whisper on the CTranslate2 directory and whisper.cpp
//! on our ggml file, both greedy on the same audio, say the same words. faster-whisper comes from
//! PyPI into a throwaway virtualenv made by `scripts/faster-whisper-venv.sh`. The comparison uses
//! an f16 import encoded over Whisper's full 30 s, as faster-whisper does (the q8_0 weights and
//! shorter windows we transcribe with by default are judged by WER in the other tests).
mod common;

use std::path::PathBuf;
use std::process::Command;

use common::*;
use transcriber::engine::{Engine, Language};
use transcriber::model::{self, ModelName, WeightType};
use transcriber::vad::Region;

const PASSAGE: &str = "The court will now hear the application for bail. Counsel for the \
    defendant, please begin. Your honour, my client has lived at the same address for eleven \
    years, has no previous convictions, and has surrendered his passport to the police.";

fn venv_python() -> PathBuf {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/faster-whisper-venv.sh"
    );
    let out = Command::new("bash").arg(script).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

const FW: &str = r#"
import sys
from faster_whisper import WhisperModel
m = WhisperModel(sys.argv[1], device="cpu", compute_type="float32", cpu_threads=1)
segs, _ = m.transcribe(sys.argv[2], language=sys.argv[3], beam_size=1, best_of=1,
                       temperature=0.0, condition_on_previous_text=False, vad_filter=False)
print(" ".join(s.text.strip() for s in segs))
"#;

/// `name`'s transcript of PASSAGE must match faster-whisper's and be at most `max_wer` off
/// PASSAGE itself.
fn compare(name: ModelName, max_wer: f64) {
    let samples = [silence(300), speak(PASSAGE, "en-us"), silence(300)].concat();
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("passage.wav");
    write_wav(&wav, &samples);

    let out = Command::new(venv_python())
        .args(["-c", FW])
        .arg(ct2_dir(name))
        .arg(&wav)
        .arg("en")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs = String::from_utf8(out.stdout).unwrap();

    let f16 = dir.path().join("ggml-f16.bin");
    model::import(&ct2_dir(name), &f16, WeightType::F16).unwrap();
    let engine = Engine::load(&f16).unwrap();
    let mut session = engine.session(Language::En, 1).unwrap();
    session.full_context = true;
    let whole = Region {
        start_ms: 0,
        end_ms: samples.len() as u64 / 16,
    };
    let ours: Vec<String> = session
        .region(&samples, whole, "x")
        .unwrap()
        .into_iter()
        .map(|s| s.text)
        .collect();
    let ours = ours.join(" ");
    let diff = wer(&theirs, &ours);
    eprintln!(
        "{name:?}\n faster-whisper: {theirs}\n whisper.cpp:    {ours}\n difference {diff:.3}"
    );
    assert!(diff <= 0.05, "transcripts differ by {diff}");
    let w = wer(PASSAGE, &ours);
    eprintln!(" WER {w:.3}");
    assert!(w <= max_wer, "WER {w}: {ours}");
}

// Word error rates on PASSAGE's 40 words, the same every run (deterministic for the same input),
// and the same as faster-whisper's: tiny.en 6 wrong ("now hear the" as "out here in", "bail" as
// "mail", "Counsel" as "Council", "eleven" as "11"), 0.15; base 2 ("Council", "11"), 0.05. Each
// bound is that and two words more.

#[test]
fn tiny_en_import_matches_faster_whisper() {
    compare(ModelName::TinyEn, 0.2);
}

#[test]
fn base_import_matches_faster_whisper() {
    compare(ModelName::Base, 0.1);
}
