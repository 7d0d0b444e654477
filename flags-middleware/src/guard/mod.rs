//! The rollout guard: kills a flag whose new arm fails more than the old
//! one, and walks progressive rollout plans while the new arm is healthy.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use axum::{routing::get, Router};
//! use flags_middleware::guard::{Guard, GuardConfig, Plan};
//! use flags_middleware::{FlagContext, Flags, FlagsLayer};
//!
//! async fn checkout(flags: FlagContext) -> &'static str {
//!     if flags.is_enabled("new_checkout_flow") { "new" } else { "legacy" }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let flags = Flags::from_unleash_json(r#"{"features": [
//!   {"name": "new_checkout_flow", "enabled": true, "strategies": [{"name": "default"}]}
//! ]}"#)?;
//! // The layer counts requests and 5xx per flag and arm...
//! let app: Router = Router::new()
//!     .route("/checkout", get(checkout))
//!     .layer(FlagsLayer::new(flags.clone()));
//! // ...and the guard reads those counters and changes `flags`.
//! let guard = Guard::for_flags(&flags)
//!     .interval(Duration::from_secs(1))
//!     .plan(
//!         "new_checkout_flow",
//!         GuardConfig::new().min_difference(0.01)?,
//!         Plan::gradual(), // 5% for a day, 25% for two, 50% for two, then 100%
//!     )
//!     .build();
//! let task = guard.spawn(); // checks every second until dropped
//! # guard.check().await;
//! # let snapshot = guard.snapshot();
//! # assert_eq!(snapshot.flag("new_checkout_flow").unwrap().plan.as_ref().unwrap().percent, Some(5));
//! # drop((task, app));
//! # Ok(()) }
//! ```
//!
//! Counts can come from elsewhere (any [`CountSource`], e.g.
//! [`ManualCounts`]), and changes can go elsewhere (any [`Applier`]), through
//! [`Guard::builder`].
//!
//! # How it decides
//!
//! Every check reads each watched flag's totals (requests, errors, and
//! optionally latency, per arm) and adds what is new to a sliding window
//! (default: 5 minutes in 5-second buckets); with [shared counts](fleet)
//! (PostgreSQL), the window judged is the whole fleet's. The flag is killed when the new
//! arm is worse with overwhelming evidence (see [`stats`](detect::stats) for the test and
//! why it does not fire on noise however often it looks):
//!
//! * **error rate**: the new arm fails more often than the old arm by more
//!   than [`min_difference`](GuardConfig::min_difference), over at least
//!   [`min_requests`](GuardConfig::min_requests) requests of each;
//! * **ceiling**: the new arm fails more often than
//!   [`max_error_rate`](GuardConfig::max_error_rate), while the old arm does
//!   not (the only rule at 100%, where there is no old arm);
//! * **latency** (opt-in, [`LatencyRule`]): the new arm's p95 is past 1.5
//!   times the old arm's.
//!
//! A kill goes through the [`Applier`] (the flag's `enabled` set to
//! `false`), halts the flag's plan, and is logged:
//!
//! ```text
//! WARN flags::guard: guard: new arm 30.0% errors over 50 requests vs 0.5% over 950, p < 0.001
//!     feature_flag.key="new_checkout_flow" criterion=ErrorRate new_requests=50 new_errors=15
//!     old_requests=950 old_errors=5 p_value=1.2e-11
//! ```
//!
//! # Plans
//!
//! A [`Plan`]'s step advances when its time has passed, the last verdict is
//! [`Status::Healthy`], and the step has seen at least `min_requests`
//! new-arm requests (the whole fleet's, with [shared counts](fleet)).
//! Operators can [pause](Guard::pause),
//! [resume](Guard::resume), [restart](Guard::restart) (first step, same
//! users: rollout percentages are sticky) or [abandon](Guard::abandon) a
//! plan. Every step and every halt is a [`GuardEvent`](event::GuardEvent) with a message for
//! the audit log.
//!
//! # Time
//!
//! The guard reads time from a [`Clock`](clock::Clock); with a [`ManualClock`] a plan of a
//! week runs in a test in milliseconds, each [`Guard::check`] called by hand.
//!
//! # Where things are
//!
//! Three rooms, each depending only on the ones before it:
//!
//! * [`detect`]: counts in, verdict out: the [`CountSource`]s, the
//!   sliding window, the statistical test ([`detect::stats`]) and the
//!   [`Verdict`](detect::Verdict) with its figures;
//! * [`plan`]: the [`Plan`]s' state machine, pure, driven by verdicts and
//!   time;
//! * [`run`]: the [`Guard`] itself: checks on a timer, applies kills and
//!   steps through an [`Applier`], follows the flags' definitions, answers
//!   the admin API.
//!
//! [`fleet`] sits beside them: the counts every instance shares, so that
//! each judges on the whole fleet's traffic (PostgreSQL store).
//!
//! Two small modules are shared by all three: [`clock`] (time) and
//! [`event`] (what the guard did). The settings ([`GuardConfig`],
//! [`LatencyRule`], [`Plan`]) come from `flags-core`, where a flag's
//! definition is checked; the latency histogram is the layer's
//! ([`metrics::LatencyHistogram`](crate::metrics::LatencyHistogram)).

pub mod clock;
pub mod detect;
pub mod event;
pub mod fleet;
pub mod plan;
pub mod run;

// What most users name; the rest is in the rooms above.
pub use clock::ManualClock;
pub use detect::{CountSource, ManualCounts, Side, Status};
pub use event::EventKind;
pub use flags_core::guard::{GuardConfig, GuardConfigError, LatencyRule};
pub use plan::{Plan, PlanStatus};
pub use run::{Action, Applied, Applier, FlagsApplier, Guard, GuardBuilder, GuardTask};
