//! Chinese with the multilingual base model: `--language zh`, simplified characters out.
mod common;

use common::*;
use transcriber::engine::{to_simplified, Engine, Language};
use transcriber::model::ModelName;
use transcriber::pipeline::{self, Options, Track};
use transcriber::vad::VadParams;

/// What is said, and the same in tone-numbered pinyin: Debian's espeak-ng `cmn` dictionary is
/// the small one and reads characters as English letters, so the pinyin voice speaks instead.
const SPEECH: &str = "现在开庭。请大家坐下。今天审理的是一个合同案件。谢谢大家。";
const PINYIN: &str = "xian4 zai4 kai1 ting2. qing3 da4 jia1 zuo4 xia4. \
                      jin1 tian1 shen3 li3 de5 shi4 yi2 ge4 he2 tong2 an4 jian4. xie4 xie4 da4 jia1.";

/// espeak-ng's Mandarin is far from natural speech: base gets 14 of its 25
/// characters wrong, the same every run (the model is deterministic for the same input), with
/// the language given or detected. The bound is that and three characters more.
const CER: f64 = 0.68;

#[test]
fn chinese_speech_transcribes_in_simplified_characters() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("judge.wav");
    write_wav(
        &wav,
        &[
            silence(500),
            speak_at(PINYIN, "cmn-latn-pinyin", 120),
            silence(500),
        ]
        .concat(),
    );
    let engine = Engine::load(&model(ModelName::Base)).unwrap();
    let opts = Options {
        language: Language::Zh,
        threads: 1,
        vad: VadParams::default(),
    };
    let track = Track {
        label: "审判长".into(),
        path: wav,
        offset_ms: 0,
    };
    let prepared = pipeline::prepare(&[track], opts.vad).unwrap();
    let t = pipeline::transcribe(&engine, &prepared, &opts, &|_| {}).unwrap();
    let text: String = t.segments.iter().map(|s| s.text.as_str()).collect();
    let c = cer(SPEECH, &text);
    eprintln!("CER {c:.3}: {text}");
    assert_eq!(t.language, "zh");
    assert!(t.segments.iter().all(|s| s.speaker == "审判长"));
    assert!(
        text.chars()
            .filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c))
            .count()
            >= 10,
        "{text}"
    );
    assert_eq!(to_simplified(&text), text, "already simplified");
    assert!(c <= CER, "CER {c}: {text}");
}

#[test]
fn auto_detects_chinese_with_base() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("judge.wav");
    write_wav(
        &wav,
        &[
            silence(500),
            speak_at(PINYIN, "cmn-latn-pinyin", 120),
            silence(500),
        ]
        .concat(),
    );
    let engine = Engine::load(&model(ModelName::Base)).unwrap();
    let opts = Options {
        language: Language::Auto,
        threads: 1,
        vad: VadParams::default(),
    };
    let track = Track {
        label: "审判长".into(),
        path: wav,
        offset_ms: 0,
    };
    let prepared = pipeline::prepare(&[track], opts.vad).unwrap();
    let t = pipeline::transcribe(&engine, &prepared, &opts, &|_| {}).unwrap();
    assert_eq!(t.language, "zh");
    let text: String = t.segments.iter().map(|s| s.text.as_str()).collect();
    let c = cer(SPEECH, &text);
    eprintln!("CER {c:.3}: {text}");
    assert!(!text.is_empty(), "nothing transcribed");
    assert_eq!(to_simplified(&text), text);
    assert!(c <= CER, "CER {c}: {text}");
}
