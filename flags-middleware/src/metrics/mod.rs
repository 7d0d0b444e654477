//! Request counters per flag and arm: requests, failures (5xx responses,
//! and requests dropped before they answered), latency.
//!
//! [`FlagsLayer`](crate::FlagsLayer) records one sample per flag a request
//! evaluated, under the arm the request got: the variant's name, or `on` /
//! `off` for a flag without variants. The admin API and the rollout guard
//! read them through [`Flags::metrics`](crate::Flags::metrics).
//!
//! Counters are cumulative and never reset, so a reader that wants "the last
//! five minutes" keeps an earlier [`MetricsSnapshot`] and asks for the
//! difference with [`MetricsSnapshot::since`].
//!
//! ```
//! use flags_middleware::metrics::Metrics;
//! use std::time::Duration;
//!
//! let metrics = Metrics::default();
//! metrics.record("new_checkout_flow", "on", 200, Duration::from_millis(3));
//! let before = metrics.snapshot();
//! metrics.record("new_checkout_flow", "on", 503, Duration::from_millis(40));
//!
//! let window = metrics.snapshot().since(&before);
//! let arm = window.arm("new_checkout_flow", "on").unwrap();
//! assert_eq!((arm.requests, arm.errors), (1, 1));
//! ```
//!
//! Recording a pair already seen is a lookup under a shared lock and a few
//! relaxed atomic additions; only a new pair takes the lock alone. The layer
//! looks a pair up once per thread and snapshot and keeps the handle, which
//! holds that thread's own copy of the pair's counters (up to 64 threads;
//! more share one): only that thread adds to it, with plain stores and no
//! cache line shared across cores; a snapshot sums the copies. Memory is bounded: at
//! most [`Metrics::DEFAULT_CAPACITY`] flag/arm pairs are tracked (a copy is
//! 128 bytes); samples for pairs beyond that are counted in
//! [`MetricsSnapshot::dropped`].

//!
//! Latencies are counted in a [`LatencyHistogram`] of fixed bins, the one
//! histogram of the crate: the rollout guard reads these counters with it as
//! they are.

mod counters;
mod exposures;
mod histogram;
mod snapshot;

pub use counters::Metrics;
pub(crate) use counters::{is_error, ArmHandle, Sample, CANCELLED};
pub use exposures::{ClientExposures, ExposuresSnapshot, FlagExposures};
pub use histogram::{LatencyHistogram, LATENCY_BUCKETS_MS};
pub use snapshot::{ArmStats, FlagStats, MetricsSnapshot};
