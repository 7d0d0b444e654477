//! The rollout guard's settings: what a flag's `guard` and `plan` ask for,
//! checked when a definition is compiled. The guard that acts on them (the
//! counters, the statistical test, the runner) lives in `flags-middleware`.

mod config;
mod new_arm;
mod plan;
mod spec;

pub use config::{ConfigError, GuardConfig, LatencyRule};
pub use new_arm::NewArm;
pub use plan::{Plan, Step};
#[doc(hidden)]
pub use spec::opt_in;

#[doc(hidden)]
pub use config::as_millis;
