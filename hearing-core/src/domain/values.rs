//! Validated values: once parsed at the edge, an invalid one cannot exist.
use std::fmt;

use crate::error::CoreError;

fn clean(field: &'static str, s: &str, min: usize, max: usize) -> Result<String, CoreError> {
    let t = s.trim();
    let n = t.chars().count();
    if n < min {
        return Err(if n == 0 {
            CoreError::invalid(field, "is required")
        } else {
            CoreError::invalid(field, format!("must be at least {min} characters"))
        });
    }
    if n > max {
        return Err(CoreError::invalid(
            field,
            format!("is {n} characters, the limit is {max}"),
        ));
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(CoreError::invalid(field, "contains control characters"));
    }
    Ok(t.to_string())
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $min:expr, $max:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn parse(field: &'static str, s: &str) -> Result<Self, CoreError> {
                clean(field, s, $min, $max).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_type!(
    /// A person's name as shown to everyone in the hearing and in the transcript.
    DisplayName, 1, 120
);
text_type!(
    /// A case's or hearing's title.
    Title, 1, 300
);
text_type!(
    /// Why something happened (going off the record, a removal, an adjournment).
    Reason, 1, 500
);
text_type!(
    /// A clerk's or judge's log note.
    NoteText, 1, 4000
);
text_type!(
    /// The court's message to the waiting room ("we start at 10:15").
    WaitingRoomText, 1, 500
);

impl Reason {
    /// An optional reason: empty input gives `None`.
    pub fn parse_optional(field: &'static str, s: &str) -> Result<Option<Self>, CoreError> {
        if s.trim().is_empty() {
            Ok(None)
        } else {
            Self::parse(field, s).map(Some)
        }
    }
}

/// A court's case number, e.g. `(2026)京0105民初1234号` or `CV-2026-000123`: unique per court.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CaseNumber(String);

impl CaseNumber {
    pub fn parse(field: &'static str, s: &str) -> Result<Self, CoreError> {
        let t = clean(field, s, 1, 64)?;
        if t.chars().any(char::is_whitespace) {
            return Err(CoreError::invalid(field, "must not contain spaces"));
        }
        Ok(Self(t))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A staff login name: 3–64 of `a-z 0-9 . _ -`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub fn parse(field: &'static str, s: &str) -> Result<Self, CoreError> {
        let t = s.trim();
        let ok = (3..=64).contains(&t.len())
            && t.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
        if ok {
            Ok(Self(t.to_string()))
        } else if t.is_empty() {
            Err(CoreError::invalid(field, "is required"))
        } else {
            Err(CoreError::invalid(
                field,
                "must be 3-64 characters of a-z, 0-9, '.', '_' or '-'",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_reject_empty_oversized_and_control_characters() {
        let err = |r: Result<String, CoreError>| r.unwrap_err().to_string();
        let name = |s: &str| DisplayName::parse("display_name", s).map(|v| v.to_string());
        assert_eq!(err(name("  ")), "display_name: is required");
        assert_eq!(
            err(name(&"x".repeat(121))),
            "display_name: is 121 characters, the limit is 120"
        );
        assert_eq!(name(&"x".repeat(120)).unwrap().chars().count(), 120);
        assert_eq!(
            err(name("a\u{0}b")),
            "display_name: contains control characters"
        );
        assert_eq!(name(" 王法官 ").unwrap(), "王法官");
        // the minimum is one character, and one is enough
        assert_eq!(name("王").unwrap(), "王");
        let case = |s: &str| CaseNumber::parse("case_number", s).map(|v| v.as_str().to_string());
        assert_eq!(err(case("CV 1")), "case_number: must not contain spaces");
        assert_eq!(
            case("(2026)京0105民初1234号").unwrap(),
            "(2026)京0105民初1234号"
        );
        let user = |s: &str| Username::parse("username", s).map(|v| v.as_str().to_string());
        assert_eq!(
            err(user("Judge")),
            "username: must be 3-64 characters of a-z, 0-9, '.', '_' or '-'"
        );
        assert_eq!(err(user("  ")), "username: is required");
        assert_eq!(user(" judge.wang ").unwrap(), "judge.wang");
        let err = Title::parse("title", "").unwrap_err().to_string();
        assert_eq!(err, "title: is required");
        let reason = |s: &str| {
            Reason::parse_optional("reason", s).map(|r| r.map(|r| r.as_str().to_string()))
        };
        assert_eq!(reason(" ").unwrap(), None);
        assert_eq!(reason(" recess ").unwrap().as_deref(), Some("recess"));
        assert_eq!(
            reason("a\u{7}b").unwrap_err().to_string(),
            "reason: contains control characters"
        );
    }
}
