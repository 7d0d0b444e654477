//! Evaluation never panics, whatever the flags and whatever the context.

use flags_core::engine::Mode;
use flags_core::model::{Constraint, Feature, FlagSet, VariantDef, OPERATORS};
use flags_core::{Context, Snapshot};
use proptest::prelude::*;

const STRATEGIES: &[&str] = &[
    "default",
    "userWithId",
    "flexibleRollout",
    "gradualRolloutUserId",
    "gradualRolloutSessionId",
    "gradualRolloutRandom",
    "remoteAddress",
    "applicationHostname",
    "somethingElse",
];
const FIELDS: &[&str] = &[
    "userId",
    "sessionId",
    "remoteAddress",
    "currentTime",
    "appName",
    "x",
];

fn constraint() -> impl proptest::strategy::Strategy<Value = Constraint> {
    (
        prop::sample::select(FIELDS),
        prop::sample::select([OPERATORS, &["BOGUS"]].concat()),
        prop::collection::vec(".{0,12}", 0..3),
        prop::option::of(".{0,12}"),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(f, op, values, value, inverted, ci)| Constraint {
            context_name: f.into(),
            operator: op.into(),
            values,
            value,
            inverted,
            case_insensitive: ci,
        })
}

fn strategy() -> impl proptest::strategy::Strategy<Value = flags_core::model::Strategy> {
    (
        prop::sample::select(STRATEGIES),
        prop::collection::btree_map(
            prop::sample::select(
                &[
                    "rollout",
                    "percentage",
                    "stickiness",
                    "groupId",
                    "userIds",
                    "IPs",
                    "hostNames",
                ][..],
            ),
            ".{0,10}",
            0..4,
        ),
        prop::collection::vec(constraint(), 0..3),
        prop::collection::vec(("[a-c]", 0u32..3), 0..3),
    )
        .prop_map(
            |(name, params, constraints, variants)| flags_core::model::Strategy {
                name: name.into(),
                parameters: params
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
                constraints,
                variants: variants
                    .into_iter()
                    .map(|(n, w)| VariantDef {
                        name: n,
                        weight: w,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            },
        )
}

fn context() -> impl proptest::strategy::Strategy<Value = Context> {
    (
        prop::option::of(".{0,10}"),
        prop::option::of(".{0,10}"),
        prop::option::of(".{0,16}"),
        prop::option::of(".{0,10}"),
        prop::option::of(".{0,25}"),
    )
        .prop_map(|(u, s, ip, x, t)| {
            let mut c = Context::new();
            if let Some(u) = u {
                c = c.user_id(u);
            }
            if let Some(s) = s {
                c = c.session_id(s);
            }
            if let Some(ip) = ip {
                c = c.remote_address(ip);
            }
            if let Some(x) = x {
                c = c.property("x", x);
            }
            if let Some(t) = t {
                c = c.property("currentTime", t);
            }
            c
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn evaluation_never_panics(
        strategies in prop::collection::vec(strategy(), 0..3),
        variants in prop::collection::vec(("[a-c]", 0u32..5), 0..3),
        enabled in any::<bool>(),
        ctx in context(),
    ) {
        let set = FlagSet {
            features: vec![Feature {
                name: "f".into(),
                enabled,
                strategies,
                variants: variants.into_iter().map(|(n, w)| VariantDef { name: n, weight: w, ..Default::default() }).collect(),
                ..Default::default()
            }],
            ..Default::default()
        };
        // Lenient always loads; strict either loads or says why.
        let snap = Snapshot::compile(&set, Mode::Lenient, "prop").unwrap();
        let _ = snap.is_enabled("f", &ctx);
        let v = snap.variant("f", &ctx);
        prop_assert!(!v.enabled || v.feature_enabled);
        let e = snap.evaluate("f", &ctx);
        // Two evaluations agree unless a random roll (no sticky id) decided.
        prop_assert!(e.random || e.enabled == snap.is_enabled("f", &ctx));
        match Snapshot::compile(&set, Mode::Strict, "prop") {
            Ok(strict) => { let _ = strict.evaluate("f", &ctx); }
            Err(errors) => prop_assert!(!errors.errors().is_empty()),
        }
    }
}
