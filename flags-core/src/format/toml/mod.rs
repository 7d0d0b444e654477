//! The native TOML format: hand-written flags, each in a few lines.
//!
//! # Example
//!
//! ```
//! use flags_core::{engine::Mode, format::toml, Context, Snapshot};
//!
//! let set = toml::parse(r#"
//! [new_checkout_flow]
//! description = "New checkout redesign - gradual rollout"
//! rollout = 20                       # percent of users, sticky per user id
//!
//! [ai_recommendations]
//! users = ["user_123", "user_456"]
//!
//! [beta_search]
//! when = { beta = true }             # a property the user resolver sets
//!
//! [legacy_api]
//! enabled = false                    # kill switch
//! "#, "flags.toml").unwrap();
//! let flags = Snapshot::compile(&set, Mode::Strict, "flags.toml").unwrap();
//!
//! assert!(flags.is_enabled("ai_recommendations", &Context::new().user_id("user_123")));
//! assert!(flags.is_enabled("beta_search", &Context::new().property("beta", "true")));
//! assert!(!flags.is_enabled("legacy_api", &Context::new()));
//! ```
//!
//! Every flag is a table named after the flag. The format compiles to the
//! Unleash model ([`crate::model`]), so every flag means exactly what the
//! same flag means in Unleash.
//!
//! # A flag
//!
//! | key | meaning |
//! |-----|---------|
//! | `description` | free text |
//! | `enabled` | the kill switch; `false` turns the flag off for everyone. Default `true` |
//! | `rollout` | a percentage of users, sticky per user: `rollout = 20`, or `rollout = { percent = 20, stickiness = "sessionId", group = "checkout" }`. Unleash's `flexibleRollout`; stickiness defaults to `default` (user id, then session id, then random), group to the flag's name |
//! | `users` | these user ids: `users = ["user_123"]` (Unleash's `userWithId`) |
//! | `when` | conditions on the caller (see below); with `rollout`, they narrow it ("20% of beta users"); without, the flag is on for whoever meets them |
//! | `segments` | named segments that narrow the rollout like `when`: `segments = ["internal"]` |
//! | `variants` | A/B arms (see below) |
//! | `rules` | explicit strategies, `[[flag.rules]]` (see below) |
//! | `requires` | parent flags (see below) |
//! | `guard`, `plan` | the rollout guard watches the flag, and walks its plan (see below) |
//! | `type`, `project`, `impression_data`, `stale` | Unleash's informational fields |
//!
//! How the shorthands combine: `users` is a strategy of its own, so the flag
//! is on for the listed users **or** whoever the rollout picks; `when` and
//! `segments` apply to the rollout (**and**). A flag with none of `rollout`,
//! `users`, `when`, `segments` or `rules` is on for everyone. `rules` come
//! after the shorthands (a user-list strategy, then the rollout, then the
//! rules, in that order; any one that matches turns the flag on).
//!
//! # Conditions: `when`
//!
//! A table of context field = accepted value(s), all of which must hold:
//!
//! ```toml
//! when = { beta = true, country = ["NO", "SE"] }      # beta IN ["true"] and country IN [...]
//! when = { appVersion = { op = "semver_gte", value = "2.0.0" } }
//! ```
//!
//! or an array of explicit constraints (when one field needs two tests):
//!
//! ```toml
//! when = [
//!   { field = "currentTime", op = "date_after", value = "2026-01-01T00:00:00Z" },
//!   { field = "email", op = "ends_with", values = ["@acme.com"], case_insensitive = true, not = true },
//! ]
//! ```
//!
//! Fields are Unleash's context fields (`userId`, `sessionId`,
//! `remoteAddress`, `environment`, `appName`, `currentTime`) or any property.
//! Operators (`op`, default `in`): `in`, `not_in`, `contains`, `starts_with`,
//! `ends_with`, `num_eq`, `num_gt`, `num_gte`, `num_lt`, `num_lte`,
//! `date_after`, `date_before`, `semver_eq`, `semver_gt`, `semver_gte`,
//! `semver_lt`, `semver_lte`, `regex`, `in_cidr`; Unleash's names (`IN`,
//! `STR_ENDS_WITH`...) work too. List operators take `values`, the others one
//! `value`. Operands are checked when the file loads: a bad number, date,
//! version, regex or network is an error, not a condition that never holds.
//!
//! # Rules: `[[flag.rules]]`
//!
//! Each rule is one Unleash strategy. A rule has `rollout` *or* `users` (or
//! neither: everyone), or `strategy = "..."` with `parameters = { .. }` for
//! any Unleash strategy (`remoteAddress`, `applicationHostname`,
//! `gradualRolloutUserId`...); plus `when`, `segments`, `variants` (arms
//! handed out when this rule matched) and `disabled`.
//!
//! ```toml
//! [checkout_v2]
//! [[checkout_v2.rules]]
//! segments = ["internal"]                 # staff: everyone
//! [[checkout_v2.rules]]
//! rollout = 10
//! when = { country = "NO" }
//! [[checkout_v2.rules]]
//! strategy = "remoteAddress"
//! parameters = { IPs = "10.0.0.0/8" }
//! ```
//!
//! # Variants
//!
//! Percentages that add up to 100 (one decimal allowed; Unleash's weights are
//! these times 10):
//!
//! ```toml
//! variants = { blue = 50, green = 50 }
//! variants = ["blue", "green", "red"]     # an even split
//! ```
//!
//! or one table per arm, for payloads, stickiness and overrides; arms
//! without a `weight` share what the others leave, as Unleash splits it:
//!
//! ```toml
//! [[new_checkout_flow.variants]]
//! name = "blue"
//! weight = 20
//! payload = { type = "json", value = '{"color": "#00f"}' }
//! overrides = { userId = ["user_123"] }
//! [[new_checkout_flow.variants]]
//! name = "green"                          # gets the other 80%
//! ```
//!
//! # Segments
//!
//! Named groups of conditions, shared by flags, at the top level under the
//! reserved name `segments` (numbered in the order written, or `id = N`):
//!
//! ```toml
//! [segments.internal]
//! when = { email = { op = "ends_with", values = ["@acme.com"] } }
//! ```
//!
//! # Dependencies: `requires`
//!
//! ```toml
//! requires = "parent"                                          # parent must be on
//! requires = ["a", { flag = "b", enabled = false }, { flag = "exp", variants = ["blue"] }]
//! ```
//!
//! # The rollout guard: `guard` and `plan`
//!
//! ```toml
//! guard = true                       # watched with the default settings
//! guard = { min_requests = 100, min_difference = "2%", max_error_rate = "25%", alpha = 1e-6,
//!           window = "10m", bucket = "10s", variant = "green",
//!           latency = { quantile = "p95", factor = 1.5, min_increase = "50ms" } }
//! plan = "gradual"                   # 5% for 1d, 25% for 2d, 50% for 2d, then 100%
//! plan = [{ percent = 5, for = "1d" }, { percent = 25, for = "2d" }, { percent = 100 }]
//! plan = { steps = "gradual", paused = true }
//! ```
//!
//! The guard writes the plan's state back beside the steps: the rollout
//! percentage (the step), `started = "2026-11-26T09:00:00Z"` (when the step
//! began, so a restarted instance counts its time right), and on a pause
//! `paused = true, done = "6h"` (how much of the step had passed).
//!
//! Percentages are `"2%"` or fractions (`0.02`); durations are a number and a
//! unit (`ms`, `s`, `m`, `h`, `d`, `w`), summed (`"1h30m"`). Every setting
//! is optional (see [`GuardConfig`](crate::guard::GuardConfig) for the
//! defaults and what each means); `variant` makes the new arm the requests
//! that got that variant; a `plan` alone means `guard = true`. A running
//! `Guard` (in `flags-middleware`) that follows these flags picks changes up
//! at its next check, and steps the plan by writing the flag's rollout
//! percentage (the plan's position) back through the store.
//!
//! # Errors
//!
//! Loading is strict: unknown keys, wrong types, a percentage outside 0-100,
//! a bad operand, a duplicate name, an unknown segment or parent, a
//! dependency cycle: each is an error naming the file, the flag, the field
//! and the line and column, and a file with any error changes nothing.
//!
//! ```text
//! flags.toml:3:11: flag `new_checkout_flow`, field `rollout`: a percentage must be between 0 and 100, got 150
//! flags.toml:7:1: flag `beta_search`, field `rolout`: unknown key `rolout` (did you mean `rollout`?)
//! ```

