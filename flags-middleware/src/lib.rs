//! Feature flags for axum and tower services: roll a feature out to 5% of
//! users, run an A/B test, turn a bad feature off in one second without a
//! redeploy.
//!
//! Flags follow Unleash's evaluation semantics (strategies, constraints,
//! segments, variants, dependencies, murmur3 bucketing): the same user gets the
//! same answer here as from any Unleash SDK.
//!
//! ```
//! use axum::{routing::get, Router};
//! use flags_middleware::{FlagContext, Flags, FlagsLayer};
//!
//! async fn recommendations(flags: FlagContext) -> &'static str {
//!     if flags.is_enabled("ai_recommendations") { "ai" } else { "popular" }
//! }
//!
//! let flags = Flags::from_toml_str("[ai_recommendations]\nusers = [\"user_123\"]\n", "flags.toml").unwrap();
//! let app: Router = Router::new()
//!     .route("/recommendations", get(recommendations))
//!     .layer(FlagsLayer::new(flags.clone()));
//! ```
//!
//! # A map of the crate
//!
//! The engine is the crate [`flags_core`] (re-exported here: [`model`],
//! [`context`], [`engine`], [`edit`], [`format`](mod@format), [`error`]); it has no I/O.
//! Around it, one room per job:
//!
//! | room | what it holds |
//! |---|---|
//! | [`Flags`] (`flags.rs`, `live.rs`) | the handle: the live [`Snapshot`] behind an `ArcSwap`, read without locks, and the writer it hands out |
//! | [`layer`] | the tower layer: resolves the user, pins one snapshot per request, memoizes decisions, logs them, counts requests per flag and arm; the [`FlagContext`] extractor |
//! | `#[feature_gated]` ([`feature_gated`], `gated/`) | routes a handler between its new and legacy implementation through the extractor |
//! | [`change`] | the one write path: [`change::Writer`], reloads of outside changes, audit entries, status |
//! | [`store`] | where flags live durably: the watched TOML file, memory, PostgreSQL |
//! | [`audit`] | the audit log |
//! | [`admin`] | the admin API (axum router) |
//! | [`metrics`] | per flag and arm counters and the one latency histogram |
//! | [`export`] | the counters for Prometheus (text exposition) and OpenTelemetry |
//! | [`guard`] | the rollout guard: `detect/` (windows, the sequential test, verdicts), `plan/` (progressive plans), `run/` (the runner that applies both through the writer) |
//! | [`testing`] | helpers for tests: forced flags, flags built in code |
//!
//! Arrows point down only: admin and guard → change → store → core; layer →
//! core.
//!
//! # How a request flows
//!
//! [`FlagsLayer`] resolves who is asking (a [`Context`]) and pins the current
//! [`Snapshot`] for the request when its handler first asks, and hands both
//! to the handler's [`FlagContext`] extractor. [`FlagContext`] (and the code `#[feature_gated]`
//! generates) asks that snapshot, so one request sees exactly one flag
//! version; each decision is memoized, and the response closes the
//! request's record (`flags::request`, with every decision on it; with
//! [`DecisionLog::PerDecision`](layer::DecisionLog::PerDecision), each
//! decision also gets an event of its own at `flags::decision`) and counts
//! it per flag and arm for [`metrics`] and the [`guard`].
//!
//! # How a change flows
//!
//! A change is one [`edit::Edit`] (kill, enable, rollout, users, replace,
//! delete, guard and plan operations) from the [`admin`] API, the CLI
//! (through the admin API), the rollout [`guard`] or the app's own code,
//! committed through a [`change::Writer`] from [`Flags::writer`]: it is
//! applied to the live definition by the one function
//! ([`edit::Edit::apply`]), validated against the live flags, persisted
//! through the [`store`], swapped in as a new snapshot and appended to the
//! [`audit`] log, in that order. Outside changes (a hand edit of the file,
//! another instance's write to PostgreSQL) take the same validate, swap,
//! audit path from the store's watcher.
#![doc(html_root_url = "https://docs.rs/flags-middleware/0.1.0")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(rustdoc::broken_intra_doc_links)]

pub mod admin;
pub mod audit;
pub mod change;
pub mod client_api;
pub mod export;
mod flags;
mod flags_hygiene;
pub mod frontend;
pub mod guard;
pub mod hygiene;
pub mod layer;
mod live;
pub mod metrics;
mod owned;
mod sdk;
mod shards;
pub mod store;
#[cfg(test)]
mod test_tracing;
pub mod testing;
mod url;

pub use flags::Flags;
#[doc(inline)]
pub use flags_core::{context, edit, engine, error, format, model, name};
pub use flags_core::{Context, Evaluation, LoadError, LoadErrors, Reason, Snapshot, Variant};
pub use hygiene::FlagKey;
pub use layer::{FlagContext, FlagContextRejection, FlagsLayer};
pub use owned::{OwnedEvaluation, OwnedVariant};

mod gated;
#[doc(inline)]
pub use flags_macros::feature_gated;
#[doc(inline)]
pub use flags_macros::flag;
#[doc(hidden)]
pub use gated::__private;
