//! A progressive rollout plan's steps: what a plan is, not how it runs.

use std::time::Duration;

use serde::Serialize;

use super::error::GuardConfigError;
use super::settings::as_millis;

/// One step of a plan: a rollout percentage held for at least a duration.
///
/// ```
/// use std::time::Duration;
/// use flags_core::guard::Plan;
///
/// let first = Plan::gradual().steps()[0];
/// assert_eq!(first.percent, 5);
/// assert_eq!(first.min_duration, Duration::from_secs(86_400));
/// // Steps go up: a plan cannot step back down.
/// assert!(Plan::new().step(50, Duration::ZERO).unwrap().step(25, Duration::ZERO).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Step {
    /// Percent of users (sticky by user id: raising it keeps the users who
    /// had it, and going back to it later gives the same users).
    pub percent: u32,
    /// How long the step lasts at least, healthy, before the next.
    #[serde(rename = "min_duration_ms", serialize_with = "as_millis")]
    pub min_duration: Duration,
}

/// A rollout in steps.
///
/// ```
/// use std::time::Duration;
/// use flags_core::guard::Plan;
///
/// const DAY: Duration = Duration::from_secs(86_400);
/// # fn main() -> Result<(), flags_core::guard::GuardConfigError> {
/// let plan = Plan::new()
///     .step(5, DAY)?
///     .step(25, 2 * DAY)?
///     .step(50, 2 * DAY)?
///     .step(100, Duration::ZERO)?;
/// assert_eq!(plan, Plan::gradual());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    steps: Vec<Step>,
}

impl Plan {
    /// A plan without steps; add them with [`step`](Self::step).
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_core::guard::Plan;
    ///
    /// assert!(Plan::new().steps().is_empty());
    /// let plan = Plan::new().step(10, Duration::from_secs(3600)).unwrap();
    /// assert_eq!(plan.steps().len(), 1);
    /// ```
    pub fn new() -> Plan {
        Plan::default()
    }

    /// 5% for a day, 25% for two, 50% for two, then 100%: the classic
    /// "day 1, day 3, day 5, day 7".
    ///
    /// ```
    /// use flags_core::guard::Plan;
    ///
    /// let percents: Vec<u32> = Plan::gradual().steps().iter().map(|s| s.percent).collect();
    /// assert_eq!(percents, [5, 25, 50, 100]);
    /// ```
    pub fn gradual() -> Plan {
        const DAY: Duration = Duration::from_secs(86_400);
        Plan {
            steps: vec![
                Step {
                    percent: 5,
                    min_duration: DAY,
                },
                Step {
                    percent: 25,
                    min_duration: 2 * DAY,
                },
                Step {
                    percent: 50,
                    min_duration: 2 * DAY,
                },
                Step {
                    percent: 100,
                    min_duration: Duration::ZERO,
                },
            ],
        }
    }

    /// Adds a step.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_core::guard::Plan;
    ///
    /// let plan = Plan::new().step(10, Duration::from_secs(3600)).unwrap();
    /// let plan = plan.step(100, Duration::ZERO).unwrap();
    /// assert_eq!(plan.steps()[1].percent, 100);
    /// assert!(Plan::new().step(0, Duration::ZERO).is_err());
    /// assert!(plan.step(50, Duration::ZERO).is_err()); // after 100%
    /// ```
    ///
    /// # Errors
    /// When `percent` is not in `1..=100`, or not above the previous step's.
    pub fn step(mut self, percent: u32, min_duration: Duration) -> Result<Self, GuardConfigError> {
        if !(1..=100).contains(&percent) {
            return Err(GuardConfigError::new(
                "plan",
                format!("a step's percent must be between 1 and 100, got {percent}"),
            ));
        }
        if let Some(prev) = self.steps.last() {
            if percent <= prev.percent {
                return Err(GuardConfigError::new(
                    "plan",
                    format!("steps must go up: {percent}% comes after {}%", prev.percent),
                ));
            }
        }
        self.steps.push(Step {
            percent,
            min_duration,
        });
        Ok(self)
    }

    /// The steps, in order.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_core::guard::Plan;
    ///
    /// let last = *Plan::gradual().steps().last().unwrap();
    /// assert_eq!((last.percent, last.min_duration), (100, Duration::ZERO));
    /// ```
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }
}
