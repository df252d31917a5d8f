//! Live transcription of one growing track: chunks go in as they arrive, and each time the VAD
//! sees a speech region end, that region is transcribed and its segments come out final. A
//! hearing's transcript is then complete seconds after the last word.
use crate::audio::SAMPLE_RATE;
use crate::engine::{Engine, Language, Session};
use crate::error::Result;
use crate::transcript::Segment;
use crate::vad::{Region, Segmenter, VadParams, FRAME};

/// One participant's live track.
pub struct Incremental<'e> {
    session: Session<'e>,
    detector: earshot::Detector,
    segmenter: Segmenter,
    vad: VadParams,
    label: String,
    offset_ms: u64,
    /// Samples from `base` (an index into the whole track) up to now.
    samples: Vec<f32>,
    base: usize,
    /// Samples not yet scored (less than one VAD frame).
    pending: usize,
    pad_ms: u64,
}

impl<'e> Incremental<'e> {
    /// A track labelled `label` that starts `offset_ms` into the hearing.
    pub fn new(
        engine: &'e Engine,
        language: Language,
        threads: usize,
        label: &str,
        offset_ms: u64,
        vad: VadParams,
    ) -> Result<Self> {
        let mut session = engine.session(language, threads)?;
        session.pad_ms = vad.pad_ms;
        Ok(Incremental {
            session,
            detector: earshot::Detector::default(),
            segmenter: Segmenter::new(vad),
            vad,
            label: label.to_owned(),
            offset_ms,
            samples: Vec::new(),
            base: 0,
            pending: 0,
            pad_ms: vad.pad_ms,
        })
    }

    /// Feeds 16 kHz mono samples; returns the segments (on the hearing clock) of every speech
    /// region that ended within them.
    pub fn push(&mut self, chunk: &[f32]) -> Result<Vec<Segment>> {
        self.samples.extend_from_slice(chunk);
        self.pending += chunk.len();
        let mut out = Vec::new();
        while self.pending >= FRAME {
            let start = self.samples.len() - self.pending;
            let score = self
                .detector
                .predict_f32(&self.samples[start..start + FRAME]);
            self.pending -= FRAME;
            if let Some(r) = self.segmenter.push(score) {
                out.extend(self.transcribe(r)?);
            }
        }
        if out.is_empty() && self.segmenter_idle() {
            self.trim();
        }
        Ok(out)
    }

    /// Ends the track: the last open region, if any, is transcribed.
    pub fn finish(mut self) -> Result<Vec<Segment>> {
        if self.pending > 0 {
            let start = self.samples.len() - self.pending;
            let mut frame = [0f32; FRAME];
            frame[..self.pending].copy_from_slice(&self.samples[start..]);
            let score = self.detector.predict_f32(&frame);
            if let Some(r) = self.segmenter.push(score) {
                return Ok([self.transcribe(r)?, self.finish_open()?].concat());
            }
        }
        self.finish_open()
    }

    fn finish_open(&mut self) -> Result<Vec<Segment>> {
        match self.segmenter.finish() {
            Some(r) => self.transcribe(r),
            None => Ok(Vec::new()),
        }
    }

    fn transcribe(&mut self, r: Region) -> Result<Vec<Segment>> {
        let len_ms = (self.base + self.samples.len()) as u64 * 1000 / u64::from(SAMPLE_RATE);
        let r = Region {
            start_ms: r.start_ms,
            end_ms: r.end_ms.min(len_ms),
        };
        // The session takes times relative to the buffer; shift back to the track afterwards.
        let base_ms = self.base as u64 * 1000 / u64::from(SAMPLE_RATE);
        let local = Region {
            start_ms: r.start_ms.saturating_sub(base_ms),
            end_ms: r.end_ms.saturating_sub(base_ms),
        };
        if crate::vad::is_noise(&self.samples, local, self.vad) {
            self.trim();
            return Ok(Vec::new());
        }
        let segs = self.session.region(&self.samples, local, &self.label)?;
        self.trim();
        Ok(segs
            .into_iter()
            .map(|s| s.shifted(base_ms + self.offset_ms))
            .collect())
    }

    fn segmenter_idle(&self) -> bool {
        self.segmenter.in_speech_since().is_none()
    }

    /// Drops audio no future region can reach (older than the padding before the current
    /// position or the start of the open region), keeping the buffer bounded during silence.
    fn trim(&mut self) {
        let rate = u64::from(SAMPLE_RATE);
        let keep_from_ms = match self.segmenter.in_speech_since() {
            Some(start_ms) => start_ms.saturating_sub(self.pad_ms),
            None => self
                .segmenter
                .position_ms()
                .saturating_sub(self.pad_ms + 100),
        };
        // Whole milliseconds only, so the buffer start stays on the ms grid regions use.
        let keep_from = (keep_from_ms * rate / 1000) as usize;
        if keep_from > self.base {
            let drop = (keep_from - self.base).min(self.samples.len() - self.pending);
            let drop = drop - drop % (SAMPLE_RATE as usize / 1000);
            self.samples.drain(..drop);
            self.base += drop;
        }
    }
}
