//! Strategies: explicit `[[flag.rules]]`, and the `rollout` and `users`
//! shapes that a rule and a flag's shorthands share.
//!
//! ```toml
//! [[checkout.rules]]
//! rollout = { percent = 10, stickiness = "sessionId", group = "checkout" }
//! when = { country = "NO" }
//! [[checkout.rules]]
//! users = ["user_123"]
//! [[checkout.rules]]
//! strategy = "remoteAddress"
//! parameters = { IPs = "10.0.0.0/8" }
//! ```
//!
//! A rule is one Unleash strategy: `rollout` is `flexibleRollout`, `users`
//! is `userWithId`, neither is `default` (everyone).

use toml_edit::{InlineTable, Item, Table, Value};

use super::node::Node;
use super::reader::{join, Reader};
use super::segments::segment_refs_value;
use super::style::{SegmentNames, Style};
use super::variants::variants_value;
use super::when::when_value;
use crate::model::{Parameters, Strategy, StrategyKind};

/// Keys of a `[[flag.rules]]` table.
const RULE_KEYS: &[&str] = &[
    "rollout",
    "users",
    "when",
    "segments",
    "variants",
    "strategy",
    "parameters",
    "disabled",
];

/// Keys of `rollout = { .. }`.
const ROLLOUT_KEYS: &[&str] = &["percent", "stickiness", "group"];

impl Reader<'_> {
    /// `[[flag.rules]]`: one explicit strategy.
    pub(super) fn rule(&mut self, path: &str, node: Node<'_>, index: usize) -> Option<Strategy> {
        let model = format!("strategies[{index}]");
        self.mark(model.clone(), path, node.span());
        let entries = self.entries(path, node)?;
        let errors_before = self.errors.len();
        let find = |k: &str| entries.iter().find(|e| e.key == k);
        let (rollout, users, strategy) = (find("rollout"), find("users"), find("strategy"));
        let mut s = Strategy::default();
        match (strategy, rollout, users) {
            (Some(st), _, _) => {
                if let Some(other) = rollout.or(users) {
                    self.error(
                        &join(path, other.key),
                        other.key_span.clone(),
                        format!(
                            "a rule with `strategy` sets its parameters in `parameters`, not `{}`",
                            other.key
                        ),
                    );
                }
                let p = join(path, "strategy");
                if let Some(name) = self.string(&p, st.node) {
                    if StrategyKind::from_name(&name) == StrategyKind::Unknown {
                        self.error(
                            &p,
                            st.node.span(),
                            format!(
                                "unknown strategy `{name}`; expected one of: {}",
                                StrategyKind::KNOWN.map(StrategyKind::name).join(", ")
                            ),
                        );
                    }
                    s.name = name;
                }
                self.mark(format!("{model}.name"), &p, st.node.span());
            }
            (None, Some(_), Some(u)) => {
                self.error(
                    &join(path, "users"),
                    u.key_span.clone(),
                    "a rule is one strategy: use `rollout` or `users`, not both (write two rules)",
                );
            }
            (None, Some(r), None) => {
                let p = join(path, "rollout");
                self.mark(format!("{model}.parameters"), &p, r.node.span());
                s.name = "flexibleRollout".into();
                s.parameters = self.rollout(&p, r.node).unwrap_or_default();
            }
            (None, None, Some(u)) => {
                let p = join(path, "users");
                self.mark(format!("{model}.parameters"), &p, u.node.span());
                if let Some(ids) = self.users(&p, u.node) {
                    s = users_strategy(ids);
                }
            }
            (None, None, None) => s.name = "default".into(),
        }
        for e in &entries {
            let p = join(path, e.key);
            match e.key {
                "rollout" | "users" | "strategy" => {}
                "parameters" => {
                    if strategy.is_none() {
                        self.error(&p, e.key_span.clone(), "`parameters` needs `strategy`");
                    } else {
                        self.mark(format!("{model}.parameters"), &p, e.node.span());
                        s.parameters = self.parameters(&p, e.node).unwrap_or_default();
                    }
                }
                "when" => {
                    s.constraints = self
                        .when(&p, e.node, &format!("{model}.constraints"))
                        .unwrap_or_default();
                }
                "segments" => {
                    s.segments = self
                        .segment_refs(&p, e.node, &format!("{model}.segments"))
                        .unwrap_or_default();
                }
                "variants" => {
                    s.variants = self
                        .variants(&p, e.node, &format!("{model}.variants"))
                        .unwrap_or_default();
                }
                "disabled" => s.disabled = self.boolean(&p, e.node),
                _ => self.unknown_key(path, e, RULE_KEYS),
            }
        }
        (self.errors.len() == errors_before).then_some(s)
    }

    /// `rollout = 20` or `rollout = { percent = 20, stickiness = "sessionId", group = "checkout" }`.
    pub(super) fn rollout(&mut self, path: &str, node: Node<'_>) -> Option<Parameters> {
        let mut percent = None;
        let mut stickiness = "default".to_owned();
        let mut group = self.flag.clone();
        if let Node::Scalar(_) = node {
            percent = self.percent(path, node);
        } else {
            let entries = self.entries(path, node)?;
            let mut seen_percent = false;
            for e in &entries {
                let p = join(path, e.key);
                match e.key {
                    "percent" => {
                        seen_percent = true;
                        percent = self.percent(&p, e.node);
                    }
                    "stickiness" => {
                        stickiness = self.string(&p, e.node).unwrap_or_default();
                    }
                    "group" => group = self.string(&p, e.node).unwrap_or_default(),
                    _ => self.unknown_key(path, e, ROLLOUT_KEYS),
                }
            }
            if !seen_percent {
                self.error(path, node.span(), "a rollout table needs `percent`");
            }
        }
        let percent = percent?;
        Some(Parameters::from_iter([
            ("rollout".to_owned(), percent.to_string()),
            ("stickiness".to_owned(), stickiness),
            ("groupId".to_owned(), group),
        ]))
    }

    /// `users = ["user_123", "user_456"]` → the `userIds` parameter.
    pub(super) fn users(&mut self, path: &str, node: Node<'_>) -> Option<String> {
        let ids = self.scalars(path, node)?;
        let mut ok = true;
        for (i, id) in ids.iter().enumerate() {
            let bad = if id.trim().is_empty() {
                Some("a user id cannot be empty")
            } else if id.contains(',') {
                Some("a user id cannot contain a comma")
            } else if id.trim() != id {
                Some("a user id cannot start or end with spaces")
            } else {
                None
            };
            if let Some(msg) = bad {
                let at = node.elements().and_then(|e| e.get(i).and_then(Node::span));
                self.error(&format!("{path}[{i}]"), at, msg);
                ok = false;
            }
        }
        ok.then(|| ids.join(","))
    }

    /// `parameters = { IPs = "10.0.0.0/8" }` for an explicit strategy.
    fn parameters(&mut self, path: &str, node: Node<'_>) -> Option<Parameters> {
        let entries = self.entries(path, node)?;
        let mut out = Parameters::new();
        for e in &entries {
            let p = join(path, e.key);
            let value = match e.node {
                Node::Array(_) => self.scalars(&p, e.node).map(|v| v.join(",")),
                _ => self.scalar(&p, e.node),
            };
            if let Some(v) = value {
                out.insert(e.key.to_owned(), v);
            }
        }
        Some(out)
    }
}