// The core: typed node access, span bookkeeping, the reader's walk, the
// style a section writes in, and the writer's choice of form (which calls
// the sections, so they never call it back).
mod node;
mod reader;
mod spans;
mod style;
mod writer;

// One module per section, each with its read side, its write side and its
// tests.
mod flag;
mod guard;
mod requires;
mod rules;
mod segments;
mod variants;
mod when;

// The whole file, the user's document edited in place, and the helpers.
mod document;
mod duration;
mod edit;
mod json;
mod regions;

use crate::engine::{Mode, Snapshot};
use crate::error::{LoadError, LoadErrors};
use crate::model::{Feature, FlagSet, Segment};

#[doc(hidden)]
pub use edit::{edit_document, replace_table};
#[doc(hidden)]
pub use regions::{FlagRegions, Splice};
#[doc(hidden)]
pub use spans::SpanMap;
#[doc(hidden)]
pub use writer::feature_table as write_feature_table;

/// Parses and checks a TOML flags file. `source_name` (a path, usually)
/// names it in errors.
///
/// ```
/// let set = flags_core::format::toml::parse("[a]\nrollout = 20\n", "flags.toml").unwrap();
/// assert_eq!(set.features[0].strategies[0].name, "flexibleRollout");
///
/// let err = flags_core::format::toml::parse("[a]\nrollout = 150\n", "flags.toml").unwrap_err();
/// assert_eq!(err.errors()[0].line, Some(2));
/// assert_eq!(err.errors()[0].column, Some(11));
/// ```
///
/// # Errors
/// Every problem in the file, in line order.
pub fn parse(text: &str, source_name: &str) -> Result<FlagSet, LoadErrors> {
    parse_compiled(text, source_name).map(|(set, _)| set)
}

