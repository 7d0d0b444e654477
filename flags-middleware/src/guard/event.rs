//! What the guard did, for the audit log, the admin API and the logs.

use serde::Serialize;

use super::detect::Finding;

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// The guard turned the flag off.
    Killed {
        /// The figures that triggered it.
        finding: Finding,
    },
    /// A kill was decided but could not be applied; retried at the next check.
    KillFailed {
        /// The applier's error.
        error: String,
    },
    /// A plan applied a step (its first, or the next one).
    Advanced {
        /// The previous step's percentage (`None` when the plan starts).
        from: Option<u32>,
        /// The new percentage.
        to: u32,
        /// The new step, counted from 1.
        step: usize,
        /// Number of steps.
        of: usize,
    },
    /// A step could not be applied; retried at the next check.
    AdvanceFailed {
        /// The percentage that was to be applied.
        to: u32,
        /// The applier's error.
        error: String,
    },
    /// The plan's last step passed.
    Completed,
    /// A kill stopped the plan.
    Halted,
    /// An operator paused the plan.
    Paused,
    /// An operator resumed the plan.
    Resumed,
    /// An operator sent the plan back to its first step.
    Restarted {
        /// The first step's percentage.
        to: u32,
    },
    /// An operator gave the plan up.
    Abandoned,
    /// The plan moved to the step the flag's definition is at: another
    /// instance sharing the store advanced or restarted it, or an operator
    /// re-enabled the flag at a step's percentage.
    Followed {
        /// The step's percentage.
        to: u32,
        /// The step, counted from 1.
        step: usize,
        /// Number of steps.
        of: usize,
    },
    /// The guard started watching the flag: its definition asks for it
    /// (`guard` or `plan`).
    Watched,
    /// The guard stopped watching the flag: its definition no longer asks.
    Unwatched,
}

/// One thing the guard did to one flag.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct GuardEvent {
    /// When, in ms since the Unix epoch.
    pub at_ms: u64,
    /// The flag.
    pub flag: String,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
    /// A one-line summary for the audit log (for a kill, the figures:
    /// `guard: new arm 31.2% errors over 412 requests vs 0.4% over 7,803, p < 0.001`).
    pub message: String,
}
