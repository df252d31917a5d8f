//! Live captions: what each participant says on the record, transcribed from their own decoded
//! audio as it arrives (the transcriber's incremental engine, one per participant and stretch of
//! continuous audio), appended to the hearing's log as `Caption` events the moment a speech
//! region ends. The transcript on the case record is still made from the recorded tracks when
//! the room stops: Whisper decoding each short region on its own (as captions must) recognises
//! measurably fewer words than decoding the regions together.
use std::collections::HashMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hearing_core::app::App;
use hearing_core::domain::{EventPayload, HearingId, ParticipantId};
use recorder::Heard;
use transcriber::engine::{Engine, Language};
use transcriber::incremental::Incremental;
use transcriber::transcript::Segment;
use transcriber::vad::VadParams;

/// A hole longer than this in a participant's audio (off the record, a dropped connection)
/// starts a new stretch.
const GAP_MS: u64 = 300;
/// A stretch with no audio for this long is finished (its last region transcribed).
const IDLE: Duration = Duration::from_millis(1500);

/// 48 kHz → 16 kHz for Whisper: a windowed-sinc low-pass (cut-off 7 kHz, 48 taps, Blackman
/// window) evaluated only at every third sample, with the last taps' worth of input carried
/// across chunks.
struct Decimator {
    taps: Vec<f32>,
    /// Input not yet consumed, scaled to [-1, 1]: the carried history, then the new chunk.
    buf: Vec<f32>,
    /// Where in `buf` the next output's window starts.
    next: usize,
}

impl Decimator {
    fn new() -> Self {
        let n = 48;
        let cutoff = 7_000.0 / 48_000.0;
        let mut taps: Vec<f32> = (0..n)
            .map(|i| {
                let x = i as f64 - (n - 1) as f64 / 2.0;
                let sinc = if x == 0.0 {
                    2.0 * cutoff
                } else {
                    (2.0 * std::f64::consts::PI * cutoff * x).sin() / (std::f64::consts::PI * x)
                };
                let w = 2.0 * std::f64::consts::PI * i as f64 / (n - 1) as f64;
                (sinc * (0.42 - 0.5 * w.cos() + 0.08 * (2.0 * w).cos())) as f32
            })
            .collect();
        let sum: f32 = taps.iter().sum();
        taps.iter_mut().for_each(|t| *t /= sum);
        Decimator {
            // the filter starts on silence, so the first output is the first input's
            buf: vec![0.0; n - 1],
            taps,
            next: 0,
        }
    }

    fn push(&mut self, samples: &[i16]) -> Vec<f32> {
        self.buf
            .extend(samples.iter().map(|&s| f32::from(s) / 32768.0));
        let n = self.taps.len();
        let mut out = Vec::with_capacity(samples.len() / 3 + 1);
        while self.next + n <= self.buf.len() {
            let w = &self.buf[self.next..self.next + n];
            out.push(w.iter().zip(&self.taps).map(|(a, b)| a * b).sum());
            self.next += 3;
        }
        // keep what the next outputs' windows still need
        let keep_from = self.next.min(self.buf.len());
        self.buf.drain(..keep_from);
        self.next -= keep_from;
        out
    }
}

struct Stretch<'e> {
    engine: Incremental<'e>,
    resample: Decimator,
    /// Hearing time just past the last sample fed.
    next_ms: u64,
    last: Instant,
}

