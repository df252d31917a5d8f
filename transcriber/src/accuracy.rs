//! Word and character error rates of a transcript against what was really said: the measure
//! every accuracy bound in the tests and the benchmarks is written in.
//!
//! Both texts are normalised first (lower case, punctuation dropped, British spellings that
//! Whisper writes for American ones folded), then aligned word by word (Chinese character by
//! character) with the Levenshtein distance: substitutions, deletions and insertions each count
//! one error, over the length of the reference.

/// British spellings Whisper writes for the scripts' American ones (and back); both sides are
/// folded to the American.
const SPELLINGS: &[(&str, &str)] = &[
    ("harbour", "harbor"),
    ("honour", "honor"),
    ("colour", "color"),
    ("behaviour", "behavior"),
    ("defence", "defense"),
    ("favour", "favor"),
];

/// The words of `text` as they are compared: lower case, without punctuation (an apostrophe
/// inside a word stays), British spellings folded to American.
pub fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '\'' {
                c
            } else {
                ' '
            }
        })
        .collect::<String>()
        .split_whitespace()
        .map(|w| w.trim_matches('\''))
        .filter(|w| !w.is_empty())
        .map(|w| {
            SPELLINGS
                .iter()
                .find(|(gb, _)| *gb == w)
                .map_or(w, |(_, us)| us)
                .to_owned()
        })
        .collect()
}

/// The characters of `text` that count for a character error rate: letters and digits.
fn chars(text: &str) -> Vec<char> {
    text.chars().filter(|c| c.is_alphanumeric()).collect()
}

/// Levenshtein distance between two sequences.
pub fn edit_distance<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut cur = vec![i + 1];
        for (j, y) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(x != y))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Word error rate of `hypothesis` against `reference`. An empty reference gives the number of
/// words the hypothesis invented.
pub fn wer(reference: &str, hypothesis: &str) -> f64 {
    let (r, h) = (words(reference), words(hypothesis));
    edit_distance(&r, &h) as f64 / r.len().max(1) as f64
}

/// Character error rate over letters and digits (for Chinese, where words are not spaced).
pub fn cer(reference: &str, hypothesis: &str) -> f64 {
    let (r, h) = (chars(reference), chars(hypothesis));
    edit_distance(&r, &h) as f64 / r.len().max(1) as f64
}

/// Errors of `hypothesis` against the stretch of `reference` it matches best, and that
/// stretch's length in words: for speech cut off at either end (a recording that started or
/// stopped mid-sentence), where the words never heard are no error but a word dropped or
/// changed in between is.
pub fn piece_errors(reference: &str, hypothesis: &str) -> (usize, usize) {
    let (r, h) = (words(reference), words(hypothesis));
    // Semi-global alignment: skipping reference words before and after the match is free.
    // prev[j] = (errors, reference words matched) aligning h[..i] to a stretch ending at r[j];
    // of equal errors, the longer stretch is kept.
    let key = |&(e, n): &(usize, usize)| (e, std::cmp::Reverse(n));
    let best = |a: [(usize, usize); 3]| a.into_iter().min_by_key(key).expect("three");
    let mut prev: Vec<(usize, usize)> = vec![(0, 0); r.len() + 1];
    for (i, hw) in h.iter().enumerate() {
        let mut cur = vec![(i + 1, 0)];
        for (j, rw) in r.iter().enumerate() {
            let (e, n) = prev[j];
            let diag = (e + usize::from(hw != rw), n + 1);
            let (e, n) = prev[j + 1];
            let insert = (e + 1, n);
            let (e, n) = cur[j];
            let delete = (e + 1, n + 1);
            cur.push(best([diag, insert, delete]));
        }
        prev = cur;
    }
    if h.is_empty() {
        return (0, 0);
    }
    prev.into_iter().min_by_key(key).unwrap_or((0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalising_ignores_case_punctuation_and_british_spelling() {
        assert_eq!(
            words("Thank you, your Honour! The harbour's ships."),
            ["thank", "you", "your", "honor", "the", "harbour's", "ships"]
        );
        assert_eq!(wer("I saw the harbor.", "i saw the Harbour"), 0.0);
    }

    #[test]
    fn each_substitution_deletion_and_insertion_is_one_error() {
        let said = "the court is now in session";
        assert_eq!(wer(said, "the court is now in session"), 0.0);
        // "ship" is not "shipping": whole words are compared.
        assert!((wer("the ship", "the shipping") - 0.5).abs() < 1e-9);
        assert!((wer(said, "the court now in session") - 1.0 / 6.0).abs() < 1e-9);
        assert!((wer(said, "the court is now in a session") - 1.0 / 6.0).abs() < 1e-9);
        assert!((wer(said, "") - 1.0).abs() < 1e-9);
        assert_eq!(wer("", ""), 0.0);
        assert_eq!(wer("", "invented words"), 2.0);
    }

    #[test]
    fn characters_count_for_chinese() {
        assert_eq!(cer("法院开庭。", "法院开庭"), 0.0);
        assert!((cer("法院开庭", "法院开") - 0.25).abs() < 1e-9);
        assert!((cer("法院开庭", "") - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_piece_of_the_sentence_is_matched_where_it_fits() {
        let said = "I saw the ship leave the harbor at dawn before the storm.";
        // cut at both ends: no error
        assert_eq!(piece_errors(said, "the ship leave the harbor"), (0, 5));
        // a word dropped inside the piece is one
        assert_eq!(piece_errors(said, "the ship the harbor at dawn"), (1, 7));
        // a changed word is one
        assert_eq!(piece_errors(said, "before the stone"), (1, 3));
        assert_eq!(piece_errors(said, ""), (0, 0));
        assert_eq!(piece_errors(said, "completely other words").0, 3);
    }
}
