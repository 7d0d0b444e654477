//! The reader's core: the walk over one document (or one JSON body) that
//! every section's read side extends. It gives typed access to nodes (each
//! mismatch an error naming the flag, the field path and the line and
//! column), keeps every error rather than stopping at the first, and records
//! where each model field came from ([`SpanMap`]).

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;

use super::node::{line_col, Entry, Node};
use super::spans::SpanMap;
use crate::error::LoadError;
use crate::model::Segment;

/// The walk over one document (or one JSON body).
pub(crate) struct Reader<'t> {
    source: &'t str,
    text: Option<&'t str>,
    pub(crate) errors: Vec<LoadError>,
    pub(crate) spans: SpanMap,
    /// Segment name → id, for `segments = ["internal"]`.
    pub(super) segment_ids: BTreeMap<String, u32>,
    /// The flag being read (empty for segments).
    pub(super) flag: String,
    /// Flags of the document with an error.
    pub(super) broken: HashSet<String>,
}

impl<'t> Reader<'t> {
    /// A reader of `text` (`None` for a JSON body: no lines to point at).
    pub(crate) fn new(source: &'t str, text: Option<&'t str>) -> Self {
        Reader {
            source,
            text,
            errors: Vec::new(),
            spans: SpanMap::default(),
            segment_ids: BTreeMap::new(),
            flag: String::new(),
            broken: HashSet::new(),
        }
    }

    /// Segment names flags may refer to (for reading a flag on its own).
    pub(crate) fn with_segments(mut self, segments: &[Segment]) -> Self {
        for s in segments {
            if let Some(name) = &s.name {
                self.segment_ids.insert(name.clone(), s.id);
            }
        }
        self
    }

    /// Records that model field `model` of the flag being read came from
    /// TOML path `toml`, at `span`.
    pub(super) fn mark(&mut self, model: String, toml: &str, span: Option<Range<usize>>) {
        self.spans.record(&self.flag, model, toml, span);
    }

    /// An error in the flag being read, at TOML path `path`.
    pub(super) fn error(
        &mut self,
        path: &str,
        at: Option<Range<usize>>,
        message: impl Into<String>,
    ) {
        let mut e = LoadError::new(self.source, message);
        if !self.flag.is_empty() {
            e = e.flag(self.flag.as_str());
        }
        if !path.is_empty() {
            e = e.field(path);
        }
        if let (Some(text), Some(span)) = (self.text, at) {
            let (line, col) = line_col(text, span.start);
            e = e.at(line, col);
        }
        self.errors.push(e);
    }

    /// "expected `what`, found (what `node` is)".
    pub(super) fn expected(&mut self, path: &str, node: Node<'_>, what: &str) {
        let found = node.kind();
        self.error(path, node.span(), format!("expected {what}, found {found}"));
    }

    /// A key not in `allowed`, with the closest allowed one as a hint.
    pub(super) fn unknown_key(&mut self, path: &str, e: &Entry<'_>, allowed: &[&str]) {
        let full = join(path, e.key);
        let mut msg = format!("unknown key `{}`", e.key);
        if let Some(close) = closest(e.key, allowed) {
            msg.push_str(&format!(" (did you mean `{close}`?)"));
        } else {
            msg.push_str(&format!("; expected one of: {}", allowed.join(", ")));
        }
        self.error(&full, e.key_span.clone(), msg);
    }

    pub(super) fn entries<'a>(&mut self, path: &str, node: Node<'a>) -> Option<Vec<Entry<'a>>> {
        let entries = node.entries();
        if entries.is_none() {
            self.expected(path, node, "a table");
        }
        entries
    }

    pub(super) fn string(&mut self, path: &str, node: Node<'_>) -> Option<String> {
        let s = node.as_str().map(str::to_owned);
        if s.is_none() {
            self.expected(path, node, "a string");
        }
        s
    }

    pub(super) fn boolean(&mut self, path: &str, node: Node<'_>) -> Option<bool> {
        let b = node.as_bool();
        if b.is_none() {
            self.expected(path, node, "true or false");
        }
        b
    }

    /// Any scalar, as the text Unleash stores.
    pub(super) fn scalar(&mut self, path: &str, node: Node<'_>) -> Option<String> {
        let s = node.scalar_text();
        if s.is_none() {
            self.expected(path, node, "a string, number or boolean");
        }
        s
    }

    /// An array of scalars, as the texts Unleash stores.
    pub(super) fn scalars(&mut self, path: &str, node: Node<'_>) -> Option<Vec<String>> {
        let Some(elements) = node.elements() else {
            self.expected(path, node, "an array");
            return None;
        };
        let mut out = Vec::with_capacity(elements.len());
        let mut ok = true;
        for (i, el) in elements.into_iter().enumerate() {
            match self.scalar(&format!("{path}[{i}]"), el) {
                Some(s) => out.push(s),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    pub(super) fn strings(&mut self, path: &str, node: Node<'_>) -> Option<Vec<String>> {
        let Some(elements) = node.elements() else {
            self.expected(path, node, "an array of strings");
            return None;
        };
        let mut out = Vec::with_capacity(elements.len());
        let mut ok = true;
        for (i, el) in elements.into_iter().enumerate() {
            match self.string(&format!("{path}[{i}]"), el) {
                Some(s) => out.push(s),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// A whole percentage, 0 to 100.
    pub(super) fn percent(&mut self, path: &str, node: Node<'_>) -> Option<u32> {
        match node.as_integer() {
            Some(p @ 0..=100) => Some(p as u32),
            Some(p) => {
                self.error(
                    path,
                    node.span(),
                    format!("a percentage must be between 0 and 100, got {p}"),
                );
                None
            }
            None => {
                self.expected(path, node, "a whole percentage from 0 to 100");
                None
            }
        }
    }
}

/// `path.key`, with the key quoted when it is not a bare TOML key.
pub(super) fn join(path: &str, key: &str) -> String {
    let key = if key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !key.is_empty()
    {
        key.to_owned()
    } else {
        format!("{key:?}")
    };
    if path.is_empty() {
        key
    } else {
        format!("{path}.{key}")
    }
}

/// The allowed name closest to a misspelt one, if it is close enough.
fn closest<'a>(name: &str, allowed: &[&'a str]) -> Option<&'a str> {
    allowed
        .iter()
        .map(|a| (edit_distance(name, a), *a))
        .filter(|(d, a)| *d <= 2 && *d < a.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(cur)
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keys_only() {
        let keys = ["description", "enabled", "rollout", "users"];
        assert_eq!(closest("rolout", &keys), Some("rollout"));
        assert_eq!(closest("enabeld", &keys), Some("enabled"));
        assert_eq!(closest("zzzzzz", &keys), None);
    }

    #[test]
    fn join_quotes_keys_that_are_not_bare() {
        assert_eq!(join("", "rollout"), "rollout");
        assert_eq!(join("when", "user-id"), "when.user-id");
        assert_eq!(join("when", "a b"), "when.\"a b\"");
    }
}
