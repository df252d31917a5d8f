//! Turning a search query into SQL that finds the same rows on SQLite and PostgreSQL.
//!
//! A query is split into terms at whitespace; punctuation at a term's ends is dropped ("ABC公司，"
//! is the term "abc公司"); every term must match. Case is folded for ASCII letters only, on
//! both sides and on both databases alike: SQLite's `lower()` folds only ASCII, PostgreSQL's
//! follows the collation, so it is called under `COLLATE "C"`, which folds only ASCII too.
//! `%`, `_` and `\` inside a term match themselves.
use super::Backend;

/// The terms of `query`, ASCII-lowercased, without punctuation at their ends.
pub fn search_terms(query: &str) -> Vec<String> {
    query
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_ascii_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// A `LIKE … ESCAPE '\'` pattern matching `term` anywhere.
pub(crate) fn like_pattern(term: &str) -> String {
    let mut p = String::with_capacity(term.len() + 2);
    p.push('%');
    for c in term.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// Whether `s` has Chinese (CJK) characters, which neither full-text index splits into words.
pub(crate) fn has_cjk(s: &str) -> bool {
    s.chars()
        .any(|c| matches!(c as u32, 0x3400..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F))
}

/// FTS5 query: each term quoted, all required.
pub(crate) fn fts5_query(terms: &[String]) -> String {
    terms
        .iter()
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ")
}

impl Backend {
    /// `expr` with ASCII letters lowercased and nothing else changed, the same on both databases.
    pub(crate) fn ascii_lower(self, expr: &str) -> String {
        match self {
            Backend::Sqlite => format!("LOWER({expr})"),
            Backend::Postgres => format!("LOWER({expr} COLLATE \"C\")"),
        }
    }

    /// SQL that is true when every term's pattern (bound as `$first`, `$first + 1`, …) matches
    /// one of `columns`; true when there are no terms.
    pub(crate) fn all_terms_like(self, columns: &[&str], terms: usize, first: usize) -> String {
        if terms == 0 {
            return "1 = 1".into();
        }
        (first..first + terms)
            .map(|n| {
                let any = columns
                    .iter()
                    .map(|c| format!("{} LIKE ${n} ESCAPE '\\'", self.ascii_lower(c)))
                    .collect::<Vec<_>>()
                    .join(" OR ");
                format!("({any})")
            })
            .collect::<Vec<_>>()
            .join(" AND ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_drop_end_punctuation_and_fold_ascii_only() {
        assert_eq!(
            search_terms("  ABC公司， “Harbour” Shipping-Co. É 。 "),
            ["abc公司", "harbour", "shipping-co", "É"]
        );
        assert_eq!(search_terms("，。 ... !"), Vec::<String>::new());
    }

    #[test]
    fn like_metacharacters_match_themselves() {
        assert_eq!(like_pattern(r"50%_a\b"), r"%50\%\_a\\b%");
    }

    #[test]
    fn every_term_must_match_one_column() {
        assert_eq!(
            Backend::Postgres.all_terms_like(&["a", "b"], 2, 8),
            "(LOWER(a COLLATE \"C\") LIKE $8 ESCAPE '\\' OR LOWER(b COLLATE \"C\") LIKE $8 ESCAPE '\\') \
             AND (LOWER(a COLLATE \"C\") LIKE $9 ESCAPE '\\' OR LOWER(b COLLATE \"C\") LIKE $9 ESCAPE '\\')"
        );
        assert_eq!(Backend::Sqlite.all_terms_like(&["a"], 0, 1), "1 = 1");
    }
}
