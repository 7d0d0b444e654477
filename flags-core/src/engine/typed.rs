//! Typed forms of context values (numbers, semantic versions), parsed on
//! first use and kept beside the text, so a context evaluated against many
//! flags parses each value once. Parsing is the costly part of a numeric or
//! semver constraint; the comparison itself is a few instructions.

use std::sync::OnceLock;

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
