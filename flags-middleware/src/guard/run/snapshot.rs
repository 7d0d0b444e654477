//! The guard's state as the admin API shows it.

use std::time::Duration;

use serde::Serialize;

use flags_core::guard::{as_millis, GuardConfig};

use super::guard::Guard;
use crate::guard::clock::unix_millis;
use crate::guard::detect::{ArmFigures, Verdict, WindowFigures};
use crate::guard::event::GuardEvent;
use crate::guard::plan::PlanSnapshot;

/// The guard's state, for the admin API.
///
/// ```
/// use flags_middleware::guard::{Guard, GuardConfig};
/// use flags_middleware::Flags;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let flags = Flags::from_toml_str("[new_checkout_flow]\nrollout = 20\n", "flags.toml").unwrap();
/// let guard = Guard::for_flags(&flags).watch("new_checkout_flow", GuardConfig::new()).build();
/// guard.check().await;
/// let state = guard.snapshot();
/// assert_eq!(state.checks, 1);
/// assert!(state.flag("new_checkout_flow").is_some());
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct GuardSnapshot {
    /// When, in ms since the Unix epoch.
    pub at_ms: u64,
    /// How often the spawned task checks.
    #[serde(rename = "interval_ms", serialize_with = "as_millis")]
    pub interval: Duration,
    /// Checks done so far.
    pub checks: u64,
    /// Each watched flag, by name.
    pub flags: Vec<FlagSnapshot>,
    /// Recent events, oldest first (the last 256).
    pub events: Vec<GuardEvent>,
}

impl GuardSnapshot {
    /// The flag named `flag`.
    ///
    /// ```
    /// use flags_middleware::guard::{Guard, GuardConfig};
    /// use flags_middleware::Flags;
    ///
    /// let flags = Flags::from_toml_str("[f]\nrollout = 5\n[g]\nrollout = 5\n", "flags.toml").unwrap();
    /// let snapshot = Guard::for_flags(&flags).watch("f", GuardConfig::new()).build().snapshot();
    /// assert_eq!(snapshot.flag("f").unwrap().kills, 0);
    /// assert!(snapshot.flag("g").is_none()); // defined, not watched
    /// ```
    pub fn flag(&self, flag: &str) -> Option<&FlagSnapshot> {
        self.flags.iter().find(|f| f.flag == flag)
    }
}

/// One watched flag, in the guard's [snapshot](GuardSnapshot::flag).
///
/// ```
/// use std::time::Duration;
/// use flags_middleware::guard::{
///     FlagsApplier, Guard, GuardConfig, ManualClock, ManualCounts, Side, Status,
/// };
/// use flags_middleware::Flags;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// # let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
/// let (counts, clock) = (ManualCounts::new(), ManualClock::new());
/// let guard = Guard::builder(counts.clone(), FlagsApplier::new(flags))
///     .clock(clock.clone())
///     .watch("f", GuardConfig::new())
///     .build();
/// guard.check().await;
/// counts.add("f", Side::New, 80, 1);
/// counts.add("f", Side::Old, 1_520, 15);
/// clock.advance(Duration::from_secs(5));
/// guard.check().await;
/// let snapshot = guard.snapshot();
/// let f = snapshot.flag("f").unwrap();
/// assert_eq!(f.window.new.requests, 80);
/// assert_eq!(f.last.as_ref().unwrap().status, Status::Healthy);
/// assert_eq!((f.kills, f.fleet, f.plan.is_none()), (0, false, true));
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct FlagSnapshot {
    /// The flag.
    pub flag: String,
    /// Its guard settings.
    pub config: GuardConfig,
    /// Requests and errors per arm over the window judged at the last
    /// check (the fleet's, with shared counts).
    pub window: WindowFigures,
    /// The last check's verdict.
    pub last: Option<Verdict>,
    /// Its plan, if any.
    pub plan: Option<PlanSnapshot>,
    /// How many times the guard killed it.
    pub kills: u64,
    /// Whether the window and the last verdict are the whole fleet's
    /// (shared counts, reachable at the last check) rather than this
    /// instance's.
    pub fleet: bool,
}

impl Guard {
    /// The guard's state: per flag, the window's counts per arm, the last
    /// verdict and the plan's position; and the recent events.
    ///
    /// As the admin API serves it:
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::guard::{Guard, GuardConfig, ManualClock};
    /// use flags_middleware::Flags;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
    /// let guard = Guard::for_flags(&flags)
    ///     .clock(ManualClock::new())
    ///     .interval(Duration::from_secs(2))
    ///     .watch("f", GuardConfig::new())
    ///     .build();
    /// guard.check().await;
    /// let json = serde_json::to_value(guard.snapshot()).unwrap();
    /// assert_eq!((json["interval_ms"].as_u64(), json["checks"].as_u64()), (Some(2000), Some(1)));
    /// assert_eq!(json["flags"][0]["last"]["status"], "no_data");
    /// # }
    /// ```
    pub fn snapshot(&self) -> GuardSnapshot {
        // Show flags that opted in since the last check, unless a check or
        // an operation is under way (it follows them itself).
        if let Ok(_op) = self.shared.ops.try_lock() {
            self.follow_definitions();
        }
        let now = self.shared.clock.now();
        let state = self.state();
        GuardSnapshot {
            at_ms: unix_millis(now),
            interval: self.shared.interval,
            checks: state.checks,
            flags: state
                .flags
                .iter()
                .map(|(flag, w)| {
                    let judged = w.fleet.as_ref().unwrap_or(&w.window);
                    let totals = judged.totals();
                    FlagSnapshot {
                        flag: flag.clone(),
                        config: w.config.clone(),
                        window: WindowFigures {
                            new: ArmFigures::new(totals.new.requests, totals.new.errors),
                            old: ArmFigures::new(totals.old.requests, totals.old.errors),
                            span_ms: u64::try_from(judged.span().as_millis()).unwrap_or(u64::MAX),
                        },
                        last: w.last.clone(),
                        plan: w.plan.as_ref().map(|p| p.snapshot(now)),
                        kills: w.kills,
                        fleet: w.fleet.is_some(),
                    }
                })
                .collect(),
            events: state.events.iter().cloned().collect(),
        }
    }
}
