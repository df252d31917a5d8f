//! The transcript as data: segments and words on the hearing clock, each naming its speaker,
//! and the merge of several tracks into one.
use serde::{Deserialize, Serialize};

/// One word (or, for Chinese, one token-sized piece) with its time and probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Word {
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
    /// Mean token probability, 0..1.
    pub p: f32,
}

/// A stretch of one speaker's speech.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub start_ms: u64,
    pub end_ms: u64,
    pub speaker: String,
    pub text: String,
    pub words: Vec<Word>,
}

impl Segment {
    /// Moves the segment and its words `offset_ms` later on the clock.
    pub fn shifted(mut self, offset_ms: u64) -> Self {
        self.start_ms += offset_ms;
        self.end_ms += offset_ms;
        for w in &mut self.words {
            w.start_ms += offset_ms;
            w.end_ms += offset_ms;
        }
        self
    }
}

/// Which weights produced a transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub name: String,
    pub sha256: String,
}

/// A whole hearing's transcript, the JSON output format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    pub language: String,
    pub model: ModelInfo,
    pub duration_ms: u64,
    pub segments: Vec<Segment>,
}

/// Puts every track's segments in time order. Overlapping speech stays as separate segments,
/// each with its own speaker; ties are broken by end time, then speaker, so the order is stable.
pub fn merge(tracks: impl IntoIterator<Item = Vec<Segment>>) -> Vec<Segment> {
    let mut all: Vec<Segment> = tracks.into_iter().flatten().collect();
    all.sort_by(|a, b| (a.start_ms, a.end_ms, &a.speaker).cmp(&(b.start_ms, b.end_ms, &b.speaker)));
    all
}

/// The hash the hearing log records for a transcript: SHA-256 over its JSON.
pub fn transcript_sha256(t: &Transcript) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(
        serde_json::to_vec(t).expect("transcripts serialise"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(speaker: &str, start_ms: u64, end_ms: u64) -> Segment {
        Segment {
            start_ms,
            end_ms,
            speaker: speaker.into(),
            text: "x".into(),
            words: vec![],
        }
    }

    #[test]
    fn merge_interleaves_and_keeps_overlaps() {
        let judge = vec![seg("Judge", 0, 3000), seg("Judge", 5000, 9000)];
        let counsel = vec![seg("Counsel", 2000, 6000).shifted(1000)];
        let m = merge([judge, counsel]);
        let order: Vec<_> = m.iter().map(|s| (s.speaker.as_str(), s.start_ms)).collect();
        assert_eq!(order, [("Judge", 0), ("Counsel", 3000), ("Judge", 5000)]);
    }
}
