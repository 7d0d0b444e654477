//! Typed forms of context values, shared by the context and the engine:
//! numbers and semantic versions are parsed on first use and kept beside the text, so a context evaluated against many
//! flags parses each value once. Parsing is the costly part of a numeric or
//! semver constraint; the comparison itself is a few instructions. Dates
//! ([`parse_date`]) are parsed once, when the context's time is set.

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use semver::Version;

/// The typed forms of one context value, filled in on first use.
///
/// Cloning copies what is already parsed; equality ignores it (it follows
/// from the text).
#[derive(Clone, Default)]
pub(crate) struct Typed {
    number: OnceLock<Option<f64>>,
    semver: OnceLock<Option<Version>>,
}

impl Typed {
    /// `text` (the value this cache belongs to) as a finite number.
    #[inline]
    pub(crate) fn number(&self, text: &str) -> Option<f64> {
        *self.number.get_or_init(|| parse_number(text))
    }

    /// `text` (the value this cache belongs to) as a semantic version.
    #[inline]
    pub(crate) fn semver(&self, text: &str) -> Option<&Version> {
        self.semver.get_or_init(|| parse_semver(text)).as_ref()
    }
}

impl PartialEq for Typed {
    fn eq(&self, _: &Typed) -> bool {
        true
    }
}

impl std::fmt::Debug for Typed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Typed").finish_non_exhaustive()
    }
}

/// A number as NUM_* constraints read it: trimmed, finite.
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// A semantic version as SEMVER_* constraints read it: trimmed, strict.
pub(crate) fn parse_semver(text: &str) -> Option<Version> {
    Version::parse(text.trim()).ok()
}

/// Parses the date forms Unleash servers and users write: RFC 3339 with or
/// without fractional seconds, a naive date-time taken as UTC, or a bare date.
pub(crate) fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(text, fmt) {
            return Some(naive.and_utc());
        }
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_once_and_keeps_the_result() {
        let typed = Typed::default();
        assert_eq!(typed.number(" 42 "), Some(42.0));
        // The cache belongs to one value: a later text is not looked at.
        assert_eq!(typed.number("7"), Some(42.0));
        assert_eq!(
            typed.semver("1.2.3-rc.1"),
            Version::parse("1.2.3-rc.1").ok().as_ref()
        );
        assert_eq!(Typed::default().number("inf"), None);
        assert_eq!(Typed::default().number("x"), None);
        assert_eq!(Typed::default().semver("1.2"), None);
        let copy = typed.clone();
        assert_eq!(copy.number("ignored"), Some(42.0));
    }
}
