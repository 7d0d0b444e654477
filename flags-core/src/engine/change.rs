//! [`Change`]: what [`Snapshot::apply`](super::Snapshot::apply) applies.

use crate::model::{Feature, Segment};

/// One change to a flag set; see [`Snapshot::apply`](super::Snapshot::apply).
///
/// ```
/// use flags_core::engine::{Change, Mode, Snapshot};
/// use flags_core::format::toml;
/// use flags_core::Context;
///
/// let set = toml::parse("[a]\nenabled = false\n", "flags.toml").unwrap();
/// let v1 = Snapshot::compile(&set, Mode::Strict, "flags.toml").unwrap();
/// let mut on = set.feature("a").unwrap().clone();
/// on.enabled = true;
/// let v2 = v1.apply(&[Change::Upsert(on)], Mode::Strict, "ops").unwrap();
/// assert!(!v1.is_enabled("a", &Context::new()), "a snapshot never changes");
/// assert!(v2.is_enabled("a", &Context::new()));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Create a flag, or replace the flag of the same name.
    Upsert(Feature),
    /// Delete a flag.
    Remove(String),
    /// Create or replace a segment.
    UpsertSegment(Segment),
    /// Delete a segment.
    RemoveSegment(u32),
}
