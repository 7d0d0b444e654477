//! Detection: is a flag's new arm worse than its old arm?
//!
//! One pass per check and flag, each step in its own file:
//!
//! 1. **counts**: a [`CountSource`] gives monotonic totals per arm
//!    (requests, errors, a [`LatencyHistogram`](crate::metrics::LatencyHistogram));
//!    the layer's [`Metrics`](crate::metrics::Metrics) is one, [`ManualCounts`]
//!    another;
//! 2. **window**: the differences between reads, in time buckets over the
//!    last few minutes;
//! 3. **judge**: the rules of the flag's
//!    [`GuardConfig`](crate::guard::GuardConfig) (error rate, ceiling,
//!    latency), each a sequential test ([`stats`]) over the buckets;
//! 4. **verdict**: the [`Verdict`] with the figures behind it, and the
//!    one-line [`Finding::message`] a kill is logged and audited with.
//!
//! Nothing here acts on a flag or keeps time: the [runner](crate::guard::run)
//! calls in with the time and acts on the verdict.

mod counts;
mod judge;
mod metrics_source;
pub mod stats;
mod verdict;
mod window;

pub use counts::{ArmCounts, CountSource, FlagCounts, ManualCounts, Side};
pub use flags_core::guard::{GuardSettings, LatencySettings, NewArm};
pub use verdict::{ArmFigures, Criterion, Finding, Status, Verdict, WindowFigures};

pub(crate) use judge::judge;
pub(crate) use window::{Bucket, Window};
