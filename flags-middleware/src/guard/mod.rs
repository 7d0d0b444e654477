//! The rollout guard.

mod clock;
mod config;
mod counts;
mod judge;
pub mod stats;
mod verdict;
mod window;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{ConfigError, GuardConfig, LatencyRule};
pub use counts::{
    ArmCounts, CountSource, FlagCounts, LatencyHistogram, ManualCounts, NewArm, Side,
    LATENCY_BOUNDS_MS,
};
pub use verdict::{ArmFigures, Criterion, Finding, Status, Verdict, WindowFigures};
