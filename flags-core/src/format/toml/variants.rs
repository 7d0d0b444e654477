//! A/B arms: `variants`, for a flag or a rule.
//!
//! ```toml
//! variants = { blue = 50, green = 50 }    # percentages that add up to 100
//! variants = ["blue", "green", "red"]     # an even split
//! [[flag.variants]]                       # payloads, stickiness, overrides
//! name = "blue"
//! weight = 20
//! payload = { type = "json", value = '{"color": "#00f"}' }
//! overrides = { userId = ["user_123"] }
//! ```
//!
//! Weights are Unleash's tenths of a percent; arms without a weight share
//! what the others leave, as Unleash splits it.

use std::collections::HashSet;

use toml_edit::{ArrayOfTables, InlineTable, Item, Value};

use super::node::Node;
use super::reader::{join, Reader};
use super::style::Style;
use crate::model::{Override, Payload, VariantDef};

/// Keys of a `[[flag.variants]]` entry.
const VARIANT_KEYS: &[&str] = &[
    "name",
    "weight",
    "weight_type",
    "stickiness",
    "payload",
    "overrides",
];

impl Reader<'_> {
    /// Variants: `{ blue = 50, green = 50 }` (percent weights that add up to
    /// 100), `["blue", "green"]` (an even split), or an array of tables.
    pub(super) fn variants(
        &mut self,
        path: &str,
        node: Node<'_>,
        model: &str,
    ) -> Option<Vec<VariantDef>> {
        self.mark(model.to_owned(), path, node.span());
        let errors_before = self.errors.len();
        let mut out: Vec<VariantDef> = Vec::new();
        let mut fixed: Vec<bool> = Vec::new();
        if let Some(entries) = node.entries() {
            for e in &entries {
                let p = join(path, e.key);
                if let Some(w) = self.weight(&p, e.node) {
                    out.push(VariantDef {
                        name: e.key.to_owned(),
                        weight: w,
                        ..VariantDef::default()
                    });
                    fixed.push(true);
                }
            }
            let total: u32 = out.iter().map(|v| v.weight).sum();
            if self.errors.len() == errors_before && total != 1000 {
                self.error(
                    path,
                    node.span(),
                    format!(
                        "variant weights add up to {}%, not 100% (leave weights out for an even split)",
                        percent_text(total)
                    ),
                );
            }
        } else if let Some(list) = node.elements() {
            for (i, el) in list.into_iter().enumerate() {
                let p = format!("{path}[{i}]");
                self.mark(format!("{model}[{i}]"), &p, el.span());
                if let Some(name) = el.as_str() {
                    out.push(VariantDef {
                        name: name.to_owned(),
                        weight_type: Some("variable".into()),
                        ..VariantDef::default()
                    });
                    fixed.push(false);
                } else if let Some((v, has_weight)) = self.variant(&p, el) {
                    out.push(v);
                    fixed.push(has_weight);
                }
            }
        } else {
            self.expected(path, node, "a table of percentages or an array of variants");
            return None;
        }
        let mut seen = std::collections::HashSet::new();
        for (i, v) in out.iter().enumerate() {
            if v.name.trim().is_empty() {
                self.error(
                    &format!("{path}[{i}]"),
                    node.span(),
                    "a variant needs a name",
                );
            } else if !seen.insert(v.name.as_str()) {
                let at = node.elements().and_then(|e| e.get(i).and_then(Node::span));
                self.error(
                    &format!("{path}[{i}].name"),
                    at.or_else(|| node.span()),
                    format!("variant `{}` is defined twice", v.name),
                );
            }
        }
        // Unleash's split: fixed weights first, the rest shared out evenly,
        // the first `remaining % n` variable variants getting one more.
        let fixed_total: u32 = out
            .iter()
            .zip(&fixed)
            .filter(|(_, f)| **f)
            .map(|(v, _)| v.weight)
            .sum();
        let n = fixed.iter().filter(|f| !**f).count() as u32;
        let remaining = 1000u32.checked_sub(fixed_total);
        if let (Some(share), Some(remaining)) =
            (remaining.and_then(|r| r.checked_div(n)), remaining)
        {
            let extra = remaining % n;
            let mut k = 0;
            for (v, f) in out.iter_mut().zip(&fixed) {
                if !*f {
                    v.weight = share + u32::from(k < extra);
                    k += 1;
                }
            }
        } else if n > 0 {
            {
                self.error(
                    path,
                    node.span(),
                    format!(
                        "fixed variant weights add up to {}%, leaving nothing for the others",
                        percent_text(fixed_total)
                    ),
                );
            }
        }
        // Every arm of a list weighted: the weights are percentages, as in
        // the table form, so they must make 100 (Unleash would split by
        // their ratio, and 20 + 20 would quietly serve 50% each).
        if node.elements().is_some()
            && n == 0
            && !out.is_empty()
            && fixed_total != 1000
            && self.errors.len() == errors_before
        {
            self.error(
                path,
                node.span(),
                format!(
                    "variant weights add up to {}%, not 100% (leave an arm's weight out to give it the rest)",
                    percent_text(fixed_total)
                ),
            );
        }
        (self.errors.len() == errors_before).then_some(out)
    }

    /// One `[[flag.variants]]` entry; also says whether it had a weight.
    fn variant(&mut self, path: &str, node: Node<'_>) -> Option<(VariantDef, bool)> {
        let entries = self.entries(path, node)?;
        let errors_before = self.errors.len();
        let mut v = VariantDef::default();
        let mut has_weight = false;
        let mut has_name = false;
        for e in &entries {
            let p = join(path, e.key);
            match e.key {
                "name" => {
                    has_name = true;
                    v.name = self.string(&p, e.node).unwrap_or_default();
                }
                "weight" => {
                    has_weight = true;
                    v.weight = self.weight(&p, e.node).unwrap_or_default();
                }
                "weight_type" => {
                    let t = self.string(&p, e.node).unwrap_or_default();
                    if t != "fix" && t != "variable" {
                        self.error(&p, e.node.span(), "weight_type is `fix` or `variable`");
                    }
                    v.weight_type = Some(t);
                }
                "stickiness" => v.stickiness = self.string(&p, e.node),
                "payload" => v.payload = self.payload(&p, e.node),
                "overrides" => v.overrides = self.overrides(&p, e.node).unwrap_or_default(),
                _ => self.unknown_key(path, e, VARIANT_KEYS),
            }
        }
        if !has_name {
            self.error(path, node.span(), "a variant needs `name`");
        }
        if !has_weight && v.weight_type.is_none() {
            v.weight_type = Some("variable".into());
        }
        (self.errors.len() == errors_before).then_some((v, has_weight))
    }

    /// A percentage with at most one decimal, as Unleash's tenths.
    fn weight(&mut self, path: &str, node: Node<'_>) -> Option<u32> {
        let pct = match (node.as_integer(), node.as_float()) {
            (Some(i), _) => i as f64,
            (None, Some(f)) => f,
            _ => {
                self.expected(path, node, "a percentage (0 to 100)");
                return None;
            }
        };
        let tenths = pct * 10.0;
        if !(0.0..=100.0).contains(&pct) {
            self.error(
                path,
                node.span(),
                format!("a variant weight is a percentage from 0 to 100, got {pct}"),
            );
            None
        } else if (tenths - tenths.round()).abs() > 1e-6 {
            self.error(
                path,
                node.span(),
                format!("a variant weight has at most one decimal, got {pct}"),
            );
            None
        } else {
            Some(tenths.round() as u32)
        }
    }

    fn payload(&mut self, path: &str, node: Node<'_>) -> Option<Payload> {
        let entries = self.entries(path, node)?;
        let mut kind = None;
        let mut value = None;
        for e in &entries {
            let p = join(path, e.key);
            match e.key {
                "type" => kind = self.string(&p, e.node).map(|k| (k, e.node.span())),
                "value" => value = self.scalar(&p, e.node),
                _ => self.unknown_key(path, e, &["type", "value"]),
            }
        }
        let (Some((kind, kind_span)), Some(value)) = (kind, value) else {
            self.error(path, node.span(), "a payload needs `type` and `value`");
            return None;
        };
        let problem = match kind.as_str() {
            "string" | "csv" => None,
            "json" => serde_json::from_str::<serde_json::Value>(&value)
                .err()
                .map(|e| format!("payload is not valid JSON: {e}")),
            "number" => value
                .trim()
                .parse::<f64>()
                .is_err()
                .then(|| format!("payload `{value}` is not a number")),
            other => {
                self.error(
                    &join(path, "type"),
                    kind_span,
                    format!("unknown payload type `{other}`; expected string, json, csv or number"),
                );
                return None;
            }
        };
        if let Some(msg) = problem {
            self.error(&join(path, "value"), node.span(), msg);
            return None;
        }
        Some(Payload { kind, value })
    }

    /// `overrides = { userId = ["u1"] }` or `[{ field = "userId", values = ["u1"] }]`.
    fn overrides(&mut self, path: &str, node: Node<'_>) -> Option<Vec<Override>> {
        let mut out = Vec::new();
        if let Some(entries) = node.entries() {
            for e in &entries {
                let values = self.scalars(&join(path, e.key), e.node)?;
                out.push(Override {
                    context_name: e.key.to_owned(),
                    values,
                });
            }
        } else if let Some(list) = node.elements() {
            for (i, el) in list.into_iter().enumerate() {
                let p = format!("{path}[{i}]");
                let entries = self.entries(&p, el)?;
                let mut o = Override::default();
                for e in &entries {
                    match e.key {
                        "field" => o.context_name = self.string(&join(&p, "field"), e.node)?,
                        "values" => o.values = self.scalars(&join(&p, "values"), e.node)?,
                        _ => self.unknown_key(&p, e, &["field", "values"]),
                    }
                }
                out.push(o);
            }
        } else {
            self.expected(path, node, "a table of field = [values]");
            return None;
        }
        Some(out)
    }
}

