//! Live mode: a track fed in 100 ms chunks yields each utterance's segments right after it ends,
//! with the words and times the batch run over the whole file gives.
mod common;

use common::*;
use transcriber::engine::{Engine, Language};
use transcriber::incremental::Incremental;
use transcriber::model::ModelName;
use transcriber::pipeline::{self, Options, Track};
use transcriber::vad::VadParams;

const FIRST: &str = "The court calls the next witness.";
const SECOND: &str = "Please state your full name for the record.";

#[test]
fn segments_are_final_after_each_end_of_speech_and_match_batch() {
    let first = speak(FIRST, "en-us");
    let second = speak(SECOND, "en-us");
    let first_end = 500 + speech_extent_ms(&first).1;
    let track = [
        silence(500),
        first.clone(),
        silence(2500),
        second,
        silence(1500),
    ]
    .concat();
    let engine = Engine::load(&model(ModelName::TinyEn)).unwrap();
    let vad = VadParams::default();

    // Both runs take the same samples: the track as it reads back from the WAV.
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("clerk.wav");
    write_wav(&wav, &track);
    let track = transcriber::audio::decode_file(&wav).unwrap();
    let mut live = Incremental::new(&engine, Language::En, 1, "Clerk", 10_000, vad).unwrap();
    let mut got = Vec::new();
    let mut first_seen_at_ms = None;
    for (i, chunk) in track.chunks(1600).enumerate() {
        let segs = live.push(chunk).unwrap();
        if !segs.is_empty() && first_seen_at_ms.is_none() {
            first_seen_at_ms = Some((i as u64 + 1) * 100);
        }
        got.extend(segs);
    }
    got.extend(live.finish().unwrap());
    let seen = first_seen_at_ms.expect("a segment before the end of the track");
    // Final within a second and a half of the end of the first sentence, long before the second.
    assert!(
        seen <= first_end + 1500,
        "first segment after {seen} ms, speech ended at {first_end}"
    );
    let spec = Track {
        label: "Clerk".into(),
        path: wav,
        offset_ms: 10_000,
    };
    let opts = Options {
        language: Language::En,
        threads: 1,
        vad,
    };
    let prepared = pipeline::prepare(&[spec], vad).unwrap();
    let batch = pipeline::transcribe(&engine, &prepared, &opts, &|_| {}).unwrap();
    // Batch decodes the track's regions joined, live decodes each as it ends: the same speech,
    // so the same words at the same places, give or take a word and a few frames.
    let text = |segs: &[transcriber::transcript::Segment]| -> String {
        segs.iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (live_text, batch_text) = (text(&got), text(&batch.segments));
    eprintln!("live:  {live_text}\nbatch: {batch_text}");
    // Measured (the same every run): live and batch identical, and both exactly what was said.
    // Bounds: one word of the 14 between them or against the script, one of the first 6.
    assert!(
        wer(&batch_text, &live_text) <= 1.0 / 14.0,
        "{live_text} / {batch_text}"
    );
    assert!(wer(FIRST, &got[0].text) <= 1.0 / 6.0, "{live_text}");
    let script = format!("{FIRST} {SECOND}");
    assert!(wer(&script, &live_text) <= 1.0 / 14.0, "{live_text}");
    let starts = |segs: &[transcriber::transcript::Segment]| -> Vec<u64> {
        segs.iter().map(|s| s.start_ms).collect()
    };
    assert_eq!(got.len(), 2, "one segment per sentence: {got:?}");
    assert!(
        got[0].start_ms.abs_diff(batch.segments[0].start_ms) <= 300,
        "{:?} {:?}",
        starts(&got),
        starts(&batch.segments)
    );
    let last = batch.segments.last().unwrap();
    assert!(got[1].end_ms.abs_diff(last.end_ms) <= 300);
}
