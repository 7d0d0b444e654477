//! Conditions on the caller: `when`, in a flag, a rule or a segment.
//!
//! ```toml
//! when = { beta = true, country = ["NO", "SE"] }      # beta IN ["true"] and country IN [...]
//! when = { appVersion = { op = "semver_gte", value = "2.0.0" } }
//! when = [{ field = "email", op = "ends_with", values = ["@acme.com"], not = true }]
//! ```
//!
//! Operands are checked as the engine checks them (`engine::check_constraint`),
//! so a bad one is reported at the exact value.

use std::collections::HashSet;
use std::ops::Range;

use toml_edit::{InlineTable, Value};

use super::node::Node;
use super::reader::{join, Reader};
use crate::model::Constraint;

/// Keys of an explicit constraint (`field` first: the table form has no `field`).
const CONSTRAINT_KEYS: &[&str] = &["field", "op", "value", "values", "case_insensitive", "not"];

/// Friendly operator names and Unleash's.
const FRIENDLY_OPERATORS: &[(&str, &str)] = &[
    ("in", "IN"),
    ("not_in", "NOT_IN"),
    ("contains", "STR_CONTAINS"),
    ("starts_with", "STR_STARTS_WITH"),
    ("ends_with", "STR_ENDS_WITH"),
    ("num_eq", "NUM_EQ"),
    ("num_gt", "NUM_GT"),
    ("num_gte", "NUM_GTE"),
    ("num_lt", "NUM_LT"),
    ("num_lte", "NUM_LTE"),
    ("date_after", "DATE_AFTER"),
    ("date_before", "DATE_BEFORE"),
    ("semver_eq", "SEMVER_EQ"),
    ("semver_gt", "SEMVER_GT"),
    ("semver_gte", "SEMVER_GTE"),
    ("semver_lt", "SEMVER_LT"),
    ("semver_lte", "SEMVER_LTE"),
    ("regex", "REGEX"),
    ("in_cidr", "IN_CIDR"),
];

/// Unleash's name for an operator written either way.
fn operator(name: &str) -> Option<&'static str> {
    FRIENDLY_OPERATORS
        .iter()
        .find(|(friendly, unleash)| *friendly == name || *unleash == name)
        .map(|(_, unleash)| *unleash)
}

/// The friendly name for an Unleash operator (itself when unknown).
fn friendly_operator(unleash: &str) -> &str {
    FRIENDLY_OPERATORS
        .iter()
        .find(|(_, u)| *u == unleash)
        .map_or(unleash, |(f, _)| f)
}

/// Every friendly operator name.
fn friendly_operators() -> Vec<&'static str> {
    FRIENDLY_OPERATORS.iter().map(|(f, _)| *f).collect()
}

/// Whether an operator takes a list (`values`) rather than one `value`.
fn takes_list(unleash: &str) -> bool {
    matches!(
        unleash,
        "IN" | "NOT_IN" | "STR_CONTAINS" | "STR_STARTS_WITH" | "STR_ENDS_WITH" | "IN_CIDR"
    )
}

