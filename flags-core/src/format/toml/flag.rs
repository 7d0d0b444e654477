//! A flag's table: its own keys (`description`, `enabled`, Unleash's
//! informational fields), the shorthands that say who gets it (`rollout`,
//! `users`, `when`, `segments`, read as Unleash strategies), and the other
//! sections' keys (`rules`, `variants`, `requires`, `guard`, `plan`), each
//! read and written by its section.
//!
//! ```toml
//! [new_checkout_flow]
//! description = "New checkout redesign"
//! users = ["user_123"]               # a `userWithId` strategy...
//! rollout = 20                       # ...or a `flexibleRollout`
//! when = { beta = true }             # that this narrows
//! ```

use std::ops::Range;

use toml_edit::{Array, ArrayOfTables, Item, Table, Value};

use super::guard::{guard_value, plan_value};
use super::node::{Entry, Node};
use super::reader::Reader;
use super::requires::requires_value;
use super::rules::{rollout_value, rule_table, users_strategy, users_value};
use super::segments::segment_refs_value;
use super::style::{SegmentNames, Style};
use super::variants::variants_item;
use super::when::when_value;
use crate::model::{Feature, Strategy, StrategyKind};

/// Keys of a flag table.
const FLAG_KEYS: &[&str] = &[
    "description",
    "enabled",
    "rollout",
    "users",
    "when",
    "segments",
    "variants",
    "rules",
    "requires",
    "type",
    "project",
    "impression_data",
    "stale",
    "guard",
    "plan",
];

/// The keys of a flag that say who gets it, as written.
#[derive(Default, Clone, Copy)]
struct Targeting<'e, 'a> {
    rollout: Option<&'e Entry<'a>>,
    users: Option<&'e Entry<'a>>,
    when: Option<&'e Entry<'a>>,
    segments: Option<&'e Entry<'a>>,
    rules: Option<&'e Entry<'a>>,
}