/// Runs until the room stops (the sender side closes).
pub fn run(
    app: App,
    hearing: HearingId,
    engine: Arc<Engine>,
    language: Language,
    rx: Receiver<Heard>,
    rt: tokio::runtime::Handle,
) {
    let mut stretches: HashMap<String, Stretch<'_>> = HashMap::new();
    let out = Out {
        app: &app,
        hearing,
        rt: &rt,
    };
    loop {
        let heard = match rx.recv_timeout(Duration::from_millis(250)) {
            Ok(h) => h,
            Err(RecvTimeoutError::Timeout) => {
                let idle: Vec<String> = stretches
                    .iter()
                    .filter(|(_, s)| s.last.elapsed() > IDLE)
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in idle {
                    let s = stretches.remove(&k).expect("listed");
                    out.finish(s, &k);
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let who = heard.id.to_string();
        let at_ms = heard.at.as_millis() as u64;
        let len_ms = heard.samples.len() as u64 / 48;
        let gap = stretches
            .get(&who)
            .is_some_and(|s| at_ms > s.next_ms + GAP_MS);
        if gap {
            let s = stretches.remove(&who).expect("present");
            out.finish(s, &who);
        }
        if !stretches.contains_key(&who) {
            match Incremental::new(
                &engine,
                language,
                1,
                &heard.speaker,
                at_ms,
                VadParams::default(),
            ) {
                Ok(e) => {
                    stretches.insert(
                        who.clone(),
                        Stretch {
                            engine: e,
                            resample: Decimator::new(),
                            next_ms: at_ms,
                            last: Instant::now(),
                        },
                    );
                }
                Err(e) => {
                    tracing::error!(%hearing, error = %e, "live captions: no engine");
                    continue;
                }
            }
        }
        let s = stretches.get_mut(&who).expect("made above");
        s.next_ms = s.next_ms.max(at_ms + len_ms);
        s.last = Instant::now();
        let chunk = s.resample.push(&heard.samples);
        match s.engine.push(&chunk) {
            Ok(segs) => out.publish(segs, &who),
            Err(e) => {
                tracing::error!(%hearing, error = %e, "live captions");
            }
        }
    }
    for (who, s) in stretches.drain() {
        out.finish(s, &who);
    }
}

/// Where finished segments go: the hearing's log, as captions.
struct Out<'a> {
    app: &'a App,
    hearing: HearingId,
    rt: &'a tokio::runtime::Handle,
}

impl Out<'_> {
    fn publish(&self, segs: Vec<Segment>, who: &str) {
        if segs.is_empty() {
            return;
        }
        let participant_id = ParticipantId::parse("participant_id", who).ok();
        let events = segs
            .iter()
            .map(|s| EventPayload::Caption {
                participant_id,
                speaker: s.speaker.clone(),
                start_ms: s.start_ms,
                end_ms: s.end_ms,
                text: s.text.clone(),
            })
            .collect();
        if let Err(e) = self
            .rt
            .block_on(self.app.add_captions(self.hearing, events))
        {
            tracing::error!(hearing = %self.hearing, error = %e, "logging captions");
        }
    }

    /// Transcribes the stretch's last open region and publishes it.
    fn finish(&self, s: Stretch<'_>, who: &str) {
        match s.engine.finish() {
            Ok(segs) => self.publish(segs, who),
            Err(e) => {
                tracing::error!(hearing = %self.hearing, error = %e, "live captions");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Decimator;

    fn tone(hz: f64, n: usize) -> Vec<i16> {
        (0..n)
            .map(|i| {
                ((2.0 * std::f64::consts::PI * hz * i as f64 / 48_000.0).sin() * 16_000.0) as i16
            })
            .collect()
    }

    fn rms(x: &[f32]) -> f32 {
        (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt()
    }

    #[test]
    fn speech_band_passes_and_what_would_alias_is_removed() {
        // fed in uneven chunks, as the room delivers them
        let mut d = Decimator::new();
        let input = tone(1_000.0, 48_000);
        let out: Vec<f32> = input.chunks(977).flat_map(|c| d.push(c)).collect();
        assert_eq!(out.len(), 16_000);
        let pass = rms(&out[100..]);
        assert!((pass - 0.345).abs() < 0.02, "1 kHz kept: rms {pass}");
        let mut d = Decimator::new();
        let out = d.push(&tone(12_000.0, 48_000));
        let stop = rms(&out[100..]);
        assert!(stop < 0.01, "12 kHz would alias to 4 kHz: rms {stop}");
    }
}
