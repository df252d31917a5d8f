//! From Whisper's tokens to the transcript's words: grouping, times, Chinese script, and the
//! filters that drop what nobody said.
use crate::transcript::Word;
/// The text tokens of a segment (special and timestamp tokens skipped) with their times in ms
/// from the clip start, and their mean log-probability.
pub(super) fn pieces_of(seg: &whisper_rs::WhisperSegment<'_>, eot: i32) -> (Vec<Piece>, f32) {
    let mut pieces = Vec::new();
    let mut logprob_sum = 0.0;
    for i in 0..seg.n_tokens() {
        let Some(tok) = seg.get_token(i) else {
            continue;
        };
        let data = tok.token_data();
        if data.id >= eot {
            continue;
        }
        logprob_sum += data.plog;
        // DTW time when the model has alignment heads, else whisper's token estimate.
        let t = if data.t_dtw >= 0 { data.t_dtw } else { data.t0 };
        pieces.push(Piece {
            bytes: tok.to_bytes().unwrap_or_default().to_vec(),
            t_ms: (t.max(0) as u64) * 10,
            t1_ms: (data.t1.max(0) as u64) * 10,
            p: data.p,
        });
    }
    let mean = logprob_sum / pieces.len().max(1) as f32;
    (pieces, mean)
}

/// One text token with its time (ms from the region start).
pub(super) struct Piece {
    bytes: Vec<u8>,
    t_ms: u64,
    t1_ms: u64,
    p: f32,
}

/// Groups tokens into words: a token that starts with a space starts a word (Chinese: each
/// complete UTF-8 run of tokens is a word). A word ends where the next begins; the last ends at
/// the segment end. Words that are only punctuation are attached to the previous word.
pub(super) fn words_from_pieces(
    pieces: &[Piece],
    seg_end_ms: u64,
    end_cap_ms: u64,
    chinese: bool,
) -> Vec<Word> {
    struct Acc {
        bytes: Vec<u8>,
        start: u64,
        t1: u64,
        ps: Vec<f32>,
    }
    let mut groups: Vec<Acc> = Vec::new();
    for p in pieces {
        let starts_word = match groups.last() {
            None => true,
            Some(g) => {
                let complete = std::str::from_utf8(&g.bytes).is_ok();
                let punct_only = std::str::from_utf8(&p.bytes)
                    .map(|s| {
                        !s.is_empty()
                            && s.chars()
                                .all(|c| c.is_ascii_punctuation() || is_cjk_punct(c))
                    })
                    .unwrap_or(false);
                complete && !punct_only && (p.bytes.first() == Some(&b' ') || chinese)
            }
        };
        if starts_word {
            groups.push(Acc {
                bytes: Vec::new(),
                start: p.t_ms,
                t1: p.t1_ms,
                ps: Vec::new(),
            });
        }
        let g = groups.last_mut().expect("a group exists");
        g.bytes.extend_from_slice(&p.bytes);
        g.t1 = g.t1.max(p.t1_ms);
        g.ps.push(p.p);
    }
    let mut words = Vec::new();
    for (i, g) in groups.iter().enumerate() {
        let text = String::from_utf8_lossy(&g.bytes).trim().to_owned();
        if text.is_empty() {
            continue;
        }
        let text = if chinese { to_simplified(&text) } else { text };
        let start = g.start.min(end_cap_ms.saturating_sub(1));
        // The last word ends at the segment's end, or later where whisper's older token timing
        // (on only for models without DTW) puts it, within the segment's region.
        let next = groups
            .get(i + 1)
            .map(|n| n.start)
            .unwrap_or(g.t1.max(seg_end_ms));
        let end = next.min(end_cap_ms).max(start + 1);
        let p = g.ps.iter().sum::<f32>() / g.ps.len() as f32;
        words.push(Word {
            start_ms: start,
            end_ms: end,
            text,
            p,
        });
    }
    // DTW times are monotonic in practice; enforce it so a word never starts before the last.
    for i in 1..words.len() {
        if words[i].start_ms < words[i - 1].start_ms {
            words[i].start_ms = words[i - 1].start_ms;
            words[i].end_ms = words[i].end_ms.max(words[i].start_ms + 1);
        }
    }
    words
}

