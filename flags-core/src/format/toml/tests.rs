//! Tests of the format as a whole (every section together, the proptest
//! round trip, Unleash's conformance flags, JSON bodies), and the helpers
//! each section's tests share.

use super::*;
use crate::model::{Dependency, FlagSet};

/// Unleash strategy parameters from pairs.
pub(super) fn params(pairs: &[(&str, &str)]) -> crate::model::Parameters {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The errors for `text` as `flags.toml`, as displayed.
pub(super) fn errors(text: &str) -> Vec<String> {
    match parse(text, "flags.toml") {
        Ok(_) => Vec::new(),
        Err(e) => e.errors().iter().map(ToString::to_string).collect(),
    }
}

/// For each (file, expected error texts): each text appears in the file's
/// errors, in order.
pub(super) fn assert_errors(cases: &[(&str, &[&str])]) {
    for (text, expected) in cases {
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

/// `text` reads, is written with each of `lines`, and reads back the same.
pub(super) fn round_trip(text: &str, lines: &[&str]) {
    let set = parse(text, "flags.toml").unwrap_or_else(|e| panic!("{e}\nin\n{text}"));
    let written = write(&set).unwrap();
    for line in lines {
        assert!(written.contains(line), "missing {line:?} in\n{written}");
    }
    assert_eq!(parse(&written, "x").unwrap(), set, "{written}");
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
    // Missing data is a failure, not a pass (as the `unleash_spec` target).
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
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
            if let Ok(table) = writer::feature_table(f, &set.segments) {
                let mut r = reader::Reader::new("x", None).with_segments(&set.segments);
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

#[test]
fn bad_documents_name_line_and_column() {
    assert_errors(&[
        ("[f]\n[f]\n", &["flags.toml:2:2: `f` is defined twice"]),
        ("not toml at all", &["flags.toml:1:"]),
    ]);
}

mod props {
    use proptest::prelude::*;

    use super::super::document::{document, read_text};
    use super::super::reader::Reader;
    use super::super::writer::feature_table;
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
            // Weights as Unleash serves them: they make 1000 in all.
            let total: u32 = vs.iter().map(|(w, _, _)| w).sum();
            let mut weights: Vec<u32> = vs
                .iter()
                .map(|(w, _, _)| match total {
                    0 => 1000 / vs.len() as u32,
                    _ => w * 1000 / total,
                })
                .collect();
            let short = 1000 - weights.iter().sum::<u32>();
            if let Some(first) = weights.first_mut() {
                *first += short;
            }
            vs.into_iter()
                .zip(weights)
                .enumerate()
                .map(|(i, ((_, weight_type, stickiness), weight))| VariantDef {
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

    /// The round trip of `features`: how many flags were written and read
    /// back one by one, and whether the whole set was.
    fn round_trip(mut features: Vec<Feature>) -> Result<(usize, bool), TestCaseError> {
        features.sort_by(|a, b| a.name.cmp(&b.name));
        features.dedup_by(|a, b| a.name == b.name);
        let segments = vec![
            Segment {
                id: 1,
                name: Some("one".into()),
                constraints: vec![],
            },
            Segment {
                id: 2,
                name: Some("two".into()),
                constraints: vec![],
            },
        ];
        let mut flags_compared = 0;
        for f in &features {
            let table = feature_table(f, &segments);
            // The writer may refuse a flag the format cannot hold, but
            // never writes one that reads back differently.
            if let Ok(table) = table {
                let mut r = Reader::new("x", None).with_segments(&segments);
                let back = r.flag(&f.name, None, super::super::node::Node::Table(&table));
                prop_assert_eq!(back.as_ref(), Some(f));
                flags_compared += 1;
            }
        }
        let set = FlagSet {
            version: 2,
            features,
            segments,
        };
        let mut set_compared = false;
        if let Ok(doc) = document(&set) {
            let text = doc.to_string();
            // Dependencies may name flags that do not exist, so only
            // the shape is compared, through the reader's own checks
            // when they pass.
            if let Ok(back) = read_text(&text, "x") {
                if back.errors.is_empty() {
                    prop_assert_eq!(back.set, set);
                    set_compared = true;
                }
            }
        }
        Ok((flags_compared, set_compared))
    }

    proptest! {
        /// Anything the writer writes, the reader reads back as it was.
        #[test]
        fn write_then_read_is_identity(features in proptest::collection::vec(feature(), 1..5)) {
            round_trip(features)?;
        }
    }

    /// The property above compares often enough to mean something: nearly
    /// every generated flag is written, and most whole sets read back
    /// clean (a writer that refused everything would pass it otherwise).
    #[test]
    fn the_round_trip_property_is_not_vacuous() {
        use proptest::strategy::ValueTree;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let (mut generated, mut flags, mut sets) = (0, 0, 0);
        for _ in 0..200 {
            let features = proptest::collection::vec(feature(), 1..5)
                .new_tree(&mut runner)
                .unwrap()
                .current();
            generated += features.len();
            let (f, s) = round_trip(features).unwrap();
            flags += f;
            sets += usize::from(s);
        }
        // Today every one is (482 flags, 200 sets); the margins leave room
        // for generators of flags the format refuses on purpose.
        assert!(
            flags * 10 >= generated * 9,
            "{flags} of {generated} flags compared"
        );
        assert!(sets >= 150, "{sets} of 200 sets compared");
    }
}

#[test]
fn flag_names_follow_the_naming_rule() {
    let err = parse("[ok]\n\n[\"_status\"]\nrollout = 5\n", "flags.toml").unwrap_err();
    let e = &err.errors()[0];
    assert_eq!(e.flag.as_deref(), Some("_status"));
    assert_eq!(e.line, Some(3), "{err}");
    assert!(e.message.contains("starts with `_`"), "{err}");
    for bad in ["\"a b\"", "\"a/b\"", "\"..\"", "\"x\\u202e\"", "\" a\""] {
        assert!(parse(&format!("[{bad}]\n"), "flags.toml").is_err(), "{bad}");
    }
    assert!(parse("[\"Feature.UTF-8.Hellø_Wørld\"]\n", "flags.toml").is_ok());
}
