//! What the guard did, for the audit log, the admin API and the logs.

use serde::Serialize;

use super::detect::Finding;

/// What happened.
///
/// ```
/// use flags_middleware::guard::{EventKind, Guard, GuardConfig, Plan};
/// use flags_middleware::Flags;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let flags = Flags::from_toml_str("[f]\nrollout = 0\n", "flags.toml").unwrap();
/// let guard = Guard::for_flags(&flags)
///     .plan("f", GuardConfig::new(), Plan::gradual())
///     .build();
/// let events = guard.check().await;
/// match &events[0].kind {
///     EventKind::Advanced { from, to, step, of } => {
///         assert_eq!((*from, *to, *step, *of), (None, 5, 1, 4));
///     }
///     other => panic!("expected the plan's first step, got {other:?}"),
/// }
/// # }
/// ```
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

/// One thing the guard did to one flag: what [`Guard::check`](crate::guard::Guard::check)
/// and the plan operations return, and what the guard's snapshot lists.
///
/// ```
/// use flags_middleware::guard::{Guard, GuardConfig, ManualClock, Plan};
/// use flags_middleware::Flags;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let flags = Flags::from_toml_str("[f]\nrollout = 0\n", "flags.toml").unwrap();
/// let guard = Guard::for_flags(&flags)
///     .clock(ManualClock::new()) // 2025-01-01T00:00:00Z
///     .plan("f", GuardConfig::new(), Plan::gradual())
///     .build();
/// let event = guard.check().await.remove(0);
/// assert_eq!(event.flag, "f");
/// assert_eq!(event.at_ms, 1_735_689_600_000);
/// assert_eq!(event.message, "plan: start at 5% (step 1 of 4)");
/// assert_eq!(guard.snapshot().events, vec![event]);
/// # }
/// ```
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