impl Reader<'_> {
    /// One flag's table; `None` when it has an error.
    pub(crate) fn flag(
        &mut self,
        name: &str,
        key_span: Option<Range<usize>>,
        node: Node<'_>,
    ) -> Option<Feature> {
        self.read_flag(name, key_span, node)
            .and_then(|(f, ok)| ok.then_some(f))
    }

    /// One flag's table, and whether it read without error (when not, the
    /// flag holds what could be read); `None` when it is not a table.
    pub(super) fn read_flag(
        &mut self,
        name: &str,
        key_span: Option<Range<usize>>,
        node: Node<'_>,
    ) -> Option<(Feature, bool)> {
        self.flag = name.to_owned();
        let errors_before = self.errors.len();
        self.mark("name".into(), "", key_span.clone());
        if name.trim().is_empty() {
            self.error("", key_span.clone(), "a flag needs a non-empty name");
        }
        let Some(entries) = node.entries() else {
            self.error(
                "",
                key_span,
                format!(
                    "flag `{name}` must be a table (`[{name}]`), found {}",
                    node.kind()
                ),
            );
            self.flag.clear();
            return None;
        };
        let mut f = Feature {
            name: name.to_owned(),
            enabled: true,
            ..Feature::default()
        };
        let mut who = Targeting::default();
        for e in &entries {
            let p = e.key;
            match e.key {
                "description" => f.description = self.string(p, e.node),
                "enabled" => f.enabled = self.boolean(p, e.node).unwrap_or(true),
                "rollout" => who.rollout = Some(e),
                "users" => who.users = Some(e),
                "when" => who.when = Some(e),
                "segments" => who.segments = Some(e),
                "rules" => who.rules = Some(e),
                "variants" => {
                    f.variants = self.variants(p, e.node, "variants").unwrap_or_default();
                }
                "requires" => f.dependencies = self.requires(p, e.node).unwrap_or_default(),
                "type" => f.kind = self.string(p, e.node),
                "project" => f.project = self.string(p, e.node),
                "impression_data" => {
                    f.impression_data = self.boolean(p, e.node).unwrap_or_default();
                }
                "stale" => f.stale = self.boolean(p, e.node).unwrap_or_default(),
                "guard" => f.guard = self.guard(p, e.node).flatten(),
                "plan" => f.plan = self.plan(p, e.node),
                _ => self.unknown_key("", e, FLAG_KEYS),
            }
        }
        f.strategies = self.strategies(who);
        self.flag.clear();
        let ok = self.errors.len() == errors_before;
        Some((f, ok))
    }

    /// The strategies the targeting keys say, in order: the user list, the
    /// rollout (narrowed by `when` and `segments`), then the rules; `default`
    /// (everyone) when there are none of these keys.
    fn strategies(&mut self, who: Targeting<'_, '_>) -> Vec<Strategy> {
        let mut out = Vec::new();
        // `users` is a strategy of its own; `when` and `segments` narrow the
        // rollout, or the whole flag when there is no rollout.
        if let Some(e) = who.users {
            self.mark(format!("strategies[{}]", out.len()), "users", e.node.span());
            if let Some(ids) = self.users("users", e.node) {
                out.push(users_strategy(ids));
            }
        }
        if who.rollout.is_some() || who.when.is_some() || who.segments.is_some() {
            let model = format!("strategies[{}]", out.len());
            let anchor = who.rollout.or(who.when).or(who.segments);
            self.mark(model.clone(), "", anchor.and_then(|e| e.node.span()));
            let mut s = match who.rollout {
                Some(e) => {
                    self.mark(format!("{model}.parameters"), "rollout", e.node.span());
                    self.rollout("rollout", e.node).map(|parameters| Strategy {
                        name: "flexibleRollout".into(),
                        parameters,
                        ..Strategy::default()
                    })
                }
                None => Some(Strategy {
                    name: "default".into(),
                    ..Strategy::default()
                }),
            };
            if let Some(e) = who.when {
                let c = self.when("when", e.node, &format!("{model}.constraints"));
                if let (Some(s), Some(c)) = (s.as_mut(), c) {
                    s.constraints = c;
                }
            }
            if let Some(e) = who.segments {
                let ids = self.segment_refs("segments", e.node, &format!("{model}.segments"));
                if let (Some(s), Some(ids)) = (s.as_mut(), ids) {
                    s.segments = ids;
                }
            }
            out.extend(s);
        }
        if let Some(e) = who.rules {
            match e.node.elements() {
                Some(list) => {
                    for (k, rule) in list.into_iter().enumerate() {
                        if let Some(s) = self.rule(&format!("rules[{k}]"), rule, out.len()) {
                            out.push(s);
                        }
                    }
                }
                None => self.expected("rules", e.node, "an array of rule tables ([[flag.rules]])"),
            }
        }
        let none = who.users.is_none()
            && who.rollout.is_none()
            && who.when.is_none()
            && who.segments.is_none()
            && who.rules.is_none();
        if none {
            out.push(Strategy {
                name: "default".into(),
                ..Strategy::default()
            });
        }
        out
    }
}

/// The table for `f`, as friendly as `style` allows.
pub(super) fn flag_table(f: &Feature, segs: &SegmentNames<'_>, style: Style) -> Table {
    let mut t = Table::new();
    if let Some(d) = &f.description {
        t.insert("description", Item::Value(d.as_str().into()));
    }
    if !f.enabled {
        t.insert("enabled", Item::Value(false.into()));
    }
    let short = if style.shorthands {
        shorthands(f)
    } else {
        None
    };
    let mut rules = None;
    match short {
        Some(s) => {
            if let Some(main) = s.main {
                if main.kind() == StrategyKind::FlexibleRollout {
                    t.insert(
                        "rollout",
                        Item::Value(rollout_value(&main.parameters, &f.name)),
                    );
                }
            }
            if let Some(ids) = s.users {
                t.insert("users", Item::Value(users_value(ids)));
            }
            if let Some(main) = s.main {
                if !main.constraints.is_empty() {
                    t.insert(
                        "when",
                        Item::Value(when_value(&main.constraints, style.when_table)),
                    );
                }
                if !main.segments.is_empty() {
                    t.insert(
                        "segments",
                        Item::Value(segment_refs_value(&main.segments, segs)),
                    );
                }
            }
        }
        None => {
            let mut aot = ArrayOfTables::new();
            for s in &f.strategies {
                aot.push(rule_table(s, &f.name, segs, style));
            }
            rules = Some(aot);
        }
    }
    if !f.variants.is_empty() {
        t.insert("variants", variants_item(&f.variants, style));
    }
    if !f.dependencies.is_empty() {
        t.insert("requires", Item::Value(requires_value(&f.dependencies)));
    }
    if let Some(k) = &f.kind {
        t.insert("type", Item::Value(k.as_str().into()));
    }
    if let Some(p) = &f.project {
        t.insert("project", Item::Value(p.as_str().into()));
    }
    if f.impression_data {
        t.insert("impression_data", Item::Value(true.into()));
    }
    if f.stale {
        t.insert("stale", Item::Value(true.into()));
    }
    if let Some(spec) = &f.guard {
        t.insert("guard", Item::Value(guard_value(spec)));
    }
    if let Some(spec) = &f.plan {
        t.insert("plan", Item::Value(plan_value(spec)));
    }
    if let Some(aot) = rules {
        if aot.is_empty() {
            // No strategies at all (Unleash: on for everyone) differs from
            // the implicit `default` strategy of an empty flag table.
            t.insert("rules", Item::Value(Value::Array(Array::new())));
        } else {
            t.insert("rules", Item::ArrayOfTables(aot));
        }
    }
    t
}

