//! At startup: one WARN per flag the code refers to that the served flags
//! do not define (a typo, or a flag deleted while code still asks for it).

use crate::engine::Snapshot;

/// The target of the hygiene warnings.
pub const HYGIENE_TARGET: &str = "flags::hygiene";

/// Warns once per flag in the registry that `snapshot` does not define;
/// returns how many.
pub(crate) fn warn_undefined(snapshot: &Snapshot) -> usize {
    let undefined = super::undefined_flags(snapshot.names());
    for flag in &undefined {
        let sites: Vec<String> = flag.uses.iter().map(|u| u.to_string()).collect();
        tracing::warn!(
            target: HYGIENE_TARGET,
            flag = flag.name,
            did_you_mean = flag.did_you_mean.as_deref(),
            call_sites = sites.join(", "),
            "flag used in code is not defined: it is off for everyone"
        );
    }
    undefined.len()
}
