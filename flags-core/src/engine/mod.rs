//! The evaluation engine: compiles a [`FlagSet`](crate::model::FlagSet) once
//! into an immutable [`Snapshot`] and answers `is_enabled` / `variant` /
//! `evaluate` with Unleash's semantics.
//!
//! Framework integrations that memoize decisions per request use the
//! low-level evaluation API ([`Snapshot::lookup`], [`Snapshot::decide`],
//! [`Decision`], [`FlagId`]...), described in one place: the "Low-level
//! evaluation API" section of [`Snapshot`]'s methods.

mod bucket;
mod change;
mod compile;
mod constraint;
mod dependencies;
mod evaluation;
mod field;
mod index;
mod packed;
mod snapshot;
mod strategy;
mod variant;

pub use compile::{hostname, Mode};
pub use evaluation::{Decision, ErrorCode, Evaluation, Reason, Variant};
pub use snapshot::{Change, FlagId, Snapshot};

/// Unleash's `normalizedValue`: `murmur3_x86_32("{group}:{id}", seed) % normalizer + 1`.
///
/// Exposed so tools and tests can tell which bucket a user falls in.
///
/// ```
/// // The value every Unleash SDK computes for user "123" in group "gr1".
/// assert_eq!(flags_core::engine::normalized_value("123", "gr1", 100, 0), 73);
/// ```
pub fn normalized_value(id: &str, group: &str, normalizer: u32, seed: u32) -> u32 {
    bucket::normalized_value(id, group, normalizer, seed)
}

/// Checks one constraint's operator and operands the way a strict load does:
/// `Some((field, message))` when it is wrong (`field` is `operator`, `value`
/// or `values`). Lets text formats point at the exact operand.
pub(crate) fn check_constraint(c: &crate::model::Constraint) -> Option<(&'static str, String)> {
    constraint::CompiledConstraint::compile(c)
        .1
        .map(|issue| (issue.field, issue.message))
}
