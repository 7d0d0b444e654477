//! Lists longer than the evaluator can index are refused with an error that
//! names the flag and the field, in both modes, instead of answering wrongly.

use flags_core::engine::Mode;
use flags_core::model::{Feature, FlagSet, Strategy, VariantDef};
use flags_core::Snapshot;

fn variant(i: usize) -> VariantDef {
    VariantDef {
        name: format!("v{i}"),
        weight: 1,
        ..VariantDef::default()
    }
}

fn set_with(feature: Feature) -> FlagSet {
    FlagSet {
        features: vec![feature],
        ..FlagSet::default()
    }
}

#[test]
fn too_many_variants_are_refused_in_both_modes() {
    let feature = Feature {
        name: "wide".into(),
        enabled: true,
        variants: (0..70_000).map(variant).collect(),
        ..Feature::default()
    };
    for mode in [Mode::Strict, Mode::Lenient] {
        let err = Snapshot::compile(&set_with(feature.clone()), mode, "flags.json").unwrap_err();
        let first = &err.errors()[0];
        assert_eq!(first.flag.as_deref(), Some("wide"), "{err}");
        assert_eq!(first.field.as_deref(), Some("variants"), "{err}");
        assert!(first.message.contains("at most 65534"), "{err}");
    }
}

#[test]
fn too_many_strategies_are_refused() {
    let feature = Feature {
        name: "long".into(),
        enabled: true,
        strategies: vec![
            Strategy {
                name: "default".into(),
                ..Strategy::default()
            };
            65_535
        ],
        ..Feature::default()
    };
    let err = Snapshot::compile(&set_with(feature), Mode::Lenient, "flags.json").unwrap_err();
    assert_eq!(
        err.errors()[0].field.as_deref(),
        Some("strategies"),
        "{err}"
    );
}

#[test]
fn the_longest_supported_variant_list_compiles_and_serves_its_last_variant() {
    // One weighted variant at the very end: the last index must be picked.
    let mut variants: Vec<VariantDef> = (0..65_534).map(variant).collect();
    for v in &mut variants {
        v.weight = 0;
    }
    variants.last_mut().unwrap().weight = 1000;
    let feature = Feature {
        name: "wide".into(),
        enabled: true,
        variants,
        ..Feature::default()
    };
    let snapshot = Snapshot::compile(&set_with(feature), Mode::Strict, "flags.json").unwrap();
    let ctx = flags_core::Context::new().user_id("u1");
    assert_eq!(snapshot.variant("wide", &ctx).name, "v65533");
}
