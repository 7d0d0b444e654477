//! Target `unleash_json`: Unleash client-API (and delta-API) JSON, loaded
//! and compiled in both modes. Oracle: no panic; a lenient load refuses
//! only duplicate names and accepts whatever a strict load accepts; the
//! model's JSON round trip is exact; a compiled snapshot gives each
//! definition back unchanged and evaluates consistently.

use flags_core::engine::Mode;
use flags_core::model::FlagSet;
use flags_core::Snapshot;

use crate::{caller, evaluate};

/// The only error a lenient load reports (see [`Mode::Lenient`]).
const DUPLICATE: &str = "flag is defined twice";

/// The target.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let set = match FlagSet::from_unleash_json(text) {
        Ok(set) => set,
        Err(e) => {
            assert!(!e.errors().is_empty(), "an error that says nothing");
            let _ = e.to_string();
            return;
        }
    };
    let json = set.to_unleash_json();
    let back = FlagSet::from_unleash_json(&json)
        .unwrap_or_else(|e| panic!("the model's own JSON does not load: {e}\n{json}"));
    assert_eq!(back, set, "the JSON round trip changed the set\n{json}");

    let strict = Snapshot::compile(&set, Mode::Strict, "fuzz.json");
    let lenient = Snapshot::compile(&set, Mode::Lenient, "fuzz.json");
    if let Err(e) = &strict {
        let _ = e.to_string();
    }
    let lenient = match (lenient, strict.is_ok()) {
        (Ok(snap), _) => snap,
        (Err(e), strict_ok) => {
            assert!(
                !strict_ok,
                "a strict load accepted what a lenient one refused: {e}"
            );
            assert!(
                e.errors().iter().all(|e| e.message == DUPLICATE),
                "a lenient load refused more than duplicates: {e}"
            );
            return;
        }
    };
    for snap in std::iter::once(&lenient).chain(strict.as_ref().ok()) {
        for f in &set.features {
            assert_eq!(
                snap.feature(&f.name).as_ref(),
                Some(f),
                "the snapshot changed flag `{}`",
                f.name
            );
        }
        for ctx in caller::fixed() {
            for f in &set.features {
                evaluate::check(snap, &f.name, &ctx);
            }
            evaluate::check_all(snap, &ctx);
        }
    }
}
