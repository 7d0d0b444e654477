//! The rollout guard's settings: what a flag's `guard` and `plan` ask for,
//! checked when a definition is compiled. The guard that acts on them (the
//! counters, the statistical test, the runner) lives in `flags-middleware`.

mod config;
mod error;
mod new_arm;
mod plan;
mod settings;
mod spec;

pub use config::{GuardConfig, LatencyRule, MAX_WINDOW};
pub use error::GuardConfigError;
pub use new_arm::NewArm;
pub use plan::{Plan, Step};
pub use settings::{GuardSettings, LatencySettings};
#[doc(hidden)]
pub use spec::opt_in;

#[doc(hidden)]
pub use settings::as_millis;