/// The strategies of a flag that the top-level shorthands can say.
struct Shorthands<'f> {
    users: Option<&'f str>,
    main: Option<&'f Strategy>,
}

/// `Some` when the flag's strategies are what the shorthands read back as:
/// an optional plain user list, then at most one plain rollout or `default`.
fn shorthands(f: &Feature) -> Option<Shorthands<'_>> {
    let plain = |s: &Strategy| s.variants.is_empty() && s.disabled.is_none();
    let (users, rest) = match f.strategies.split_first() {
        Some((first, rest))
            if first.kind() == StrategyKind::UserWithId
                && plain(first)
                && first.constraints.is_empty()
                && first.segments.is_empty()
                && first.parameters.len() == 1 =>
        {
            (first.parameters.get("userIds").map(String::as_str), rest)
        }
        _ => (None, f.strategies.as_slice()),
    };
    match rest {
        [] if users.is_some() => Some(Shorthands { users, main: None }),
        [m] if plain(m)
            && matches!(
                m.kind(),
                StrategyKind::FlexibleRollout | StrategyKind::Default
            ) =>
        {
            let everyone = m.kind() == StrategyKind::Default
                && m.constraints.is_empty()
                && m.segments.is_empty();
            if everyone && users.is_some() {
                // "these users, or everyone": only rules can say it.
                return None;
            }
            let main = if everyone && m.parameters.is_empty() {
                None
            } else {
                Some(m)
            };
            Some(Shorthands { users, main })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::document::read_text;
    use super::super::tests::{assert_errors, errors, params};
    use super::super::{parse, parse_compiled, write};
    use crate::model::{Constraint, Feature, FlagSet, Strategy, VariantDef};
    use crate::Context;

    const SEED: &str = r#"
[new_checkout_flow]
description = "New checkout redesign - gradual rollout"
rollout = 20                       # percent of users, sticky per user id

[ai_recommendations]
description = "AI-powered product recommendations"
users = ["user_123", "user_456"]

[beta_search]
when = { beta = true }

[legacy_api]
description = "Old API version - being deprecated"
enabled = false
"#;

    #[test]
    fn seed_flags_compile_to_unleash_strategies() {
        let set = parse(SEED, "flags.toml").unwrap();
        let by = |n: &str| set.feature(n).unwrap();
        assert_eq!(
            by("new_checkout_flow").strategies,
            vec![Strategy {
                name: "flexibleRollout".into(),
                parameters: params(&[
                    ("rollout", "20"),
                    ("stickiness", "default"),
                    ("groupId", "new_checkout_flow")
                ]),
                ..Strategy::default()
            }]
        );
        assert_eq!(
            by("ai_recommendations").strategies[0].parameters,
            params(&[("userIds", "user_123,user_456")])
        );
        assert_eq!(
            by("beta_search").strategies[0].constraints,
            vec![Constraint {
                context_name: "beta".into(),
                operator: "IN".into(),
                values: vec!["true".into()],
                ..Constraint::default()
            }]
        );
        assert!(!by("legacy_api").enabled);
        assert_eq!(by("legacy_api").strategies[0].name, "default");
        assert!(by("new_checkout_flow").enabled);
    }

    #[test]
    fn shorthands_combine_users_or_rollout_and_when() {
        let set = parse(
            "[f]\nusers = [\"vip\"]\nrollout = 20\nwhen = { beta = true }\n",
            "x",
        )
        .unwrap();
        let s = &set.features[0].strategies;
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].name, "userWithId");
        assert_eq!(s[1].name, "flexibleRollout");
        assert_eq!(s[1].constraints.len(), 1);

        let (_, flags) =
            parse_compiled("[f]\nusers = [\"vip\"]\nwhen = { beta = true }\n", "x").unwrap();
        assert!(flags.is_enabled("f", &Context::new().user_id("vip")));
        assert!(flags.is_enabled("f", &Context::new().user_id("x").property("beta", "true")));
        assert!(!flags.is_enabled("f", &Context::new().user_id("x")));
    }

    #[test]
    fn write_uses_shorthands_and_reads_back() {
        let set = parse(SEED, "flags.toml").unwrap();
        let text = write(&set).unwrap();
        for line in [
            "rollout = 20",
            "users = [\"user_123\", \"user_456\"]",
            "when = { beta = true }",
            "enabled = false",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        assert!(!text.contains("rules"), "{text}");
        assert_eq!(parse(&text, "x").unwrap(), set);
    }

    /// Flags only rules can say are written as rules, and still read back.
    #[test]
    fn write_falls_back_to_rules_and_explicit_forms() {
        let set = FlagSet {
            version: 2,
            features: vec![
                Feature {
                    name: "no_strategies".into(),
                    enabled: true,
                    ..Feature::default()
                },
                Feature {
                    name: "users_or_everyone".into(),
                    enabled: true,
                    strategies: vec![
                        Strategy {
                            name: "userWithId".into(),
                            parameters: params(&[("userIds", "a,b")]),
                            ..Strategy::default()
                        },
                        Strategy {
                            name: "default".into(),
                            ..Strategy::default()
                        },
                    ],
                    ..Feature::default()
                },
                Feature {
                    name: "odd".into(),
                    enabled: true,
                    strategies: vec![Strategy {
                        name: "flexibleRollout".into(),
                        parameters: params(&[("rollout", "30"), ("stickiness", "tenant")]),
                        constraints: vec![
                            Constraint {
                                context_name: "x".into(),
                                operator: "NUM_GT".into(),
                                value: Some("3".into()),
                                ..Constraint::default()
                            },
                            Constraint {
                                context_name: "x".into(),
                                operator: "NUM_LT".into(),
                                value: Some("9".into()),
                                ..Constraint::default()
                            },
                        ],
                        variants: vec![
                            VariantDef {
                                name: "a".into(),
                                weight: 333,
                                weight_type: Some("variable".into()),
                                stickiness: Some("default".into()),
                                ..VariantDef::default()
                            },
                            VariantDef {
                                name: "b".into(),
                                weight: 667,
                                weight_type: Some("fix".into()),
                                ..VariantDef::default()
                            },
                        ],
                        disabled: Some(false),
                        ..Strategy::default()
                    }],
                    ..Feature::default()
                },
            ],
            segments: vec![],
        };
        let text = write(&set).unwrap();
        assert!(text.contains("rules = []"), "{text}");
        let back = read_text(&text, "x").unwrap();
        assert!(back.errors.is_empty(), "{:?}", back.errors);
        assert_eq!(back.set, set, "{text}");
    }

    #[test]
    fn bad_flags_name_flag_field_line_and_column() {
        assert_errors(&[
            (
                "[f]\nrolout = 20\n",
                &["flags.toml:2:1: flag `f`, field `rolout`: unknown key `rolout` (did you mean `rollout`?)"],
            ),
            (
                "[f]\nenabled = \"no\"\n",
                &["flags.toml:2:11: flag `f`, field `enabled`: expected true or false, found a string"],
            ),
            ("top = 1\n", &["flag `top` must be a table"]),
            (
                "[\" \"]\n",
                &["flags.toml:1:2: flag ` `: a flag needs a non-empty name"],
            ),
        ]);
        // One error for a blank name, not the engine's too.
        assert_eq!(errors("[\"\"]\n").len(), 1);
    }
}
