//! Decoding: containers and codecs other than WAV, and files with video, come out as the same
//! 16 kHz mono speech.
mod common;

use std::process::Command;

use common::*;
use transcriber::audio::decode_file;

fn gst_launch(pipeline: &str) {
    let st = Command::new("gst-launch-1.0")
        .arg("-q")
        .args(pipeline.split_whitespace())
        .status()
        .expect("gst-launch-1.0 (gstreamer1.0-tools) is installed");
    assert!(st.success(), "{pipeline}");
}

/// Correlation of two signals over their common length (1.0 = same shape).
fn similarity(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let dot: f32 = a[..n].iter().zip(&b[..n]).map(|(x, y)| x * y).sum();
    let na: f32 = a[..n].iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b[..n].iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

#[test]
fn ogg_opus_and_webm_with_video_decode_to_the_same_speech() {
    let dir = tempfile::tempdir().unwrap();
    let speech = [
        silence(500),
        speak("Order in the court.", "en-us"),
        silence(500),
    ]
    .concat();
    let wav = dir.path().join("a.wav");
    write_wav(&wav, &speech);
    let reference = decode_file(&wav).unwrap();
    assert_eq!(reference.len(), speech.len());

    let ogg = dir.path().join("a.ogg");
    gst_launch(&format!(
        "filesrc location={} ! wavparse ! audioconvert ! audioresample ! opusenc ! oggmux ! filesink location={}",
        wav.display(),
        ogg.display()
    ));
    // WebM with a video stream first: the decoder must pick the audio and drain the video.
    let webm = dir.path().join("a.webm");
    gst_launch(&format!(
        "webmmux name=m ! filesink location={} videotestsrc num-buffers=60 ! video/x-raw,width=64,height=48,framerate=25/1 ! vp8enc ! m. filesrc location={} ! wavparse ! audioconvert ! audioresample ! opusenc ! m.",
        webm.display(),
        wav.display()
    ));
    for file in [&ogg, &webm] {
        let x = decode_file(file).unwrap();
        let len_diff = x.len().abs_diff(reference.len());
        assert!(
            len_diff < 16_000 / 10,
            "{}: {} vs {} samples",
            file.display(),
            x.len(),
            reference.len()
        );
        // Opus delays the signal a little; find the best alignment within 20 ms.
        let best = (0..320)
            .map(|d| similarity(&reference, &x[d.min(x.len())..]))
            .fold(f32::MIN, f32::max);
        assert!(best > 0.8, "{}: similarity {best}", file.display());
    }
}
