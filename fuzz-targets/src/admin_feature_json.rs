//! Target `admin_feature_json`: the reader behind the admin API's
//! TOML-shaped bodies (`flags_core::format::toml::feature_from_json`), on
//! any text, with the mixed set's segments to refer to. Oracle: no panic,
//! an error says something, and a flag that reads and compiles (in the
//! mixed set, so `requires` and `segments` resolve) reads back the same
//! from its own JSON shape.

use flags_core::engine::Mode;
use flags_core::format::toml;
use flags_core::Snapshot;

use crate::mixed;

/// The name the fuzzed flag is read under.
const NAME: &str = "fuzzed";

/// The target.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut set = mixed::flag_set().clone();
    let feature = match toml::feature_from_json(NAME, text, &set.segments, "admin api") {
        Ok(f) => f,
        Err(e) => {
            assert!(!e.errors().is_empty(), "an error that says nothing");
            let _ = e.to_string();
            return;
        }
    };
    set.upsert(feature.clone());
    if Snapshot::compile(&set, Mode::Strict, "admin api").is_err() {
        return;
    }
    let json = toml::feature_to_json(&feature, &set.segments).unwrap_or_else(|e| {
        panic!("a flag that compiles has no JSON shape: {e}\n--- body:\n{text}")
    });
    let back = toml::feature_from_json(NAME, &json.to_string(), &set.segments, "admin api")
        .unwrap_or_else(|e| panic!("its JSON shape {json} does not read: {e}\n--- body:\n{text}"));
    assert_eq!(back, feature, "JSON shape {json}\n--- body:\n{text}");
}
