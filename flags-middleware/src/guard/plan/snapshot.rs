//! Where a plan stands: its status, and the view the guard's snapshot
//! and the admin API show.

use serde::Serialize;

use flags_core::guard::Step;

/// Where a plan stands.
///
/// ```
/// use flags_middleware::guard::{Guard, GuardConfig, Plan, PlanStatus};
/// use flags_middleware::Flags;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let flags = Flags::from_toml_str("[f]\nrollout = 0\n", "flags.toml").unwrap();
/// let guard = Guard::for_flags(&flags)
///     .plan("f", GuardConfig::new(), Plan::gradual())
///     .build();
/// let status = |g: &Guard| g.snapshot().flag("f").unwrap().plan.as_ref().unwrap().status;
/// assert_eq!(status(&guard), PlanStatus::Pending);
/// guard.check().await; // applies the first step
/// assert_eq!(status(&guard), PlanStatus::Running);
/// guard.pause("f").await.unwrap();
/// assert_eq!(status(&guard), PlanStatus::Paused);
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    /// Configured; the first step is applied at the guard's next check.
    Pending,
    /// On a step, advancing when due.
    Running,
    /// Held by an operator; the time in the step does not run.
    Paused,
    /// Stopped by a guard kill; only a restart goes on.
    Halted,
    /// The last step's time passed healthy.
    Completed,
    /// Given up by an operator; the flag stays as it was.
    Abandoned,
}

/// Where a plan stands, for the admin API.
///
/// ```
/// use std::time::Duration;
/// use flags_middleware::guard::{Guard, GuardConfig, ManualClock, Plan};
/// use flags_middleware::Flags;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let flags = Flags::from_toml_str("[f]\nrollout = 0\n", "flags.toml").unwrap();
/// let clock = ManualClock::new();
/// let guard = Guard::for_flags(&flags)
///     .clock(clock.clone())
///     .plan("f", GuardConfig::new(), Plan::gradual()) // 5% for a day first
///     .build();
/// guard.check().await;
/// clock.advance(Duration::from_secs(6 * 3600));
/// let plan = guard.snapshot().flag("f").unwrap().plan.clone().unwrap();
/// assert_eq!((plan.step, plan.percent, plan.steps.len()), (0, Some(5), 4));
/// assert_eq!(plan.time_in_step_ms, Some(6 * 3_600_000));
/// assert_eq!(plan.time_left_ms, Some(18 * 3_600_000));
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PlanSnapshot {
    /// The plan's state.
    pub status: PlanStatus,
    /// All the steps.
    pub steps: Vec<Step>,
    /// The current step's index in `steps`.
    pub step: usize,
    /// The current step's percentage, once applied.
    pub percent: Option<u32>,
    /// When the current step began (moved forward by pauses), ms since the
    /// Unix epoch.
    pub step_started_ms: Option<u64>,
    /// Time spent in the step, not counting pauses.
    pub time_in_step_ms: Option<u64>,
    /// Time until the step may advance (0 when only health or traffic is
    /// awaited).
    pub time_left_ms: Option<u64>,
    /// New-arm requests seen during the step.
    pub step_requests: u64,
    /// The kill message, when the guard halted the plan.
    pub halted_by: Option<String>,
}
