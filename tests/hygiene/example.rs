//! The shipped example's gates are in the registry of any binary that
//! links it, and its flags file defines every one of them (the CI check a
//! user adds, narrowed to the example's own code: this test binary also
//! holds deliberate typos).

use flags_middleware::hygiene::{defined_names, undefined_flags, uses_of};

const FLAGS_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/flags.toml");

#[test]
fn the_example_uses_only_flags_its_file_defines() {
    // Linking the example: its router refers to every gated handler.
    let _app = flags_examples::checkout_app::app;

    let gate = uses_of("new_checkout_flow");
    let gate = gate
        .iter()
        .find(|u| u.module_path.starts_with("flags_examples"))
        .unwrap();
    assert_eq!(
        (gate.item, gate.fallback),
        ("get_product", Some("get_product_legacy"))
    );
    assert!(
        gate.file.ends_with("examples/checkout_app.rs"),
        "{}",
        gate.file
    );
    let experiment = uses_of("checkout_experiment");
    assert_eq!(experiment[0].variant_fns, ["button_blue", "button_green"]);

    let defined = defined_names(FLAGS_FILE).unwrap();
    let missing: Vec<_> = undefined_flags(defined.iter().map(String::as_str))
        .into_iter()
        .filter(|u| {
            u.uses
                .iter()
                .any(|s| s.module_path.starts_with("flags_examples"))
        })
        .collect();
    assert!(missing.is_empty(), "{missing:?}");
}