fn percent_text(tenths: u32) -> String {
    if tenths % 10 == 0 {
        (tenths / 10).to_string()
    } else {
        format!("{}.{}", tenths / 10, tenths % 10)
    }
}

/// A flag's `variants`: a shorthand when `style` allows one, else
/// `[[flag.variants]]` tables.
pub(super) fn variants_item(vs: &[VariantDef], style: Style) -> Item {
    match variants_shorthand(vs, style) {
        Some(v) => Item::Value(v),
        None => {
            let mut aot = ArrayOfTables::new();
            for v in vs {
                aot.push(variant_inline(v, style.variant_shorthands).into_table());
            }
            Item::ArrayOfTables(aot)
        }
    }
}

/// A rule's `variants`: a shorthand when `style` allows one, else an array
/// of inline tables.
pub(super) fn variants_value(vs: &[VariantDef], style: Style) -> Value {
    variants_shorthand(vs, style).unwrap_or_else(|| {
        Value::Array(
            vs.iter()
                .map(|v| Value::InlineTable(variant_inline(v, style.variant_shorthands)))
                .collect(),
        )
    })
}

/// A weight in tenths as a percentage: `50`, or `33.3`.
fn weight_value(tenths: u32) -> Value {
    if tenths % 10 == 0 {
        Value::from(i64::from(tenths / 10))
    } else {
        Value::from(f64::from(tenths) / 10.0)
    }
}

