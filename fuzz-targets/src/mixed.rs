//! The flag set the evaluator and admin targets run against: every
//! strategy, operator, variant shape and dependency the engine knows
//! (`mixed.toml`), compiled once per process.

use std::sync::OnceLock;

use flags_core::format::toml;
use flags_core::model::FlagSet;
use flags_core::Snapshot;

/// The set's TOML text.
pub const MIXED_TOML: &str = include_str!("mixed.toml");

fn loaded() -> &'static (FlagSet, Snapshot, Vec<String>) {
    static LOADED: OnceLock<(FlagSet, Snapshot, Vec<String>)> = OnceLock::new();
    LOADED.get_or_init(|| match toml::parse_compiled(MIXED_TOML, "mixed.toml") {
        Ok((set, snapshot)) => {
            let names = set.features.iter().map(|f| f.name.clone()).collect();
            (set, snapshot, names)
        }
        Err(e) => panic!("the fuzzers' own flag set does not load: {e}"),
    })
}

/// The set, as read.
pub fn flag_set() -> &'static FlagSet {
    &loaded().0
}

/// The set, compiled (strictly, as a hand-written file is).
///
/// ```
/// assert!(flags_fuzz_targets::mixed::snapshot().len() > 20);
/// ```
pub fn snapshot() -> &'static Snapshot {
    &loaded().1
}

/// The names of its flags, in the order written (so that a byte picking
/// one picks the same flag in every run).
pub fn names() -> &'static [String] {
    &loaded().2
}
