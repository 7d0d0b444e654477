//! Dependencies: `requires`, the parent flags that must be on (or off, or
//! on with given variants) for a flag to be on.
//!
//! ```toml
//! requires = "parent"
//! requires = ["a", { flag = "b", enabled = false }, { flag = "exp", variants = ["blue"] }]
//! ```
//!
//! Only the shape is read here. Whether each parent exists, cycles and
//! Unleash's one level are checked once, by the engine, for every source;
//! its errors come back to the `requires` entry through the span map.

use toml_edit::{InlineTable, Value};

use super::node::Node;
use super::reader::{join, Reader};
use crate::model::Dependency;

/// Keys of a `{ flag = .. }` requirement.
const REQUIREMENT_KEYS: &[&str] = &["flag", "enabled", "variants"];

impl Reader<'_> {
    /// `requires = "parent"` or `requires = ["a", { flag = "b", enabled = false }]`.
    pub(super) fn requires(&mut self, path: &str, node: Node<'_>) -> Option<Vec<Dependency>> {
        let items: Vec<Node<'_>> = match node {
            Node::Array(_) | Node::Tables(_) => node.elements().unwrap_or_default(),
            _ => vec![node],
        };
        let single = !matches!(node, Node::Array(_) | Node::Tables(_));
        let mut out = Vec::new();
        let mut ok = true;
        for (i, el) in items.into_iter().enumerate() {
            let p = if single {
                path.to_owned()
            } else {
                format!("{path}[{i}]")
            };
            self.mark(format!("dependencies[{i}]"), &p, el.span());
            if let Some(name) = el.as_str() {
                out.push(Dependency {
                    feature: name.to_owned(),
                    enabled: None,
                    variants: None,
                });
                continue;
            }
            let Some(entries) = el.entries() else {
                self.expected(
                    &p,
                    el,
                    "a flag name or { flag = \"..\", enabled = .., variants = [..] }",
                );
                ok = false;
                continue;
            };
            let mut d = Dependency::default();
            let mut has_flag = false;
            for e in &entries {
                let q = join(&p, e.key);
                match e.key {
                    "flag" => {
                        has_flag = true;
                        d.feature = self.string(&q, e.node).unwrap_or_default();
                    }
                    "enabled" => d.enabled = self.boolean(&q, e.node),
                    "variants" => d.variants = self.strings(&q, e.node),
                    _ => {
                        self.unknown_key(&p, e, REQUIREMENT_KEYS);
                        ok = false;
                    }
                }
            }
            if !has_flag {
                self.error(
                    &p,
                    el.span(),
                    "a requirement needs `flag` (the parent's name)",
                );
                ok = false;
            }
            out.push(d);
        }
        ok.then_some(out)
    }
}

/// `requires = ..`: a bare name when there is one plain parent.
pub(super) fn requires_value(deps: &[Dependency]) -> Value {
    let simple = |d: &Dependency| d.enabled.is_none() && d.variants.is_none();
    if let [d] = deps {
        if simple(d) {
            return Value::from(d.feature.as_str());
        }
    }
    Value::Array(
        deps.iter()
            .map(|d| {
                if simple(d) {
                    return Value::from(d.feature.as_str());
                }
                let mut t = InlineTable::new();
                t.insert("flag", d.feature.as_str().into());
                if let Some(e) = d.enabled {
                    t.insert("enabled", e.into());
                }
                if let Some(vs) = &d.variants {
                    t.insert(
                        "variants",
                        Value::Array(vs.iter().map(|v| Value::from(v.as_str())).collect()),
                    );
                }
                Value::InlineTable(t)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_errors, errors, round_trip};

    #[test]
    fn requirements_round_trip() {
        round_trip("[p]\n[c]\nrequires = \"p\"\n", &["requires = \"p\""]);
        round_trip(
            "[p]\n[q]\nvariants = [\"blue\", \"green\"]\n[c]\nrequires = [\"p\", { flag = \"q\", variants = [\"blue\"] }, { flag = \"p\", enabled = false }]\n",
            &["requires = [\"p\", { flag = \"q\", variants = [\"blue\"] }, { flag = \"p\", enabled = false }]"],
        );
    }

    #[test]
    fn bad_requirements_name_flag_field_line_and_column() {
        assert_errors(&[
            (
                "[f]\nrequires = \"nope\"\n",
                &["flags.toml:2:12: flag `f`, field `requires`: unknown parent flag `nope`"],
            ),
            (
                "[a]\nrequires = \"b\"\n[b]\nrequires = \"c\"\n[c]\nrequires = \"a\"\n",
                &["flags.toml:2:12: flag `a`, field `requires`: dependency cycle: a -> b -> c -> a"],
            ),
            (
                "[a]\nrequires = \"a\"\n",
                &["flags.toml:2:12: flag `a`, field `requires`: a flag cannot depend on itself"],
            ),
            (
                "[p]\n[f]\nrequires = [\"p\", { flg = \"p\" }]\n",
                &["flags.toml:3:20: flag `f`, field `requires[1].flg`: unknown key `flg` (did you mean `flag`?)"],
            ),
        ]);
    }

    #[test]
    fn engine_errors_point_at_the_toml() {
        // Unleash allows one level of dependencies; the engine checks that.
        let got = errors("[a]\n[b]\nrequires = \"a\"\n[c]\nrequires = \"b\"\n");
        assert_eq!(got.len(), 1, "{got:#?}");
        assert!(
            got[0].starts_with("flags.toml:5:12: flag `c`, field `requires`"),
            "{}",
            got[0]
        );
    }

    /// Issue 13 item 7: a flag with an error still takes part in the
    /// dependency check, so a cycle through it is reported, and its name is
    /// no "unknown parent".
    #[test]
    fn a_cycle_through_a_broken_flag_is_reported_with_the_other_error() {
        let got = errors("[x]\nrequires = \"y\"\n\n[y]\nrollout = 150\nrequires = \"x\"\n");
        assert_eq!(
            got,
            [
                "flags.toml:2:12: flag `x`, field `requires`: dependency cycle: x -> y -> x",
                "flags.toml:5:11: flag `y`, field `rollout`: a percentage must be between 0 and 100, got 150",
            ],
            "{got:#?}"
        );
    }

    /// A requirement on a flag that has an error is not reported again.
    #[test]
    fn a_broken_parent_is_reported_once() {
        let got = errors("[p]\nrollout = \"x\"\n[c]\nrequires = \"p\"\n");
        assert_eq!(got.len(), 1, "{got:#?}");
        assert!(got[0].contains("flag `p`, field `rollout`"), "{got:#?}");
    }
}