fn variants_shorthand(vs: &[VariantDef], style: Style) -> Option<Value> {
    if !style.variant_shorthands {
        return None;
    }
    let bare = vs
        .iter()
        .all(|v| v.stickiness.is_none() && v.payload.is_none() && v.overrides.is_empty());
    let distinct = vs
        .iter()
        .map(|v| v.name.as_str())
        .collect::<HashSet<_>>()
        .len()
        == vs.len();
    if !bare || !distinct {
        return None;
    }
    if vs.iter().all(|v| v.weight_type.is_none())
        && vs.iter().map(|v| v.weight).sum::<u32>() == 1000
    {
        let mut t = InlineTable::new();
        for v in vs {
            t.insert(&v.name, weight_value(v.weight));
        }
        return Some(Value::InlineTable(t));
    }
    if vs
        .iter()
        .all(|v| v.weight_type.as_deref() == Some("variable"))
    {
        return Some(Value::Array(
            vs.iter().map(|v| Value::from(v.name.as_str())).collect(),
        ));
    }
    None
}

/// One explicit variant. `compact` leaves out the weight of a `variable`
/// arm (the reader shares out what the fixed arms leave, as Unleash does).
fn variant_inline(v: &VariantDef, compact: bool) -> InlineTable {
    let mut t = InlineTable::new();
    t.insert("name", v.name.as_str().into());
    if !(compact && v.weight_type.as_deref() == Some("variable")) {
        t.insert("weight", weight_value(v.weight));
        if let Some(wt) = &v.weight_type {
            t.insert("weight_type", wt.as_str().into());
        }
    }
    if let Some(s) = &v.stickiness {
        t.insert("stickiness", s.as_str().into());
    }
    if let Some(p) = &v.payload {
        t.insert("payload", Value::InlineTable(payload_inline(p)));
    }
    if !v.overrides.is_empty() {
        t.insert("overrides", overrides_value(&v.overrides));
    }
    t
}