/// Parses, checks and compiles in one pass (what [`parse`] does, keeping
/// the compiled snapshot); the snapshot is at version 0.
///
/// ```
/// use flags_core::{format::toml, Context};
///
/// let (set, snapshot) = toml::parse_compiled("[a]\nusers = [\"ann\"]\n", "flags.toml").unwrap();
/// assert_eq!(set.features.len(), 1);
/// assert_eq!(snapshot.version(), 0);
/// assert!(snapshot.is_enabled("a", &Context::new().user_id("ann")));
/// ```
///
/// # Errors
/// Every problem in the file, in line order.
pub fn parse_compiled(text: &str, source: &str) -> Result<(FlagSet, Snapshot), LoadErrors> {
    let read = document::read_text(text, source)?;
    // Compiled even when the reader found errors: the engine's checks across
    // flags (dependencies) see every flag, a broken one as a stub.
    let compiled = Snapshot::compile(&read.set, Mode::Strict, source);
    let mut errors = read.errors;
    let snap = match compiled {
        Ok(snap) => snap,
        Err(found) => {
            let about_stub = |e: &LoadError| {
                e.flag.as_ref().is_some_and(|f| read.broken.contains(f))
                    && !e
                        .field
                        .as_ref()
                        .is_some_and(|f| f.starts_with("dependencies"))
            };
            errors.extend(
                found
                    .into_iter()
                    .filter(|e| !about_stub(e))
                    .map(|e| read.spans.point_back(e, text)),
            );
            Snapshot::default()
        }
    };
    if errors.is_empty() {
        Ok((read.set, snap))
    } else {
        errors.sort_by_key(|e| (e.line.unwrap_or(usize::MAX), e.column.unwrap_or(0)));
        Err(LoadErrors::from(errors))
    }
}

/// Writes a flag set as TOML, each flag in the friendliest form that reads
/// back as the same flag (`parse(write(set)) == set`).
///
/// ```
/// use flags_core::format::toml;
///
/// let set = toml::parse("[a]\nrollout = 20\n\n[b]\nenabled = false\n", "x").unwrap();
/// let text = toml::write(&set).unwrap();
/// assert!(text.contains("rollout = 20"));
/// assert_eq!(toml::parse(&text, "x").unwrap(), set);
/// ```
///
/// # Errors
/// Flags the format cannot express (one named `segments`, a segment
/// reference to an unknown id, a weight above 100%).
pub fn write(set: &FlagSet) -> Result<String, LoadErrors> {
    Ok(document::document(set)?.to_string())
}

/// One flag in the TOML format's shape, as JSON (what the admin API shows).
///
/// ```
/// use flags_core::format::toml;
///
/// let set = toml::parse("[a]\nrollout = 20\n", "x").unwrap();
/// let json = toml::feature_to_json(&set.features[0], &set.segments).unwrap();
/// assert_eq!(json, serde_json::json!({"rollout": 20}));
/// ```
///
/// # Errors
/// When the flag cannot be expressed in the format.
pub fn feature_to_json(f: &Feature, segments: &[Segment]) -> Result<serde_json::Value, LoadErrors> {
    let table = writer::feature_table(f, segments)?;
    Ok(json::item_to_json(&toml_edit::Item::Table(table)))
}

/// Reads one flag named `name` from JSON text in the TOML format's shape
/// (`{"rollout": 20, "when": {"beta": true}}`); `segments` are the ones it
/// may refer to by name.
///
/// ```
/// use flags_core::format::toml;
///
/// let f = toml::feature_from_json("a", r#"{"users": ["u1"]}"#, &[], "admin api").unwrap();
/// assert_eq!(f.strategies[0].parameters["userIds"], "u1");
/// ```
///
/// # Errors
/// Every problem, by field path (line and column only for a JSON syntax
/// error: JSON bodies are small).
pub fn feature_from_json(
    name: &str,
    text: &str,
    segments: &[Segment],
    source: &str,
) -> Result<Feature, LoadErrors> {
    feature_from_json_spans(name, text, segments, source).map(|(f, _)| f)
}

/// [`feature_from_json`], plus where each model field came from.
#[doc(hidden)]
pub fn feature_from_json_spans(
    name: &str,
    text: &str,
    segments: &[Segment],
    source: &str,
) -> Result<(Feature, SpanMap), LoadErrors> {
    let value = json::json_text_to_value(text).map_err(|e| {
        let mut err = LoadError::new(source, format!("invalid JSON: {e}")).flag(name);
        err.line = Some(e.line());
        err.column = Some(e.column());
        LoadErrors::from(err)
    })?;
    let mut reader = reader::Reader::new(source, None).with_segments(segments);
    match reader.flag(name, None, node::Node::value(&value)) {
        Some(f) if reader.errors.is_empty() => Ok((f, reader.spans)),
        _ => Err(LoadErrors::from(reader.errors)),
    }
}

#[cfg(test)]
mod tests;
