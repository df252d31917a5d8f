//! Live transcription of one growing track: chunks go in as they arrive, and each time the VAD
//! sees a speech region end, that region is transcribed and its segments come out final. A
//! hearing's transcript is then complete seconds after the last word.
use crate::clip::Source;
use crate::engine::{Engine, Language, Session};
use crate::error::Result;
use crate::transcript::Segment;
use crate::vad::{Scanner, Speech, VadParams};

/// One participant's live track.
pub struct Incremental<'e> {
    session: Session<'e>,
    scanner: Scanner,
    label: String,
    offset_ms: u64,
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
            scanner: Scanner::new(vad),
            label: label.to_owned(),
            offset_ms,
        })
    }

    /// Feeds 16 kHz mono samples; returns the segments (on the hearing clock) of every speech
    /// region that ended within them.
    pub fn push(&mut self, chunk: &[f32]) -> Result<Vec<Segment>> {
        let speech = self.scanner.push(chunk);
        self.transcribe(&speech)
    }

    /// Ends the track: the last open region, if any, is transcribed.
    pub fn finish(mut self) -> Result<Vec<Segment>> {
        let scanner = std::mem::replace(&mut self.scanner, Scanner::new(VadParams::default()));
        let (speech, _) = scanner.finish();
        self.transcribe(&speech)
    }

    fn transcribe(&mut self, speech: &[Speech]) -> Result<Vec<Segment>> {
        let mut out = Vec::new();
        // One region at a time: each is final as soon as it has ended.
        for s in speech {
            let source = Source {
                speech: std::slice::from_ref(s),
                offset_ms: self.offset_ms,
            };
            out.extend(self.session.decode(&[source], &[self.label.as_str()])?);
        }
        Ok(out)
    }
}