fn payload_inline(p: &Payload) -> InlineTable {
    let mut t = InlineTable::new();
    t.insert("type", p.kind.as_str().into());
    t.insert("value", p.value.as_str().into());
    t
}

fn overrides_value(os: &[Override]) -> Value {
    let distinct = os
        .iter()
        .map(|o| o.context_name.as_str())
        .collect::<HashSet<_>>()
        .len()
        == os.len();
    let list =
        |o: &Override| Value::Array(o.values.iter().map(|v| Value::from(v.as_str())).collect());
    if distinct {
        let mut t = InlineTable::new();
        for o in os {
            t.insert(&o.context_name, list(o));
        }
        Value::InlineTable(t)
    } else {
        Value::Array(
            os.iter()
                .map(|o| {
                    let mut t = InlineTable::new();
                    t.insert("field", o.context_name.as_str().into());
                    t.insert("values", list(o));
                    Value::InlineTable(t)
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::super::tests::{assert_errors, round_trip};

    #[test]
    fn fixed_and_variable_variant_weights_split_like_unleash() {
        let text = r#"
[f]
[[f.variants]]
name = "a"
weight = 20.5
payload = { type = "json", value = '{"x": 1}' }
overrides = { userId = ["u1"] }
[[f.variants]]
name = "b"
[[f.variants]]
name = "c"
"#;
        let set = parse(text, "x").unwrap();
        let vs = &set.features[0].variants;
        assert_eq!(
            vs.iter().map(|v| v.weight).collect::<Vec<_>>(),
            vec![205, 398, 397]
        );
        assert_eq!(vs[0].weight_type, None);
        assert_eq!(vs[1].weight_type.as_deref(), Some("variable"));
        assert_eq!(vs[0].overrides[0].values, vec!["u1".to_owned()]);
    }

    #[test]
    fn variants_round_trip_in_the_shortest_form() {
        round_trip(
            "[f]\nvariants = { blue = 33.3, green = 66.7 }\n",
            &["variants = { blue = 33.3, green = 66.7 }"],
        );
        round_trip(
            "[f]\nvariants = [\"a\", \"b\", \"c\"]\n",
            &["variants = [\"a\", \"b\", \"c\"]"],
        );
        round_trip(
            "[f]\n[[f.variants]]\nname = \"a\"\nweight = 20\npayload = { type = \"string\", value = \"x\" }\n[[f.variants]]\nname = \"b\"\n",
            &["[[f.variants]]", "payload = { type = \"string\", value = \"x\" }"],
        );
    }

    #[test]
    fn bad_variants_name_flag_field_line_and_column() {
        assert_errors(&[
            (
                "[f]\nvariants = { a = 30, b = 30 }\n",
                &["field `variants`: variant weights add up to 60%, not 100%"],
            ),
            (
                "[f]\n[[f.variants]]\nname = \"a\"\nweight = 20\n[[f.variants]]\nname = \"b\"\nweight = 20\n",
                &["flag `f`, field `variants`: variant weights add up to 40%, not 100%"],
            ),
            (
                "[f]\n[[f.variants]]\nname = \"a\"\npayload = { type = \"json\", value = \"{oops\" }\n",
                &["payload is not valid JSON"],
            ),
            (
                "[f]\nvariants = [\"a\", \"a\"]\n",
                &["flags.toml:2:18: flag `f`, field `variants[1].name`: variant `a` is defined twice"],
            ),
        ]);
    }
}