impl Reader<'_> {
    /// `when = { beta = true, country = ["NO", "SE"] }` or
    /// `when = [{ field = "appVersion", op = "semver_gte", value = "2.0.0" }]`.
    pub(super) fn when(
        &mut self,
        path: &str,
        node: Node<'_>,
        model: &str,
    ) -> Option<Vec<Constraint>> {
        let mut out = Vec::new();
        let mut ok = true;
        if let Some(entries) = node.entries() {
            for (j, e) in entries.iter().enumerate() {
                let p = join(path, e.key);
                self.mark(format!("{model}[{j}]"), &p, e.node.span());
                let c = match e.node {
                    Node::Table(_) | Node::Inline(_) => self.constraint(
                        &p,
                        Some((e.key, e.key_span.clone())),
                        e.node,
                        &format!("{model}[{j}]"),
                    ),
                    Node::Array(_) | Node::Tables(_) => {
                        self.scalars(&p, e.node).map(|values| Constraint {
                            context_name: e.key.to_owned(),
                            operator: "IN".into(),
                            values,
                            ..Constraint::default()
                        })
                    }
                    Node::Scalar(_) => self.scalar(&p, e.node).map(|v| Constraint {
                        context_name: e.key.to_owned(),
                        operator: "IN".into(),
                        values: vec![v],
                        ..Constraint::default()
                    }),
                };
                match c {
                    Some(c) => out.push(c),
                    None => ok = false,
                }
            }
        } else if let Some(list) = node.elements() {
            for (j, el) in list.into_iter().enumerate() {
                let p = format!("{path}[{j}]");
                self.mark(format!("{model}[{j}]"), &p, el.span());
                match self.constraint(&p, None, el, &format!("{model}[{j}]")) {
                    Some(c) => out.push(c),
                    None => ok = false,
                }
            }
        } else {
            self.expected(
                path,
                node,
                "a table of conditions ({ beta = true }) or an array of constraints",
            );
            return None;
        }
        ok.then_some(out)
    }

    /// One explicit constraint: `{ field, op, value | values, case_insensitive, not }`.
    /// In the table form the field is the key, and `field` is not allowed.
    fn constraint(
        &mut self,
        path: &str,
        field: Option<(&str, Option<Range<usize>>)>,
        node: Node<'_>,
        model: &str,
    ) -> Option<Constraint> {
        let entries = self.entries(path, node)?;
        let errors_before = self.errors.len();
        let mut c = Constraint {
            operator: "IN".into(),
            ..Constraint::default()
        };
        let mut op_span = None;
        let mut value_span = None;
        let mut values_spans = Vec::new();
        let mut values_span = None;
        let mut has_field = false;
        for e in &entries {
            let p = join(path, e.key);
            match e.key {
                "field" if field.is_none() => {
                    has_field = true;
                    c.context_name = self.string(&p, e.node).unwrap_or_default();
                }
                "op" => {
                    op_span = e.node.span();
                    if let Some(op) = self.string(&p, e.node) {
                        match operator(&op) {
                            Some(unleash) => c.operator = unleash.to_owned(),
                            None => self.error(
                                &p,
                                e.node.span(),
                                format!(
                                    "unknown operator `{op}`; expected one of: {}",
                                    friendly_operators().join(", ")
                                ),
                            ),
                        }
                    }
                }
                "value" => {
                    value_span = e.node.span();
                    c.value = self.scalar(&p, e.node);
                }
                "values" => {
                    values_span = e.node.span();
                    values_spans = e
                        .node
                        .elements()
                        .unwrap_or_default()
                        .iter()
                        .map(Node::span)
                        .collect();
                    c.values = self.scalars(&p, e.node).unwrap_or_default();
                }
                "case_insensitive" => {
                    c.case_insensitive = self.boolean(&p, e.node).unwrap_or(false)
                }
                "not" => c.inverted = self.boolean(&p, e.node).unwrap_or(false),
                _ => {
                    let allowed: &[&str] = if field.is_none() {
                        CONSTRAINT_KEYS
                    } else {
                        &CONSTRAINT_KEYS[1..]
                    };
                    self.unknown_key(path, e, allowed);
                }
            }
        }
        match field {
            Some((name, _)) => c.context_name = name.to_owned(),
            None if !has_field => {
                self.error(
                    path,
                    node.span(),
                    "a constraint needs `field` (the context field to test)",
                );
            }
            None => {}
        }
        if self.errors.len() > errors_before {
            return None;
        }
        let friendly = friendly_operator(&c.operator);
        let at = |k: &str| join(path, k);
        if takes_list(&c.operator) {
            if c.values.is_empty() && c.value.is_some() {
                self.error(
                    &at("value"),
                    value_span.clone(),
                    format!("operator `{friendly}` takes `values` (a list), not `value`"),
                );
            }
            if c.operator == "IN_CIDR" {
                for (i, v) in c.values.iter().enumerate() {
                    if !is_ip_or_net(v) {
                        self.error(
                            &format!("{}[{i}]", at("values")),
                            values_spans.get(i).cloned().flatten(),
                            format!("`{v}` is not an IP address or CIDR network"),
                        );
                    }
                }
            }
        } else if c.value.is_none() && c.values.len() > 1 {
            self.error(
                &at("values"),
                values_span.clone(),
                format!("operator `{friendly}` takes one `value`, not a list"),
            );
        }
        if self.errors.len() == errors_before {
            if let Some((key, message)) = crate::engine::check_constraint(&c) {
                let (p, span) = match key {
                    "operator" => (at("op"), op_span.clone()),
                    _ if c.value.is_some() => (at("value"), value_span.clone()),
                    _ if values_span.is_some() => (at("values"), values_span.clone()),
                    _ => (path.to_owned(), node.span()),
                };
                self.error(&p, span, message.replace(&c.operator, friendly));
            }
        }
        self.mark(format!("{model}.operator"), &at("op"), op_span);
        self.mark(format!("{model}.value"), &at("value"), value_span);
        self.mark(format!("{model}.values"), &at("values"), values_span);
        (self.errors.len() == errors_before).then_some(c)
    }
}

fn is_ip_or_net(v: &str) -> bool {
    let v = v.trim();
    v.parse::<ipnet::IpNet>().is_ok() || v.parse::<std::net::IpAddr>().is_ok()
}

/// A constraint operand: `true`/`false` as booleans, everything else a string.
fn operand(v: &str) -> Value {
    match v {
        "true" => Value::from(true),
        "false" => Value::from(false),
        other => Value::from(other),
    }
}

