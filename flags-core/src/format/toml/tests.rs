use super::*;
use crate::model::{Constraint, Dependency, Strategy, VariantDef};
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

fn params(pairs: &[(&str, &str)]) -> crate::model::Parameters {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn errors(text: &str) -> Vec<String> {
    match parse(text, "flags.toml") {
        Ok(_) => Vec::new(),
        Err(e) => e.errors().iter().map(ToString::to_string).collect(),
    }
}

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
fn explicit_rules_segments_variants_and_dependencies() {
    let text = r#"
[segments.internal]
when = { email = { op = "ends_with", values = ["@acme.com"], case_insensitive = true } }

[parent]

[exp]
variants = { blue = 50, green = 50 }

[checkout]
requires = ["parent", { flag = "exp", variants = ["blue"] }, { flag = "legacy", enabled = false }]
[[checkout.rules]]
segments = ["internal"]
[[checkout.rules]]
rollout = 10
when = [
  { field = "appVersion", op = "semver_gte", value = "2.0.0" },
  { field = "country", values = ["NO", "SE"], not = true },
]
variants = ["a", "b", "c"]
[[checkout.rules]]
strategy = "remoteAddress"
parameters = { IPs = "10.0.0.0/8" }

[legacy]
enabled = false
"#;
    let set = parse(text, "x").unwrap();
    assert_eq!(set.segments.len(), 1);
    assert_eq!(set.segments[0].id, 1);
    assert_eq!(set.segments[0].constraints[0].operator, "STR_ENDS_WITH");
    let checkout = set.feature("checkout").unwrap();
    assert_eq!(checkout.strategies.len(), 3);
    assert_eq!(checkout.strategies[0].name, "default");
    assert_eq!(checkout.strategies[0].segments, vec![1]);
    assert_eq!(checkout.strategies[1].constraints[0].operator, "SEMVER_GTE");
    assert!(checkout.strategies[1].constraints[1].inverted);
    // Unleash's even split: 1000 / 3, the first one gets the remainder.
    let weights: Vec<u32> = checkout.strategies[1]
        .variants
        .iter()
        .map(|v| v.weight)
        .collect();
    assert_eq!(weights, vec![334, 333, 333]);
    assert_eq!(
        checkout.strategies[2].parameters,
        params(&[("IPs", "10.0.0.0/8")])
    );
    assert_eq!(
        checkout.dependencies[1],
        Dependency {
            feature: "exp".into(),
            enabled: None,
            variants: Some(vec!["blue".into()])
        }
    );
    assert_eq!(checkout.dependencies[2].enabled, Some(false));
    let exp = set.feature("exp").unwrap();
    assert_eq!(
        exp.variants.iter().map(|v| v.weight).collect::<Vec<_>>(),
        vec![500, 500]
    );
}

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

/// (file, expected error texts: each must appear, in order).
const BAD: &[(&str, &[&str])] = &[
    (
        "[new_checkout_flow]\nrollout = 150\n",
        &["flags.toml:2:11: flag `new_checkout_flow`, field `rollout`: a percentage must be between 0 and 100, got 150"],
    ),
    (
        "[f]\nrolout = 20\n",
        &["flags.toml:2:1: flag `f`, field `rolout`: unknown key `rolout` (did you mean `rollout`?)"],
    ),
    (
        "[f]\nenabled = \"no\"\n",
        &["flags.toml:2:11: flag `f`, field `enabled`: expected true or false, found a string"],
    ),
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
    ("[f]\n[f]\n", &["flags.toml:2:2: `f` is defined twice"]),
    (
        "[f]\nsegments = [\"staff\"]\n",
        &["flags.toml:2:13: flag `f`, field `segments[0]`: unknown segment `staff`"],
    ),
    (
        "[f]\nrequires = \"nope\"\n",
        &["flags.toml:2:12: flag `f`, field `requires`: unknown parent flag `nope`"],
    ),
    (
        "[a]\nrequires = \"b\"\n[b]\nrequires = \"c\"\n[c]\nrequires = \"a\"\n",
        &["flag `a`, field `requires`: dependency cycle: a -> b -> c -> a"],
    ),
    (
        "[a]\nrequires = \"a\"\n",
        &["flags.toml:2:12: flag `a`, field `requires`: a flag cannot depend on itself"],
    ),
    (
        "[f]\nvariants = { a = 30, b = 30 }\n",
        &["field `variants`: variant weights add up to 60%, not 100%"],
    ),
    (
        "[f]\nguard = { max_eror_rate = \"5%\" }\n",
        &["flags.toml:2:11: flag `f`, field `guard.max_eror_rate`: unknown key `max_eror_rate` (did you mean `max_error_rate`?)"],
    ),
    (
        "[f]\nguard = { max_error_rate = \"150%\" }\n",
        &["flags.toml:2:28: flag `f`, field `guard.max_error_rate`: `150%` is not a percentage below 100%"],
    ),
    (
        "[f]\nguard = { window = \"5 minutes\" }\n",
        &["flags.toml:2:20: flag `f`, field `guard.window`: `5 minutes` is not a duration"],
    ),
    (
        "[f]\nguard = { window = \"1s\", bucket = \"5s\" }\n",
        &["flags.toml:2:20: flag `f`, field `guard.window`: must be at least one bucket"],
    ),
    (
        "[f]\nguard = \"yes\"\n",
        &["flags.toml:2:9: flag `f`, field `guard`: expected true, false or a table of guard settings, found a string"],
    ),
    (
        "[f]\nplan = [{ percent = 25, for = \"1d\" }, { percent = 5 }]\n",
        &["flags.toml:2:8: flag `f`, field `plan`: steps must go up: 5% comes after 25%"],
    ),
    (
        "[f]\nplan = [{ percent = 5, for = 1 }]\n",
        &["flags.toml:2:30: flag `f`, field `plan[0].for`: expected a duration"],
    ),
    (
        "[f]\nplan = [{ for = \"1d\" }]\n",
        &["flag `f`, field `plan[0]`: a plan step needs `percent`"],
    ),
    (
        "[f]\nplan = { steps = \"gradual\", started = \"yesterday\" }\n",
        &["flags.toml:2:39: flag `f`, field `plan.started`: `yesterday` is not an RFC 3339 time"],
    ),
    (
        "[f]\nplan = \"fast\"\n",
        &["flags.toml:2:8: flag `f`, field `plan`: unknown plan `fast`"],
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
    ("not toml at all", &["flags.toml:1:"]),
    ("top = 1\n", &["flag `top` must be a table"]),
    (
        "[f]\nrollout = 20.5\n",
        &["field `rollout`: expected a whole percentage from 0 to 100, found a float"],
    ),
    (
        "[f]\n[[f.variants]]\nname = \"a\"\npayload = { type = \"json\", value = \"{oops\" }\n",
        &["payload is not valid JSON"],
    ),
];

#[test]
fn bad_files_name_flag_field_line_and_column() {
    for (text, expected) in BAD {
        let got = errors(text).join("\n");
        let mut rest = got.as_str();
        for e in *expected {
            let at = rest
                .find(e)
                .unwrap_or_else(|| panic!("expected `{e}` in errors for {text:?}, got:\n{got}"));
            rest = &rest[at + e.len()..];
        }
    }
}

#[test]
fn every_error_is_collected() {
    let text = "[a]\nrollout = 150\n[b]\nusers = \"x\"\n[c]\nwhen = { v = { op = \"regex\", value = \"[\" } }\n[d]\nrequires = \"zz\"\n";
    let got = errors(text);
    assert_eq!(got.len(), 4, "{got:#?}");
    // In line order.
    assert!(got[0].contains(":2:"));
    assert!(got[3].contains(":8:"));
}

#[test]
fn a_bad_file_changes_nothing() {
    assert!(parse_compiled("[a]\nrollout = 20\n[b]\nrollout = 101\n", "x").is_err());
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
    let back = read::read_text(&text, "x").unwrap();
    assert!(back.errors.is_empty(), "{:?}", back.errors);
    assert_eq!(back.set, set, "{text}");
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

#[test]
fn json_bodies_use_the_toml_shape() {
    let f = feature_from_json(
        "exp",
        r#"{"rollout": {"percent": 20}, "variants": {"green": 30, "blue": 70}}"#,
        &[],
        "admin api",
    )
    .unwrap();
    assert_eq!(f.variants[0].name, "green");
    assert_eq!(f.strategies[0].parameters["rollout"], "20");
    let err = feature_from_json("exp", r#"{"rollout": 150}"#, &[], "admin api").unwrap_err();
    assert_eq!(
        err.to_string(),
        "admin api: flag `exp`, field `rollout`: a percentage must be between 0 and 100, got 150"
    );
    let back = feature_to_json(&f, &[]).unwrap();
    assert_eq!(
        feature_from_json("exp", &back.to_string(), &[], "x").unwrap(),
        f
    );
}

/// Every flag in Unleash's conformance files that the format can express
/// reads back unchanged.
#[test]
fn unleash_spec_flags_round_trip() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/unleash-spec");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let mut checked = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.file_name().is_some_and(|n| n == "index.json") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let Some(state) = json.get("state") else {
            continue;
        };
        let Ok(set) = FlagSet::from_unleash_json(&state.to_string()) else {
            continue;
        };
        for f in &set.features {
            // Unleash JSON may hold what the strict format rejects (unknown
            // strategies, empty names); those are skipped, the rest must
            // come back exactly.
            if let Ok(table) = write::feature_table(f, &set.segments) {
                let mut r = read::Reader::new("x", None).with_segments(&set.segments);
                assert_eq!(
                    r.flag(&f.name, None, node::Node::Table(&table)).as_ref(),
                    Some(f)
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "only {checked} flags checked");
}

mod props {
    use proptest::prelude::*;

    use super::super::{read, write};
    use crate::model::{
        Constraint, Dependency, Feature, FlagSet, Segment, Strategy as Strat, VariantDef,
    };

    fn name() -> impl Strategy<Value = String> {
        "[a-z][a-z0-9_]{0,8}".prop_map(|s| s)
    }

    fn constraint() -> impl Strategy<Value = Constraint> {
        let ops = prop_oneof![
            Just(("IN", None)),
            Just(("NOT_IN", None)),
            Just(("STR_CONTAINS", None)),
            Just(("NUM_GT", Some("3.5"))),
            Just(("SEMVER_LTE", Some("1.2.3"))),
            Just(("DATE_BEFORE", Some("2030-01-01T00:00:00Z"))),
            Just(("REGEX", Some("^a.*z$"))),
        ];
        (
            prop_oneof![Just("userId".to_owned()), Just("beta".to_owned()), name()],
            ops,
            proptest::collection::vec("[a-z0-9]{1,5}|true|false", 0..3),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(field, (op, value), values, inverted, ci)| Constraint {
                context_name: field,
                operator: op.into(),
                values: if value.is_some() { vec![] } else { values },
                value: value.map(Into::into),
                inverted,
                case_insensitive: ci,
            })
    }

    fn variants() -> impl Strategy<Value = Vec<VariantDef>> {
        proptest::collection::vec(
            (
                0u32..=1000,
                prop_oneof![
                    Just(None),
                    Just(Some("fix".to_owned())),
                    Just(Some("variable".to_owned()))
                ],
                prop_oneof![Just(None), Just(Some("userId".to_owned()))],
            ),
            0..4,
        )
        .prop_map(|vs| {
            vs.into_iter()
                .enumerate()
                .map(|(i, (weight, weight_type, stickiness))| VariantDef {
                    name: format!("v{i}"),
                    weight,
                    weight_type,
                    stickiness,
                    ..VariantDef::default()
                })
                .collect()
        })
    }

    fn strategy() -> impl Strategy<Value = Strat> {
        let kind = prop_oneof![
            Just(("default", vec![])),
            (0u32..=100).prop_map(|p| (
                "flexibleRollout",
                vec![
                    ("rollout", p.to_string()),
                    ("stickiness", "default".to_owned()),
                    ("groupId", "g".to_owned())
                ]
            )),
            Just(("userWithId", vec![("userIds", "a,b".to_owned())])),
            Just(("remoteAddress", vec![("IPs", "10.0.0.1".to_owned())])),
        ];
        (
            kind,
            proptest::collection::vec(constraint(), 0..3),
            proptest::collection::vec(1u32..=2, 0..2),
            variants(),
        )
            .prop_map(|((name, params), constraints, segments, variants)| Strat {
                name: name.into(),
                parameters: params.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
                constraints,
                segments,
                variants,
                disabled: None,
            })
    }

    fn feature() -> impl Strategy<Value = Feature> {
        (
            name(),
            proptest::option::of("[ -~]{0,20}"),
            any::<bool>(),
            proptest::collection::vec(strategy(), 0..3),
            variants(),
            proptest::collection::vec((name(), proptest::option::of(any::<bool>())), 0..2),
            proptest::option::of(guard()),
            proptest::option::of(plan()),
        )
            .prop_map(
                |(name, description, enabled, strategies, variants, deps, guard, plan)| Feature {
                    name,
                    description,
                    enabled,
                    strategies,
                    variants,
                    dependencies: deps
                        .into_iter()
                        .map(|(feature, enabled)| Dependency {
                            feature,
                            enabled,
                            variants: None,
                        })
                        .collect(),
                    guard: guard.map(Box::new),
                    plan: plan.map(Box::new),
                    ..Feature::default()
                },
            )
    }

    /// Any guard settings, valid or not: the format must carry them as they are.
    fn guard() -> impl Strategy<Value = crate::model::GuardSpec> {
        let fraction = proptest::option::of(0.0..0.999f64);
        let ms = proptest::option::of(0..10_000_000_000u64);
        (
            proptest::option::of(1..1_000_000u64),
            fraction.clone(),
            fraction.clone(),
            fraction,
            ms.clone(),
            ms.clone(),
            proptest::option::of(name()),
            proptest::option::of((
                proptest::option::of(0.01..0.999f64),
                proptest::option::of(1.0..10.0f64),
                ms,
            )),
        )
            .prop_map(
                |(
                    min_requests,
                    min_difference,
                    max_error_rate,
                    alpha,
                    window_ms,
                    bucket_ms,
                    variant,
                    latency,
                )| {
                    crate::model::GuardSpec {
                        min_requests,
                        min_difference,
                        max_error_rate,
                        alpha,
                        window_ms,
                        bucket_ms,
                        variant,
                        latency: latency.map(|(quantile, factor, min_increase_ms)| {
                            crate::model::LatencySpec {
                                quantile,
                                factor,
                                min_increase_ms,
                            }
                        }),
                    }
                },
            )
    }

    fn plan() -> impl Strategy<Value = crate::model::PlanSpec> {
        let ms = proptest::option::of(0..4_000_000_000_000u64);
        (
            proptest::collection::vec((0..=100u32, 0..1_000_000_000_000u64), 0..5),
            any::<bool>(),
            ms.clone(),
            ms,
        )
            .prop_map(
                |(steps, paused, started_ms, done_ms)| crate::model::PlanSpec {
                    paused,
                    started_ms,
                    done_ms,
                    ..crate::model::PlanSpec::from_steps(steps)
                },
            )
    }

    proptest! {
        /// Anything the writer writes, the reader reads back as it was.
        #[test]
        fn write_then_read_is_identity(mut features in proptest::collection::vec(feature(), 1..5)) {
            features.sort_by(|a, b| a.name.cmp(&b.name));
            features.dedup_by(|a, b| a.name == b.name);
            let segments = vec![
                Segment { id: 1, name: Some("one".into()), constraints: vec![] },
                Segment { id: 2, name: Some("two".into()), constraints: vec![] },
            ];
            for f in &features {
                let table = write::feature_table(f, &segments);
                // The writer may refuse a flag the format cannot hold, but
                // never writes one that reads back differently.
                if let Ok(table) = table {
                    let mut r = read::Reader::new("x", None).with_segments(&segments);
                    let back = r.flag(&f.name, None, super::super::node::Node::Table(&table));
                    prop_assert_eq!(back.as_ref(), Some(f));
                }
            }
            let set = FlagSet { version: 2, features, segments };
            if let Ok(doc) = write::document(&set) {
                let text = doc.to_string();
                // Dependencies may name flags that do not exist, so only
                // the shape is compared, through the reader's own checks
                // when they pass.
                if let Ok(back) = read::read_text(&text, "x") {
                    if back.errors.is_empty() {
                        prop_assert_eq!(back.set, set);
                    }
                }
            }
        }
    }
}

#[test]
fn guard_and_plan_read_as_a_person_writes_them() {
    let text = r#"
[new_checkout_flow]
rollout = 5
guard = { min_requests = 100, min_difference = "2%", max_error_rate = 0.2, alpha = 1e-5, window = "10m", bucket = "10s", latency = { quantile = "p99", factor = 2, min_increase = "20ms" } }
plan = [{ percent = 5, for = "1d" }, { percent = 50, for = "1h30m" }, { percent = 100 }]

[ab_test]
variants = { blue = 50, green = 50 }
guard = { variant = "green" }
plan = { steps = "gradual", paused = true }

[plain]
guard = true

[mid_step]
plan = { steps = [{ percent = 10, for = "2d" }, { percent = 100 }], started = "2026-11-26T09:00:00Z" }
"#;
    let set = parse(text, "flags.toml").unwrap();
    let f = set.feature("new_checkout_flow").unwrap();
    let g = f.guard.as_deref().unwrap();
    assert_eq!(g.min_requests, Some(100));
    assert_eq!(g.min_difference, Some(0.02));
    assert_eq!(g.max_error_rate, Some(0.2));
    assert_eq!(g.alpha, Some(1e-5));
    assert_eq!((g.window_ms, g.bucket_ms), (Some(600_000), Some(10_000)));
    let l = g.latency.as_ref().unwrap();
    assert_eq!(
        (l.quantile, l.factor, l.min_increase_ms),
        (Some(0.99), Some(2.0), Some(20))
    );
    assert_eq!(
        **f.plan.as_ref().unwrap(),
        crate::model::PlanSpec::from_steps([(5, 86_400_000), (50, 5_400_000), (100, 0)])
    );
    let ab = set.feature("ab_test").unwrap();
    assert_eq!(ab.guard.as_ref().unwrap().variant.as_deref(), Some("green"));
    let plan = ab.plan.as_deref().unwrap();
    assert!(plan.paused);
    assert_eq!(plan.plan().unwrap(), crate::guard::Plan::gradual());
    let mid = set.feature("mid_step").unwrap().plan.as_deref().unwrap();
    assert_eq!(mid.started_ms, Some(1_795_683_600_000));
    assert_eq!(
        set.feature("plain").unwrap().guard.as_deref(),
        Some(&crate::model::GuardSpec::default())
    );
    // And back, in the same words.
    let written = write(&set).unwrap();
    for line in [
        "guard = true",
        "min_difference = \"2%\"",
        "window = \"10m\"",
        "plan = [{ percent = 5, for = \"1d\" }, { percent = 50, for = \"1h30m\" }, { percent = 100 }]",
        "plan = { steps = \"gradual\", paused = true }",
        "started = \"2026-11-26T09:00:00Z\"",
    ] {
        assert!(written.contains(line), "missing {line:?} in\n{written}");
    }
    assert_eq!(parse(&written, "x").unwrap(), set);
}

#[test]
fn guard_false_is_no_guard() {
    let set = parse("[f]\nguard = false\n", "flags.toml").unwrap();
    assert!(set.feature("f").unwrap().guard.is_none());
}

/// Issue 13 item 7: a flag with an error still takes part in the dependency
/// check, so a cycle through it is reported, and its name is no "unknown parent".
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
