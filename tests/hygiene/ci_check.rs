//! The CI check: a misspelt flag in code fails with its call site and a
//! suggestion; a file defining every flag the code uses passes; at startup
//! the app warns once per undefined flag.

use std::path::PathBuf;

use flags_middleware::hygiene::{check_flags_defined, referenced_names, HYGIENE_TARGET};
use flags_middleware::testing::assert_flags_defined;
use flags_middleware::{flag, Flags};

use crate::support::Recorder;

// The typo under test: the flags files below define `new_checkout_flow`.
const TYPO_LINE: u32 = line!() + 1;
flag!(CHECKOUT_TYPO = "new_chekout_flow");

/// A TOML file defining every flag this test binary's code uses, with
/// `new_checkout_flow` in place of the typo when `with_typo` is false.
fn toml_file(dir: &tempfile::TempDir, with_typo: bool) -> PathBuf {
    let mut text = String::from("[new_checkout_flow]\n");
    for name in referenced_names() {
        let typo = name == "new_chekout_flow" && !with_typo;
        if !typo && name != "new_checkout_flow" {
            text.push_str(&format!("[\"{name}\"]\n"));
        }
    }
    let path = dir.path().join(format!("flags-{with_typo}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_misspelt_flag_fails_with_its_call_site_and_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let path = toml_file(&dir, false);
    let message = check_flags_defined(&path).unwrap_err();
    assert!(
        message.starts_with(&format!(
            "1 flag(s) used in code are not defined in {}:",
            path.display()
        )),
        "{message}"
    );
    assert!(
        message.contains(
            "`new_chekout_flow` is used in code but not defined (did you mean `new_checkout_flow`?)"
        ),
        "{message}"
    );
    let site =
        format!("at tests/hygiene/ci_check.rs:{TYPO_LINE}:7 (hygiene::ci_check::CHECKOUT_TYPO)");
    assert!(message.contains(&site), "{site} in {message}");

    let panic = std::panic::catch_unwind(|| assert_flags_defined(&path)).unwrap_err();
    let shown = panic.downcast_ref::<String>().unwrap();
    assert_eq!(*shown, message);
}

#[test]
fn every_flag_defined_passes_in_toml_and_unleash_json() {
    let dir = tempfile::tempdir().unwrap();
    assert_flags_defined(toml_file(&dir, true));

    let features: Vec<serde_json::Value> = referenced_names()
        .into_iter()
        .map(|name| serde_json::json!({"name": name, "enabled": true, "strategies": []}))
        .collect();
    let json = dir.path().join("export.json");
    std::fs::write(
        &json,
        serde_json::json!({"version": 2, "features": features}).to_string(),
    )
    .unwrap();
    assert_flags_defined(&json);

    // Without the typo's definition, the JSON check fails the same way.
    let fewer: Vec<&serde_json::Value> = features
        .iter()
        .filter(|f| f["name"] != "new_chekout_flow")
        .collect();
    std::fs::write(&json, serde_json::to_string(&fewer).unwrap()).unwrap();
    let message = check_flags_defined(&json).unwrap_err();
    assert!(
        message.contains("`new_chekout_flow` is used in code"),
        "{message}"
    );
}

#[test]
fn an_unreadable_file_is_an_error_naming_it() {
    let err = check_flags_defined("/nonexistent/flags.toml").unwrap_err();
    assert!(err.starts_with("/nonexistent/flags.toml: "), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"features": [{"enabled": true}]}"#).unwrap();
    let err = check_flags_defined(&bad).unwrap_err();
    assert!(err.contains("features[0] has no `name`"), "{err}");
}

#[test]
fn startup_warns_once_per_undefined_flag() {
    let dir = tempfile::tempdir().unwrap();
    let path = toml_file(&dir, false);
    let (recorder, _guard) = Recorder::install();
    let _flags = Flags::from_file(&path).unwrap();
    let warnings = recorder.with_target(HYGIENE_TARGET);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let warning = &warnings[0];
    assert_eq!(warning.level, tracing::Level::WARN);
    assert_eq!(warning.str("flag"), "new_chekout_flow");
    assert_eq!(warning.str("did_you_mean"), "new_checkout_flow");
    assert!(warning.str("call_sites").contains("CHECKOUT_TYPO"));
}

#[test]
fn building_the_layer_warns_once_per_handle() {
    let (recorder, _guard) = Recorder::install();
    let defined: String = referenced_names()
        .into_iter()
        .filter(|name| *name != "new_chekout_flow")
        .map(|name| format!("[\"{name}\"]\n"))
        .collect();
    let flags = Flags::from_toml_str(&defined, "flags.toml").unwrap();
    let _one = flags_middleware::FlagsLayer::new(flags.clone());
    let _two = flags_middleware::FlagsLayer::new(flags.clone());
    let warned: Vec<String> = recorder
        .with_target(HYGIENE_TARGET)
        .iter()
        .map(|w| w.str("flag").to_owned())
        .collect();
    assert_eq!(warned, ["new_chekout_flow"]);
}
