//! The link-time registry: each gate and typed key of this test crate is
//! listed with its file, line, column, module and item.

use flags_middleware::hygiene::{registry, uses_of, FlagUse, UseKind};
use flags_middleware::testing::TestFlags;
use flags_middleware::{feature_gated, flag, Context, FlagContext, FlagKey};

const GATED_LINE: u32 = line!() + 3;

#[feature_gated("hygiene_gate", variants(blue = gated_blue), fallback = gated_legacy)]
pub(crate) async fn gated(_flags: &FlagContext) -> &'static str {
    "new"
}

async fn gated_blue(_flags: &FlagContext) -> &'static str {
    "blue"
}

async fn gated_legacy(_flags: &FlagContext) -> &'static str {
    "legacy"
}

const KEY_LINE: u32 = line!() + 1;
flag!(HYGIENE_KEY = "hygiene_key");

flag! {
    /// Two in one call, the second public.
    HYGIENE_KEY_A = "hygiene_key_a";
    pub(crate) HYGIENE_KEY_B = "hygiene_key_b";
}

fn only(name: &str) -> &'static FlagUse {
    let uses = uses_of(name);
    assert_eq!(uses.len(), 1, "{name}: {uses:?}");
    uses[0]
}

#[test]
fn a_gate_registers_its_flag_location_function_and_fallback() {
    let gate = only("hygiene_gate");
    assert_eq!(gate.kind, UseKind::Gate);
    assert!(
        gate.file.ends_with("tests/hygiene/registry.rs"),
        "{}",
        gate.file
    );
    assert_eq!(gate.line, GATED_LINE);
    // `pub(crate) async fn gated`: the name starts at column 21.
    assert_eq!(gate.column, 21);
    assert_eq!(gate.module_path, "hygiene::registry");
    assert_eq!(gate.item, "gated");
    assert_eq!(gate.fallback, Some("gated_legacy"));
    assert_eq!(gate.variant_fns, ["gated_blue"]);
    assert_eq!(
        gate.call_site(),
        format!("{}:{GATED_LINE}:21 (hygiene::registry::gated)", gate.file)
    );
}

#[test]
fn a_typed_key_registers_its_location_and_constant() {
    let key = only("hygiene_key");
    assert_eq!(key.kind, UseKind::Key);
    assert!(key.file.ends_with("tests/hygiene/registry.rs"));
    assert_eq!((key.line, key.column), (KEY_LINE, 7));
    assert_eq!(key.module_path, "hygiene::registry");
    assert_eq!((key.item, key.fallback), ("HYGIENE_KEY", None));
    assert_eq!(only("hygiene_key_a").item, "HYGIENE_KEY_A");
    assert_eq!(only("hygiene_key_b").line, KEY_LINE + 5);
}

#[test]
fn the_registry_is_sorted_by_name_and_lists_this_crates_uses() {
    let names: Vec<&str> = registry().map(|u| u.name).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    for name in [
        "hygiene_gate",
        "hygiene_key",
        "hygiene_key_a",
        "hygiene_key_b",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
}

#[tokio::test]
async fn typed_keys_and_strings_ask_the_same_flag() {
    let flags = TestFlags::new()
        .on("hygiene_key")
        .variant("hygiene_gate", "blue")
        .build();
    let key: FlagKey = HYGIENE_KEY;
    assert!(flags.is_enabled(key, &Context::new()));
    assert!(!flags.is_enabled(HYGIENE_KEY_A, &Context::new()));
    let ctx = FlagContext::for_test(&flags, Context::new().user_id("u1"));
    assert!(ctx.is_enabled(HYGIENE_KEY));
    assert!(ctx.is_enabled("hygiene_key"));
    assert!(!ctx.is_enabled(HYGIENE_KEY_B));
    assert_eq!(ctx.variant(HYGIENE_KEY).name, "disabled");
    assert_eq!(gated(&ctx).await, "blue");
}
