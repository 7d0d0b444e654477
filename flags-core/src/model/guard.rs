//! A flag's opt-in to the rollout guard, carried in its definition so that
//! every source (TOML, admin API, PostgreSQL) can switch it on, and every
//! instance sharing a store follows the same plan.

use serde::{Deserialize, Serialize};

/// The rollout guard's settings for one flag (TOML `guard = {..}`, or
/// `guard = true` for the defaults). Every field left out takes the
/// [`GuardConfig`](crate::guard::GuardConfig) default.
///
/// ```
/// use flags_core::model::GuardSpec;
///
/// let spec: GuardSpec = serde_json::from_str(r#"{"minDifference": 0.02, "windowMs": 600000}"#).unwrap();
/// let config = spec.config().unwrap();
/// assert_eq!(config.settings().min_difference, 0.02);
/// assert_eq!(config.settings().min_requests, 50); // the default
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GuardSpec {
    /// The fewest requests of each arm before the guard judges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_requests: Option<u64>,
    /// How much higher (absolute fraction) the new arm's error rate must be.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_difference: Option<f64>,
    /// An error rate (fraction) the new arm must never exceed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_error_rate: Option<f64>,
    /// The evidence needed to kill (an always-valid p-value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
    /// The sliding window's span, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_ms: Option<u64>,
    /// The window's bucket width, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket_ms: Option<u64>,
    /// When set, the new arm is the requests that got this variant (an A/B
    /// test); by default it is the requests for which the flag is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Also judge latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencySpec>,
}

/// The latency criterion's settings (TOML `guard.latency = {..}`, or
/// `latency = true` for the defaults).
///
/// ```
/// use flags_core::format::toml;
///
/// let set = toml::parse(
///     "[a]\nrollout = 5\nguard = { latency = { quantile = \"p99\", factor = 2 } }\n",
///     "flags.toml",
/// ).unwrap();
/// let latency = set.features[0].guard.as_ref().unwrap().latency.as_ref().unwrap();
/// assert_eq!(latency.quantile, Some(0.99));
/// assert_eq!(latency.min_increase_ms, None); // the default applies
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LatencySpec {
    /// The quantile compared (0.95 for p95).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantile: Option<f64>,
    /// How many times the old arm's quantile counts as slow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<f64>,
    /// The smallest slowdown that counts, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_increase_ms: Option<u64>,
}

/// A progressive rollout plan (TOML `plan = [{ percent = 5, for = "1d" },
/// ..]` or `plan = "gradual"`). A flag with a plan is guarded (with the
/// default settings unless it has `guard`).
///
/// The flag's own rollout percentage says where the plan stands, so every
/// instance sharing a store, and a restarted one, picks the plan up at the
/// step the flag is at.
///
/// ```
/// use flags_core::model::{PlanSpec, PlanStep};
///
/// let spec = PlanSpec::from_steps([(5, 86_400_000), (100, 0)]);
/// assert_eq!(spec.steps[0], PlanStep { percent: 5, min_duration_ms: 86_400_000 });
/// assert_eq!(spec.plan().unwrap().steps().len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanSpec {
    /// The steps, in order; percentages going up.
    pub steps: Vec<PlanStep>,
    /// An operator paused the plan: it holds its step until resumed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paused: bool,
    /// When the current step began (ms since the Unix epoch, moved forward
    /// by pauses), written by the guard at each step so that a restarted
    /// instance counts the step's time from its real start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_ms: Option<u64>,
    /// While paused: how much of the current step's time had passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_ms: Option<u64>,
}

impl PlanSpec {
    /// A running plan of `(percent, minimum duration in milliseconds)` steps.
    ///
    /// ```
    /// use flags_core::model::PlanSpec;
    ///
    /// let spec = PlanSpec::from_steps([(10, 3_600_000), (100, 0)]);
    /// assert_eq!(spec.steps[1].percent, 100);
    /// assert!(!spec.paused && spec.started_ms.is_none()); // not started yet
    /// ```
    pub fn from_steps(steps: impl IntoIterator<Item = (u32, u64)>) -> PlanSpec {
        PlanSpec {
            steps: steps
                .into_iter()
                .map(|(percent, min_duration_ms)| PlanStep {
                    percent,
                    min_duration_ms,
                })
                .collect(),
            ..PlanSpec::default()
        }
    }
}

/// One step of a [`PlanSpec`].
///
/// ```
/// use flags_core::format::toml;
///
/// let set = toml::parse(
///     "[a]\nrollout = 5\nplan = [{ percent = 5, for = \"1h\" }, { percent = 100 }]\n",
///     "flags.toml",
/// ).unwrap();
/// let steps = &set.features[0].plan.as_ref().unwrap().steps;
/// assert_eq!((steps[0].percent, steps[0].min_duration_ms), (5, 3_600_000));
/// assert_eq!((steps[1].percent, steps[1].min_duration_ms), (100, 0));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanStep {
    /// Percent of users, sticky by user id.
    pub percent: u32,
    /// How long the step lasts at least, healthy, before the next.
    #[serde(default)]
    pub min_duration_ms: u64,
}
