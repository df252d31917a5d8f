//! Shared test fixtures: the real models (fetched once into a cache shared by every test
//! process), speech from espeak-ng with known text, WAV writing; WER and CER come from
//! `transcriber::accuracy`.
#![allow(dead_code)]
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use transcriber::model::{self, ModelName};

/// Where fetched test models live: outside the clone, so every test run (and every clone on
/// this machine) fetches each model at most once.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("OPENCOURT_TEST_CACHE") {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    home.join("opencourt").join("test-data")
}

/// The imported ggml model (and its CTranslate2 directory), fetched under a file lock so
/// parallel test processes fetch it once.
pub fn model(name: ModelName) -> PathBuf {
    let data = cache_dir();
    let models = model::models_dir(&data);
    fs::create_dir_all(&models).unwrap();
    let lock = fs::File::create(models.join(format!(".{}.lock", name.as_str()))).unwrap();
    fs4::FileExt::lock(&lock).unwrap();
    let path = model::ensure(name, &data, model::WeightType::default()).expect("fetch model");
    fs4::FileExt::unlock(&lock).unwrap();
    path
}

pub fn ct2_dir(name: ModelName) -> PathBuf {
    model(name);
    model::models_dir(&cache_dir()).join(format!("ct2-{}", name.as_str()))
}

/// Speech for `text` as 16 kHz mono samples.
pub fn speak(text: &str, voice: &str) -> Vec<f32> {
    speak_at(text, voice, 145)
}

/// Speech at `rate` words per minute.
pub fn speak_at(text: &str, voice: &str, rate: u32) -> Vec<f32> {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("s.wav");
    let st = Command::new("espeak-ng")
        .args(["-v", voice, "-s", &rate.to_string(), "-w"])
        .arg(&wav)
        .arg(text)
        .status()
        .expect("espeak-ng is installed (scripts/packages.d/transcriber.txt)");
    assert!(st.success());
    transcriber::audio::decode_file(&wav).unwrap()
}

/// First and last sample above a small level: where the speech really is, in ms.
pub fn speech_extent_ms(samples: &[f32]) -> (u64, u64) {
    let first = samples.iter().position(|s| s.abs() > 0.01).unwrap();
    let last = samples.iter().rposition(|s| s.abs() > 0.01).unwrap();
    (first as u64 / 16, last as u64 / 16)
}

pub fn silence(ms: u64) -> Vec<f32> {
    vec![0.0; (ms * 16) as usize]
}

/// Deterministic white noise at the given amplitude.
pub fn noise(ms: u64, amplitude: f32) -> Vec<f32> {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    (0..ms * 16)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ((x >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * amplitude
        })
        .collect()
}

/// Writes 16 kHz mono 16-bit PCM.
pub fn write_wav(path: &Path, samples: &[f32]) {
    let data_len = (samples.len() * 2) as u32;
    let mut b = Vec::with_capacity(44 + data_len as usize);
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data_len).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&16_000u32.to_le_bytes());
    b.extend_from_slice(&32_000u32.to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        b.extend_from_slice(&((s.clamp(-1.0, 1.0) * 32767.0) as i16).to_le_bytes());
    }
    fs::write(path, b).unwrap();
}

/// `wav` encoded as Opus at `bitrate` in Matroska, as a WebRTC track is recorded; returns the
/// new file, beside `wav`.
pub fn opus(wav: &Path, bitrate: u32) -> PathBuf {
    let out = wav.with_extension("mka");
    let st = Command::new("gst-launch-1.0")
        .arg("-q")
        .arg("filesrc")
        .arg(format!("location={}", wav.display()))
        .args([
            "!",
            "wavparse",
            "!",
            "audioconvert",
            "!",
            "audioresample",
            "!",
        ])
        .args(["audio/x-raw,rate=48000", "!", "opusenc"])
        .arg(format!("bitrate={bitrate}"))
        .args(["!", "matroskamux", "!", "filesink"])
        .arg(format!("location={}", out.display()))
        .status()
        .expect("gst-launch-1.0 is installed (gstreamer1.0-tools)");
    assert!(st.success());
    out
}

#[allow(unused_imports)] // not every test file uses both
pub use transcriber::accuracy::{cer, wer};