/// The `userWithId` strategy for these ids.
pub(super) fn users_strategy(ids: String) -> Strategy {
    Strategy {
        name: "userWithId".into(),
        parameters: Parameters::from_iter([("userIds".to_owned(), ids)]),
        ..Strategy::default()
    }
}

/// One `[[flag.rules]]` table.
pub(super) fn rule_table(s: &Strategy, flag: &str, segs: &SegmentNames<'_>, style: Style) -> Table {
    let mut t = Table::new();
    let plain_params = |keys: &[&str]| s.parameters.keys().all(|k| keys.contains(&k.as_str()));
    match s.kind() {
        StrategyKind::FlexibleRollout
            if style.rule_shorthands && plain_params(&["rollout", "stickiness", "groupId"]) =>
        {
            t.insert("rollout", Item::Value(rollout_value(&s.parameters, flag)));
        }
        StrategyKind::UserWithId if style.rule_shorthands && plain_params(&["userIds"]) => {
            t.insert(
                "users",
                Item::Value(users_value(
                    s.parameters.get("userIds").map_or("", String::as_str),
                )),
            );
        }
        StrategyKind::Default if style.rule_shorthands && s.parameters.is_empty() => {}
        _ => {
            t.insert("strategy", Item::Value(s.name.as_str().into()));
            if !s.parameters.is_empty() {
                let mut p = InlineTable::new();
                for (k, v) in &s.parameters {
                    p.insert(k, v.as_str().into());
                }
                t.insert("parameters", Item::Value(Value::InlineTable(p)));
            }
        }
    }
    if !s.constraints.is_empty() {
        t.insert(
            "when",
            Item::Value(when_value(&s.constraints, style.when_table)),
        );
    }
    if !s.segments.is_empty() {
        t.insert(
            "segments",
            Item::Value(segment_refs_value(&s.segments, segs)),
        );
    }
    if !s.variants.is_empty() {
        let v = variants_value(&s.variants, style);
        t.insert("variants", Item::Value(v));
    }
    if let Some(d) = s.disabled {
        t.insert("disabled", Item::Value(d.into()));
    }
    t
}