/// `when = ..`: the table form when `table_form` allows it and every
/// field appears once, else an array of explicit constraints.
pub(super) fn when_value(constraints: &[Constraint], table_form: bool) -> Value {
    let distinct: HashSet<&str> = constraints
        .iter()
        .map(|c| c.context_name.as_str())
        .collect();
    if table_form && distinct.len() == constraints.len() {
        let mut t = InlineTable::new();
        for c in constraints {
            let simple_in =
                c.operator == "IN" && c.value.is_none() && !c.inverted && !c.case_insensitive;
            let v = if simple_in && c.values.len() == 1 {
                operand(&c.values[0])
            } else if simple_in {
                Value::Array(c.values.iter().map(|v| operand(v)).collect())
            } else {
                Value::InlineTable(constraint_inline(c, false))
            };
            t.insert(&c.context_name, v);
        }
        Value::InlineTable(t)
    } else {
        Value::Array(
            constraints
                .iter()
                .map(|c| Value::InlineTable(constraint_inline(c, true)))
                .collect(),
        )
    }
}

fn constraint_inline(c: &Constraint, with_field: bool) -> InlineTable {
    let mut t = InlineTable::new();
    if with_field {
        t.insert("field", c.context_name.as_str().into());
    }
    if c.operator != "IN" {
        t.insert("op", friendly_operator(&c.operator).into());
    }
    if let Some(v) = &c.value {
        t.insert("value", v.as_str().into());
    }
    if !c.values.is_empty() || c.value.is_none() {
        t.insert(
            "values",
            Value::Array(c.values.iter().map(|v| Value::from(v.as_str())).collect()),
        );
    }
    if c.case_insensitive {
        t.insert("case_insensitive", true.into());
    }
    if c.inverted {
        t.insert("not", true.into());
    }
    t
}

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_errors, round_trip};
    use super::*;

    #[test]
    fn every_operator_has_a_friendly_name() {
        let unleash: Vec<&str> = FRIENDLY_OPERATORS.iter().map(|(_, u)| *u).collect();
        assert_eq!(unleash, crate::model::OPERATORS);
    }

    #[test]
    fn operators_accept_both_spellings() {
        assert_eq!(operator("semver_gte"), Some("SEMVER_GTE"));
        assert_eq!(operator("STR_ENDS_WITH"), Some("STR_ENDS_WITH"));
        assert_eq!(operator("ends_with"), Some("STR_ENDS_WITH"));
        assert_eq!(operator("like"), None);
        assert_eq!(friendly_operator("STR_CONTAINS"), "contains");
    }

    #[test]
    fn when_round_trips_in_both_forms() {
        round_trip(
            "[f]\nwhen = { beta = true, country = [\"NO\", \"SE\"], v = { op = \"semver_gte\", value = \"2.0.0\" } }\n",
            &["when = { beta = true, country = [\"NO\", \"SE\"], v = { op = \"semver_gte\", value = \"2.0.0\" } }"],
        );
        // One field tested twice needs the array form.
        round_trip(
            "[f]\nwhen = [{ field = \"n\", op = \"num_gt\", value = \"3\" }, { field = \"n\", op = \"num_lt\", value = \"9\" }]\n",
            &["{ field = \"n\", op = \"num_gt\", value = \"3\" }"],
        );
    }

    #[test]
    fn bad_conditions_name_flag_field_line_and_column() {
        assert_errors(&[
            (
                "[f]\nwhen = { email = { op = \"regex\", value = \"(unclosed\" } }\n",
                &["flags.toml:2:42: flag `f`, field `when.email.value`: `(unclosed` is not a valid regex"],
            ),
            (
                "[f]\nwhen = [{ field = \"v\", op = \"semver_gt\", value = \"two\" }]\n",
                &["flags.toml:2:50: flag `f`, field `when[0].value`: `two` is not a semantic version"],
            ),
            (
                "[f]\nwhen = { t = { op = \"date_after\", value = \"yesterday\" } }\n",
                &["field `when.t.value`: `yesterday` is not a date"],
            ),
            (
                "[f]\nwhen = { n = { op = \"num_gt\", value = \"many\" } }\n",
                &["field `when.n.value`: `many` is not a number"],
            ),
            (
                "[f]\nwhen = { n = { op = \"like\", value = \"x\" } }\n",
                &["field `when.n.op`: unknown operator `like`"],
            ),
            (
                "[f]\nwhen = { ip = { op = \"in_cidr\", values = [\"10.0.0.0/8\", \"nope\"] } }\n",
                &["field `when.ip.values[1]`: `nope` is not an IP address or CIDR network"],
            ),
        ]);
    }
}
