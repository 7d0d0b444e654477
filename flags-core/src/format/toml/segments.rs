//! Segments: named groups of conditions at the top level, and the
//! `segments = ["internal"]` references to them in a flag or a rule.
//!
//! ```toml
//! [segments.internal]
//! when = { email = { op = "ends_with", values = ["@acme.com"] } }
//! id = 7                       # optional; numbered in the order written
//! ```

use std::collections::BTreeMap;

use toml_edit::{Item, Table, Value};

use super::node::Node;
use super::reader::{join, Reader};
use super::style::SegmentNames;
use super::when::when_value;
use crate::model::Segment;

/// The top-level table holding named segments (so no flag can be named so).
pub(super) const SEGMENTS: &str = "segments";

/// Keys of a `[segments.NAME]` table.
const SEGMENT_KEYS: &[&str] = &["when", "id"];

impl Reader<'_> {
    /// The `[segments]` table.
    pub(super) fn segments(&mut self, node: Node<'_>) -> Vec<Segment> {
        let path = SEGMENTS;
        let Some(entries) = self.entries(path, node) else {
            return Vec::new();
        };
        // Explicit ids first, then the rest numbered in order, skipping taken ids.
        let mut taken = BTreeMap::new();
        let mut parsed = Vec::new();
        for e in &entries {
            let seg_path = join(path, e.key);
            let Some(fields) = self.entries(&seg_path, e.node) else {
                continue;
            };
            let mut id = None;
            let mut constraints = Vec::new();
            for f in &fields {
                let p = join(&seg_path, f.key);
                match f.key {
                    "when" => constraints = self.when(&p, f.node, "").unwrap_or_default(),
                    "id" => match f.node.as_integer().and_then(|i| u32::try_from(i).ok()) {
                        Some(i) => {
                            if let Some(other) = taken.insert(i, e.key) {
                                self.error(
                                    &p,
                                    f.node.span(),
                                    format!("segment id {i} is already used by `{other}`"),
                                );
                            }
                            id = Some(i);
                        }
                        None => self.expected(&p, f.node, "a whole number id"),
                    },
                    _ => self.unknown_key(&seg_path, f, SEGMENT_KEYS),
                }
            }
            parsed.push((e.key, id, constraints));
        }
        let mut next = 1u32;
        let mut out = Vec::with_capacity(parsed.len());
        for (name, id, constraints) in parsed {
            let id = id.unwrap_or_else(|| {
                while taken.contains_key(&next) {
                    next += 1;
                }
                taken.insert(next, name);
                next
            });
            self.segment_ids.insert(name.to_owned(), id);
            out.push(Segment {
                id,
                name: Some(name.to_owned()),
                constraints,
            });
        }
        out
    }

    /// `segments = ["internal"]` → segment ids; `model` is the model path
    /// of the list.
    pub(super) fn segment_refs(
        &mut self,
        path: &str,
        node: Node<'_>,
        model: &str,
    ) -> Option<Vec<u32>> {
        let names = self.strings(path, node)?;
        let spans: Vec<_> = node
            .elements()
            .unwrap_or_default()
            .iter()
            .map(Node::span)
            .collect();
        let mut ids = Vec::with_capacity(names.len());
        for (j, name) in names.iter().enumerate() {
            let at = spans.get(j).cloned().flatten();
            let p = format!("{path}[{j}]");
            self.mark(format!("{model}[{j}]"), &p, at.clone());
            match self.segment_ids.get(name) {
                Some(&id) => ids.push(id),
                None => {
                    let known: Vec<&str> = self.segment_ids.keys().map(String::as_str).collect();
                    let hint = if known.is_empty() {
                        "no segments are defined (add a [segments.NAME] table)".to_owned()
                    } else {
                        format!("defined segments: {}", known.join(", "))
                    };
                    self.error(&p, at, format!("unknown segment `{name}`; {hint}"));
                }
            }
        }
        Some(ids)
    }
}

/// The name a segment is written under.
pub(super) fn segment_name(s: &Segment) -> String {
    s.name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("segment_{}", s.id))
}

/// The `[segments]` table of a document.
pub(super) fn segments_table(segments: &[Segment]) -> Table {
    let mut segs = Table::new();
    segs.set_implicit(true);
    for (i, s) in segments.iter().enumerate() {
        segs.insert(&segment_name(s), Item::Table(segment_table(s, i)));
    }
    segs
}

/// A segment's table; `id` is written unless it is the one the reader
/// would assign from the position.
pub(super) fn segment_table(s: &Segment, position: usize) -> Table {
    let mut t = Table::new();
    if !s.constraints.is_empty() {
        t.insert("when", Item::Value(when_value(&s.constraints, true)));
    }
    if usize::try_from(s.id).ok() != Some(position + 1) {
        t.insert("id", Item::Value(Value::from(i64::from(s.id))));
    }
    t
}

/// `segments = ["internal"]` for a flag or a rule.
pub(super) fn segment_refs_value(ids: &[u32], segs: &SegmentNames<'_>) -> Value {
    Value::Array(
        ids.iter()
            .map(|id| match segs.get(id) {
                Some(name) => Value::from(*name),
                // Unknown id: written as a number so the reader rejects it.
                None => Value::from(i64::from(*id)),
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::super::tests::{assert_errors, round_trip};

    #[test]
    fn segments_are_numbered_in_order_around_explicit_ids() {
        let set = parse(
            "[segments.a]\n[segments.b]\nid = 1\n[segments.c]\n\n[f]\nsegments = [\"c\", \"a\"]\n",
            "x",
        )
        .unwrap();
        let ids: Vec<(u32, &str)> = set
            .segments
            .iter()
            .map(|s| (s.id, s.name.as_deref().unwrap()))
            .collect();
        assert_eq!(ids, [(2, "a"), (1, "b"), (3, "c")]);
        assert_eq!(set.features[0].strategies[0].segments, [3, 2]);
    }

    #[test]
    fn segments_round_trip() {
        round_trip(
            "[segments.staff]\nwhen = { email = { op = \"ends_with\", values = [\"@acme.com\"] } }\nid = 4\n\n[f]\nsegments = [\"staff\"]\n",
            &["[segments.staff]", "id = 4", "segments = [\"staff\"]"],
        );
    }

    #[test]
    fn bad_segments_name_flag_field_line_and_column() {
        assert_errors(&[
            (
                "[f]\nsegments = [\"staff\"]\n",
                &["flags.toml:2:13: flag `f`, field `segments[0]`: unknown segment `staff`"],
            ),
            (
                "[segments.a]\nid = 3\n[segments.b]\nid = 3\n",
                &["flags.toml:4:6: field `segments.b.id`: segment id 3 is already used by `a`"],
            ),
            (
                "[segments.a]\nwhn = {}\n",
                &["field `segments.a.whn`: unknown key `whn` (did you mean `when`?)"],
            ),
        ]);
    }
}