/// `20`, or `{ percent = 20, stickiness = "sessionId", group = "checkout" }`.
pub(super) fn rollout_value(params: &Parameters, flag: &str) -> Value {
    let percent = params.get("rollout").map_or("", String::as_str);
    let pct = match percent.parse::<i64>() {
        Ok(p) => Value::from(p),
        // Not a number: written as it is, so the reader reports it.
        Err(_) => Value::from(percent),
    };
    let stickiness = params.get("stickiness").map(String::as_str);
    let group = params.get("groupId").map(String::as_str);
    if stickiness == Some("default") && group == Some(flag) {
        return pct;
    }
    let mut t = InlineTable::new();
    t.insert("percent", pct);
    if let Some(s) = stickiness.filter(|s| *s != "default") {
        t.insert("stickiness", s.into());
    }
    if let Some(g) = group.filter(|g| *g != flag) {
        t.insert("group", g.into());
    }
    Value::InlineTable(t)
}

/// `users = [..]` from Unleash's comma-separated `userIds`.
pub(super) fn users_value(ids: &str) -> Value {
    Value::Array(
        ids.split(',')
            .filter(|s| !s.is_empty())
            .map(Value::from)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::super::tests::{assert_errors, params, round_trip};

    #[test]
    fn rollout_table_sets_stickiness_and_group() {
        let set = parse(
            "[f]\nrollout = { percent = 5, stickiness = \"sessionId\", group = \"checkout\" }\n",
            "x",
        )
        .unwrap();
        assert_eq!(
            set.features[0].strategies[0].parameters,
            params(&[
                ("rollout", "5"),
                ("stickiness", "sessionId"),
                ("groupId", "checkout")
            ])
        );
    }

    #[test]
    fn rules_round_trip_in_the_shortest_form() {
        round_trip(
            "[f]\n[[f.rules]]\nusers = [\"a\"]\n[[f.rules]]\nrollout = { percent = 10, stickiness = \"sessionId\" }\nwhen = { country = \"NO\" }\ndisabled = false\n[[f.rules]]\nstrategy = \"remoteAddress\"\nparameters = { IPs = \"10.0.0.0/8\" }\n",
            &[
                "[[f.rules]]\nusers = [\"a\"]",
                "rollout = { percent = 10, stickiness = \"sessionId\" }",
                "strategy = \"remoteAddress\"",
                "parameters = { IPs = \"10.0.0.0/8\" }",
            ],
        );
    }

    #[test]
    fn bad_rules_name_flag_field_line_and_column() {
        assert_errors(&[
            (
                "[new_checkout_flow]\nrollout = 150\n",
                &["flags.toml:2:11: flag `new_checkout_flow`, field `rollout`: a percentage must be between 0 and 100, got 150"],
            ),
            (
                "[f]\nrollout = 20.5\n",
                &["field `rollout`: expected a whole percentage from 0 to 100, found a float"],
            ),
            (
                "[f]\n[[f.rules]]\nrollout = 5\nusers = [\"a\"]\n",
                &["field `rules[0].users`: a rule is one strategy"],
            ),
            (
                "[f]\n[[f.rules]]\nstrategy = \"gradualRolloutUserId\"\nparameters = { percentage = \"lots\" }\n",
                &["flags.toml:4:14: flag `f`, field `rules[0].parameters`: percentage must be a whole percentage"],
            ),
            (
                "[f]\n[[f.rules]]\nstrategy = \"magic\"\n",
                &["flags.toml:3:12: flag `f`, field `rules[0].strategy`: unknown strategy `magic`"],
            ),
            (
                "[f]\nusers = [\"a,b\", \" c\"]\n",
                &[
                    "flags.toml:2:10: flag `f`, field `users[0]`: a user id cannot contain a comma",
                    "flags.toml:2:17: flag `f`, field `users[1]`: a user id cannot start or end with spaces",
                ],
            ),
        ]);
    }
}
