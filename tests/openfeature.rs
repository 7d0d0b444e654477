//! The OpenFeature provider answers as the engine does: over the example's
//! flags and 300 callers, every `bool` evaluation through OpenFeature's
//! client has the value, reason and variant of `Flags::details` for the same
//! caller.

use flags_middleware::{Context, Flags};
use flags_openfeature::FlagsProvider;
use open_feature::{EvaluationContext, OpenFeature};

#[tokio::test]
async fn the_provider_answers_as_flags_details_over_the_example_flags() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/flags.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let flags = Flags::from_toml_str(&text, "examples/flags.toml").unwrap();
    let mut api = OpenFeature::default();
    api.set_provider(FlagsProvider::new(flags.clone())).await;
    let client = api.create_client();

    let names: Vec<String> = flags
        .snapshot()
        .features()
        .map(|f| f.name.clone())
        .collect();
    assert!(names.len() >= 5, "{names:?}");
    let mut reasons = std::collections::BTreeSet::new();
    for i in 0..300 {
        let user = format!("user_{i}");
        let beta = i % 3 == 0;
        let ours = Context::new()
            .user_id(user.as_str())
            .property("beta", if beta { "true" } else { "false" });
        let theirs = EvaluationContext::default()
            .with_targeting_key(user.as_str())
            .with_custom_field("beta", beta);
        for name in &names {
            let want = flags.details(name, &ours);
            let got = client
                .get_bool_details(name, Some(&theirs), None)
                .await
                .unwrap();
            let arm = match (want.variant.enabled, want.enabled) {
                (true, _) => want.variant.name.as_str(),
                (false, true) => "on",
                (false, false) => "off",
            };
            // OpenFeature's reason names are ours, upper-cased (`TARGETING_MATCH`).
            assert_eq!(
                (
                    got.value,
                    got.reason.map(|r| r.to_string()),
                    got.variant.as_deref()
                ),
                (
                    want.enabled,
                    Some(want.reason.as_str().to_ascii_uppercase()),
                    Some(arm)
                ),
                "{name} for {user} (beta {beta})"
            );
            reasons.insert(format!("{:?}", want.reason));
        }
    }
    // Not degenerate: the example's flags give four kinds of answer (none
    // of them is on for everyone without a split, so no `Static`).
    assert_eq!(
        reasons.into_iter().collect::<Vec<_>>(),
        ["Default", "Disabled", "Split", "TargetingMatch"]
    );
}
