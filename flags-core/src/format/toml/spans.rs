//! Span bookkeeping: which TOML key (and which bytes of the text) each
//! model field came from, so errors found later, by the engine, on the model
//! (`strategies[0].parameters.rollout`) point at what the user wrote
//! (`rollout`, line 3, column 11).

use std::collections::HashMap;
use std::ops::Range;

use super::node::line_col;
use crate::error::LoadError;

/// Where a model field came from: the TOML path the user wrote and its span.
///
/// ```
/// use flags_core::format::toml;
///
/// // An admin write's body: the engine's complaint about the model's
/// // `strategies[0].parameters.rollout` is reported at the key written.
/// let text = r#"{"rollout": 20, "when": {"plan": "pro"}}"#;
/// let (_, spans) = toml::feature_from_json_spans("a", text, &[], "admin api").unwrap();
/// let (key, _span) = spans.locate("a", "strategies[0].parameters.rollout").unwrap();
/// assert_eq!(key, "rollout");
/// assert!(spans.locate("b", "strategies[0]").is_none());
/// ```
#[derive(Debug, Clone, Default)]
pub struct SpanMap {
    /// (flag, model path) → origin.
    entries: HashMap<(String, String), Origin>,
}

/// The TOML path a model field came from, and its span in the text.
pub(crate) type Origin = (String, Option<Range<usize>>);

impl SpanMap {
    pub(super) fn record(
        &mut self,
        flag: &str,
        model: String,
        toml: &str,
        span: Option<Range<usize>>,
    ) {
        self.entries
            .insert((flag.to_owned(), model), (toml.to_owned(), span));
    }

    /// The TOML path and span recorded for the longest prefix of `model`.
    pub fn locate(&self, flag: &str, model: &str) -> Option<&(String, Option<Range<usize>>)> {
        let mut end = model.len();
        loop {
            let key = (flag.to_owned(), model[..end].to_owned());
            if let Some(found) = self.entries.get(&key) {
                return Some(found);
            }
            end = model[..end].rfind(['.', '['])?;
        }
    }

    /// An engine error, which names a model path
    /// (`strategies[0].parameters.rollout`), pointed back at what the user
    /// wrote in `text`.
    pub(super) fn point_back(&self, mut e: LoadError, text: &str) -> LoadError {
        let found = match (&e.flag, &e.field) {
            (Some(flag), Some(field)) => self.locate(flag, field),
            (Some(flag), None) => self.locate(flag, "name"),
            _ => None,
        };
        if let Some((path, span)) = found {
            if !path.is_empty() {
                e.field = Some(path.clone());
            }
            if let Some(span) = span {
                let (line, col) = line_col(text, span.start);
                e = e.at(line, col);
            }
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_falls_back_to_the_longest_recorded_prefix() {
        let mut spans = SpanMap::default();
        spans.record("f", "strategies[0]".into(), "rules[0]", Some(10..20));
        spans.record(
            "f",
            "strategies[0].parameters".into(),
            "rules[0].rollout",
            None,
        );
        let found = |model| spans.locate("f", model).map(|(p, _)| p.as_str());
        assert_eq!(
            found("strategies[0].parameters.rollout"),
            Some("rules[0].rollout")
        );
        assert_eq!(found("strategies[0].constraints[1]"), Some("rules[0]"));
        assert_eq!(found("variants"), None);
        assert_eq!(spans.locate("g", "strategies[0]"), None);
    }
}
