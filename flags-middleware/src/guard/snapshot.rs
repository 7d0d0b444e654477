//! The guard's state as the admin API shows it.

use std::time::Duration;

use serde::Serialize;

use super::event::GuardEvent;
use super::plan::PlanSnapshot;
use super::verdict::{Verdict, WindowFigures};
use super::GuardConfig;
use flags_core::guard::as_millis;

/// The guard's state, for the admin API.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    pub fn flag(&self, flag: &str) -> Option<&FlagSnapshot> {
        self.flags.iter().find(|f| f.flag == flag)
    }
}

/// One watched flag.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlagSnapshot {
    /// The flag.
    pub flag: String,
    /// Its guard settings.
    pub config: GuardConfig,
    /// Requests and errors per arm over the window now.
    pub window: WindowFigures,
    /// The last check's verdict.
    pub last: Option<Verdict>,
    /// Its plan, if any.
    pub plan: Option<PlanSnapshot>,
    /// How many times the guard killed it.
    pub kills: u64,
}
