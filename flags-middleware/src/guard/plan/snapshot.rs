//! Where a plan stands: its status, and the view the guard's snapshot
//! and the admin API show.

use serde::Serialize;

use flags_core::guard::Step;

/// Where a plan stands.
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