/// Whisper's inventions on noise (e.g. "This is the end of the video.") come with word times
/// that collapse onto one instant: the alignment found no audio for them. Real speech has words
/// of some length, so a segment of 3 or more words, most of them 20 ms or shorter, is dropped.
pub(super) fn collapsed(words: &[Word]) -> bool {
    let short = words.iter().filter(|w| w.end_ms - w.start_ms <= 20).count();
    words.len() >= 3 && short * 2 > words.len()
}

/// A segment with no letter or digit in it: Whisper's "♪♪♪" on a tone or music, or lone
/// punctuation. Nobody said it, so it is not transcript.
pub(super) fn only_symbols(words: &[Word]) -> bool {
    !words
        .iter()
        .any(|w| w.text.chars().any(char::is_alphanumeric))
}

fn is_cjk_punct(c: char) -> bool {
    matches!(
        c,
        '，' | '。' | '？' | '！' | '、' | '：' | '；' | '“' | '”' | '（' | '）'
    )
}

pub(super) fn join_words(words: &[Word], chinese: bool) -> String {
    let sep = if chinese { "" } else { " " };
    words
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(sep)
}

/// Whisper often writes Chinese in traditional characters; courts here want simplified.
pub fn to_simplified(text: &str) -> String {
    zhconv::zhconv(text, zhconv::Variant::ZhHans)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(s: &str, t: u64) -> Piece {
        Piece {
            bytes: s.as_bytes().to_vec(),
            t_ms: t,
            t1_ms: t + 50,
            p: 0.5,
        }
    }

    #[test]
    fn tokens_group_into_words_with_times() {
        let p = [
            piece(" Good", 0),
            piece(" morn", 300),
            piece("ing", 450),
            piece(",", 600),
            piece(" all", 700),
        ];
        let w = words_from_pieces(&p, 900, 1000, false);
        let got: Vec<_> = w
            .iter()
            .map(|w| (w.text.as_str(), w.start_ms, w.end_ms))
            .collect();
        assert_eq!(
            got,
            [("Good", 0, 300), ("morning,", 300, 700), ("all", 700, 900)]
        );
    }

    #[test]
    fn a_segment_of_symbols_is_not_speech() {
        let w = |text: &str| Word {
            start_ms: 0,
            end_ms: 500,
            text: text.into(),
            p: 0.5,
        };
        assert!(only_symbols(&[w("♪♪♪")]));
        assert!(only_symbols(&[w("♪"), w("...")]));
        assert!(!only_symbols(&[w("♪"), w("Order!")]));
        assert!(!only_symbols(&[w("法庭。")]));
        assert!(!only_symbols(&[w("2026")]));
    }

    #[test]
    fn words_without_duration_are_an_invention() {
        let w = |start_ms, end_ms| Word {
            start_ms,
            end_ms,
            text: "w".into(),
            p: 0.5,
        };
        let invented = [
            w(700, 12_464),
            w(12_464, 12_465),
            w(12_464, 12_465),
            w(12_464, 12_465),
        ];
        assert!(collapsed(&invented));
        let spoken = [w(0, 300), w(300, 700), w(700, 710), w(710, 1000)];
        assert!(!collapsed(&spoken));
        assert!(
            !collapsed(&invented[2..]),
            "one or two words are too few to judge"
        );
    }

    #[test]
    fn chinese_is_simplified_and_split_utf8_is_joined() {
        let bytes = "說".as_bytes();
        let p = [
            Piece {
                bytes: bytes[..1].to_vec(),
                t_ms: 0,
                t1_ms: 10,
                p: 1.0,
            },
            Piece {
                bytes: bytes[1..].to_vec(),
                t_ms: 10,
                t1_ms: 20,
                p: 1.0,
            },
            piece("話", 200),
        ];
        let w = words_from_pieces(&p, 500, 500, true);
        let got: Vec<_> = w.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(got, ["说", "话"]);
        assert_eq!(to_simplified("法院開庭"), "法院开庭");
    }
}
