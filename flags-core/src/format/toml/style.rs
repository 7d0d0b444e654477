//! What a section's writer is told: how friendly its form may be, and the
//! segments' names. Below the sections and the writer's core, which both
//! use it.

use std::collections::BTreeMap;

/// How friendly a rendering may be.
#[derive(Debug, Clone, Copy)]
pub(super) struct Style {
    /// `rollout`/`users`/`when` at the top of the flag instead of rules.
    pub(super) shorthands: bool,
    /// `rollout = 20` / `users = [..]` inside a rule instead of
    /// `strategy` + `parameters`.
    pub(super) rule_shorthands: bool,
    /// `when = { beta = true }` instead of an array of explicit constraints.
    pub(super) when_table: bool,
    /// `variants = { blue = 50, green = 50 }` / `["a", "b"]` instead of tables.
    pub(super) variant_shorthands: bool,
}

/// Segment names by id, for writing references by name.
pub(super) type SegmentNames<'s> = BTreeMap<u32, &'s str>;
