//! How well a stored transcript carries what was said, for the end-to-end tests: word error
//! rates (case and punctuation ignored, words aligned by edit distance; see
//! `transcriber::accuracy`) per phrase, and summed over phrases for an overall rate.
use opencourt_proto::v1 as pb;
pub use transcriber::accuracy::{edit_distance, piece_errors, wer, words};

/// Word errors against a number of reference words, to sum over phrases.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub errors: usize,
    pub words: usize,
}

impl Tally {
    /// The errors of `hypothesis` against all of `reference`.
    pub fn of(reference: &str, hypothesis: &str) -> Tally {
        let (r, h) = (words(reference), words(hypothesis));
        Tally {
            errors: edit_distance(&r, &h),
            words: r.len(),
        }
    }

    /// The errors of `hypothesis` against the stretch of `reference` it matches (speech cut
    /// off at either end, see [`piece_errors`]).
    pub fn of_piece(reference: &str, hypothesis: &str) -> Tally {
        let (errors, words) = piece_errors(reference, hypothesis);
        Tally { errors, words }
    }

    pub fn rate(self) -> f64 {
        self.errors as f64 / self.words.max(1) as f64
    }
}

impl std::ops::Add for Tally {
    type Output = Tally;

    fn add(self, o: Tally) -> Tally {
        Tally {
            errors: self.errors + o.errors,
            words: self.words + o.words,
        }
    }
}

impl std::iter::Sum for Tally {
    fn sum<I: Iterator<Item = Tally>>(iter: I) -> Tally {
        iter.fold(Tally::default(), |a, b| a + b)
    }
}

/// One stretch of a speaker's speech in a transcript: segments less than a pause apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Utterance {
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
}

/// `speaker`'s segments joined into utterances wherever less than `pause_ms` separates them.
pub fn utterances(t: &pb::Transcript, speaker: &str, pause_ms: u64) -> Vec<Utterance> {
    let mut out: Vec<Utterance> = Vec::new();
    for s in t.segments.iter().filter(|s| s.speaker == speaker) {
        match out.last_mut() {
            Some(u) if s.start_ms < u.end_ms + pause_ms => {
                u.end_ms = u.end_ms.max(s.end_ms);
                u.text.push(' ');
                u.text.push_str(&s.text);
            }
            _ => out.push(Utterance {
                start_ms: s.start_ms,
                end_ms: s.end_ms,
                text: s.text.clone(),
            }),
        }
    }
    out
}

/// Whether the words of `part` appear in `whole` in the same order (others may come between).
pub fn words_in_order(part: &str, whole: &str) -> bool {
    let whole = words(whole);
    let mut rest = whole.iter();
    words(part).iter().all(|w| rest.any(|x| x == w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(start_ms: u64, end_ms: u64, speaker: &str, text: &str) -> pb::TranscriptSegment {
        pb::TranscriptSegment {
            start_ms,
            end_ms,
            speaker: speaker.into(),
            text: text.into(),
            words: vec![],
        }
    }

    #[test]
    fn tallies_sum_errors_over_reference_words() {
        let t = Tally::of("the court is in session", "the court in session")
            + Tally::of("please be seated", "please be seated");
        assert_eq!(
            t,
            Tally {
                errors: 1,
                words: 8
            }
        );
        assert!((t.rate() - 0.125).abs() < 1e-9);
        assert_eq!(
            Tally::of_piece("I saw the ship leave", "ship leave"),
            Tally {
                errors: 0,
                words: 2
            }
        );
    }

    #[test]
    fn segments_join_into_utterances_at_pauses() {
        let t = pb::Transcript {
            segments: vec![
                seg(0, 1000, "A", "I saw"),
                seg(1200, 2000, "A", "the ship."),
                seg(1500, 2500, "B", "Objection."),
                seg(5000, 6000, "A", "Again."),
            ],
            ..Default::default()
        };
        let u = utterances(&t, "A", 1000);
        let got: Vec<_> = u
            .iter()
            .map(|u| (u.start_ms, u.end_ms, u.text.as_str()))
            .collect();
        assert_eq!(got, [(0, 2000, "I saw the ship."), (5000, 6000, "Again.")]);
    }

    #[test]
    fn words_in_order_ignores_what_comes_between() {
        assert!(words_in_order(
            "saw the ship",
            "WITNESS SUN: I saw the big ship."
        ));
        assert!(!words_in_order("ship saw", "I saw the ship"));
        assert!(!words_in_order("shipping", "the ship"));
    }
}
