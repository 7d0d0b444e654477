//! The values a [`GuardConfig`](super::GuardConfig) and a
//! [`LatencyRule`](super::LatencyRule) hold, as plain fields to read.
//!
//! The builders validate each value as it is set and own the only way in;
//! these types are what they hand out to read (`config.settings().alpha`),
//! so the setters keep the plain names (`alpha(0.01)`) and the getters need
//! no `get_` prefix.

use std::time::Duration;

use serde::Serialize;

use super::new_arm::NewArm;

/// Serializes a duration as whole milliseconds.
pub fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// How the guard judges one flag, as validated by
/// [`GuardConfig`](super::GuardConfig); each field is documented on its
/// setter there, with its default.
///
/// ```
/// use flags_core::guard::GuardConfig;
///
/// let config = GuardConfig::new().min_requests(100);
/// assert_eq!(config.settings().min_requests, 100);
/// assert_eq!(config.settings().alpha, 1e-6); // the default
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct GuardSettings {
    /// Which requests are the new arm.
    pub arm: NewArm,
    /// See [`GuardConfig::min_requests`](super::GuardConfig::min_requests).
    pub min_requests: u64,
    /// See [`GuardConfig::min_difference`](super::GuardConfig::min_difference).
    pub min_difference: f64,
    /// See [`GuardConfig::max_error_rate`](super::GuardConfig::max_error_rate).
    pub max_error_rate: f64,
    /// See [`GuardConfig::alpha`](super::GuardConfig::alpha).
    pub alpha: f64,
    /// The sliding window's span.
    #[serde(rename = "window_ms", serialize_with = "as_millis")]
    pub window: Duration,
    /// The sliding window's bucket width.
    #[serde(rename = "bucket_ms", serialize_with = "as_millis")]
    pub bucket: Duration,
    /// The latency rule, if any.
    pub latency: Option<LatencySettings>,
}

impl Default for GuardSettings {
    fn default() -> Self {
        GuardSettings {
            arm: NewArm::Enabled,
            min_requests: 50,
            min_difference: 0.01,
            max_error_rate: 0.25,
            alpha: 1e-6,
            window: Duration::from_secs(300),
            bucket: Duration::from_secs(5),
            latency: None,
        }
    }
}

/// A latency rule as validated by [`LatencyRule`](super::LatencyRule); each
/// field is documented on its setter there, with its default.
///
/// ```
/// use std::time::Duration;
/// use flags_core::guard::LatencyRule;
///
/// let settings = *LatencyRule::new().factor(2.0).unwrap().settings();
/// assert_eq!(settings.factor, 2.0);
/// assert_eq!(settings.quantile, 0.95);
/// assert_eq!(settings.min_increase, Duration::from_millis(50));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[non_exhaustive]
pub struct LatencySettings {
    /// See [`LatencyRule::quantile`](super::LatencyRule::quantile).
    pub quantile: f64,
    /// See [`LatencyRule::factor`](super::LatencyRule::factor).
    pub factor: f64,
    /// See [`LatencyRule::min_increase`](super::LatencyRule::min_increase).
    #[serde(rename = "min_increase_ms", serialize_with = "as_millis")]
    pub min_increase: Duration,
}

impl Default for LatencySettings {
    fn default() -> Self {
        LatencySettings {
            quantile: 0.95,
            factor: 1.5,
            min_increase: Duration::from_millis(50),
        }
    }
}
