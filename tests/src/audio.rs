//! Audio for tests: speech made with espeak-ng, decoded samples, and how much of a file is
//! speech.
/// `text` spoken by espeak-ng into `dir/<name>.wav`.
pub fn speech_wav(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let wav = dir.join(format!("{name}.wav"));
    let st = std::process::Command::new("espeak-ng")
        .arg("-w")
        .arg(&wav)
        .arg(text)
        .status()
        .expect("espeak-ng (scripts/packages.d/webrtc.txt)");
    assert!(st.success(), "espeak-ng failed");
    wav
}

/// Any audio file GStreamer decodes, as 16 kHz mono samples.
pub fn decode_pcm(path: &std::path::Path) -> Vec<i16> {
    let out = std::process::Command::new("gst-launch-1.0")
        .args(["-q", "filesrc"])
        .arg(format!("location={}", path.display()))
        .args(["!", "decodebin", "!", "audioconvert", "!", "audioresample"])
        .args(["!", "audio/x-raw,format=S16LE,channels=1,rate=16000"])
        .args(["!", "fdsink", "fd=1"])
        .output()
        .expect("gst-launch-1.0");
    assert!(out.status.success(), "decoding {}", path.display());
    out.stdout
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

/// Seconds of 20 ms frames of 16 kHz samples loud enough to be speech.
pub fn voiced_in(pcm: &[i16]) -> f64 {
    let voiced = pcm.chunks(320).filter(|f| {
        let energy = f.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / f.len() as f64;
        energy.sqrt() > 300.0
    });
    voiced.count() as f64 * 0.02
}

/// Seconds of speech in any audio file GStreamer decodes.
pub fn voiced_seconds(path: &std::path::Path) -> f64 {
    voiced_in(&decode_pcm(path))
}
