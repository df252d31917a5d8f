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

    #[test]
    fn shifting_moves_the_segment_and_its_words() {
        let mut s = seg("Judge", 2000, 3000);
        s.words = vec![Word {
            start_ms: 2100,
            end_ms: 2900,
            text: "x".into(),
            p: 0.5,
        }];
        let s = s.shifted(1500);
        assert_eq!((s.start_ms, s.end_ms), (3500, 4500));
        assert_eq!((s.words[0].start_ms, s.words[0].end_ms), (3600, 4400));
    }

    /// The hash is recorded in the hearing log, so it is pinned: SHA-256 of the compact JSON
    /// `{"language":"en","model":{"name":"tiny.en","sha256":"ab"},"duration_ms":1000,
    /// "segments":[{"start_ms":0,"end_ms":1000,"speaker":"Judge","text":"x","words":[]}]}`.
    #[test]
    fn the_transcript_hash_is_sha256_of_its_json() {
        let t = Transcript {
            language: "en".into(),
            model: ModelInfo {
                name: "tiny.en".into(),
                sha256: "ab".into(),
            },
            duration_ms: 1000,
            segments: vec![seg("Judge", 0, 1000)],
        };
        assert_eq!(
            transcript_sha256(&t),
            "cc3da516a0731ee15f5dc9b7560e67f1293630910799238600158e670f862e9d"
        );
    }
}
