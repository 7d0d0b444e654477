//! The builders of per-flag guard settings: each setter validates its
//! value; [`GuardConfig::settings`] and [`LatencyRule::settings`] read them.

use std::time::Duration;

use serde::Serialize;

use super::error::GuardConfigError;
use super::new_arm::NewArm;
use super::settings::{GuardSettings, LatencySettings};

/// The longest window [`GuardConfig::window`] takes: the guard judges
/// recent traffic.
///
/// ```
/// use std::time::Duration;
/// use flags_core::guard::{GuardConfig, MAX_WINDOW};
///
/// assert!(GuardConfig::new().window(MAX_WINDOW, Duration::from_secs(3600)).is_ok());
/// assert!(GuardConfig::new().window(MAX_WINDOW * 2, Duration::from_secs(3600)).is_err());
/// ```
pub const MAX_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

fn rate(field: &'static str, v: f64, zero_ok: bool) -> Result<f64, GuardConfigError> {
    let ok = v.is_finite() && v < 1.0 && (v > 0.0 || (zero_ok && v == 0.0));
    if ok {
        Ok(v)
    } else {
        let range = if zero_ok { "0 <= x < 1" } else { "0 < x < 1" };
        Err(GuardConfigError::new(
            field,
            format!("must be a fraction with {range} (e.g. 0.01 for 1%), got {v}"),
        ))
    }
}

/// How the guard judges one flag. Every setting has a default; see each
/// setter.
///
/// ```
/// use std::time::Duration;
/// use flags_core::guard::{GuardConfig, LatencyRule};
///
/// # fn main() -> Result<(), flags_core::guard::GuardConfigError> {
/// let config = GuardConfig::new()
///     .min_requests(100)
///     .min_difference(0.02)?                      // 2 percentage points
///     .window(Duration::from_secs(600), Duration::from_secs(10))?
///     .latency(LatencyRule::new().factor(2.0)?);
/// assert_eq!(config.settings().min_requests, 100);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct GuardConfig {
    settings: GuardSettings,
}

impl GuardConfig {
    /// The defaults.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_core::guard::GuardConfig;
    ///
    /// let settings = GuardConfig::new().settings().clone();
    /// assert_eq!(settings.min_requests, 50);
    /// assert_eq!(settings.window, Duration::from_secs(300));
    /// assert!(settings.latency.is_none());
    /// ```
    pub fn new() -> GuardConfig {
        GuardConfig::default()
    }

    /// Which requests are the new arm. Default: those for which the flag is on.
    ///
    /// ```
    /// use flags_core::guard::{GuardConfig, NewArm};
    ///
    /// // Judge the `green` variant against every other request of the flag.
    /// let config = GuardConfig::new().arm(NewArm::Variant("green".into()));
    /// assert_eq!(config.settings().arm, NewArm::Variant("green".into()));
    /// ```
    #[must_use]
    pub fn arm(mut self, arm: NewArm) -> Self {
        self.settings.arm = arm;
        self
    }

    /// The fewest new-arm requests (and, to compare, old-arm requests) the
    /// guard needs before it judges. Default 50: enough that a kill rests on
    /// more than a handful of requests, few enough that at 10 new-arm
    /// requests a second the guard can act within 5 seconds.
    ///
    /// ```
    /// use flags_core::guard::GuardConfig;
    ///
    /// assert_eq!(GuardConfig::new().min_requests(500).settings().min_requests, 500);
    /// // The guard never judges on no requests at all.
    /// assert_eq!(GuardConfig::new().min_requests(0).settings().min_requests, 1);
    /// ```
    #[must_use]
    pub fn min_requests(mut self, n: u64) -> Self {
        self.settings.min_requests = n.max(1);
        self
    }

    /// How much higher (absolute) the new arm's observed error rate must be
    /// than the old arm's for a kill; below it a difference is tolerated even
    /// when it is real. Default 0.01 (one percentage point).
    ///
    /// ```
    /// use flags_core::guard::GuardConfig;
    ///
    /// let config = GuardConfig::new().min_difference(0.05).unwrap(); // 5 points
    /// assert_eq!(config.settings().min_difference, 0.05);
    /// // Zero kills on any real difference; a percentage is refused.
    /// assert!(GuardConfig::new().min_difference(0.0).is_ok());
    /// assert!(GuardConfig::new().min_difference(5.0).is_err());
    /// ```
    ///
    /// # Errors
    /// Unless `0 <= d < 1`.
    pub fn min_difference(mut self, d: f64) -> Result<Self, GuardConfigError> {
        self.settings.min_difference = rate("min_difference", d, true)?;
        Ok(self)
    }

    /// An error rate the new arm must never exceed, whatever the old arm
    /// does: the rule that still acts when there is no old arm to compare
    /// with (a plan at 100%). It is not applied while the old arm fails as
    /// often, since then the flag is not what is broken. Default 0.25.
    ///
    /// ```
    /// use flags_core::guard::GuardConfig;
    ///
    /// let config = GuardConfig::new().max_error_rate(0.1).unwrap();
    /// assert_eq!(config.settings().max_error_rate, 0.1);
    /// assert_eq!(GuardConfig::new().max_error_rate(0.0).unwrap_err().field, "max_error_rate");
    /// ```
    ///
    /// # Errors
    /// Unless `0 < r < 1`.
    pub fn max_error_rate(mut self, r: f64) -> Result<Self, GuardConfigError> {
        self.settings.max_error_rate = rate("max_error_rate", r, false)?;
        Ok(self)
    }

    /// The evidence needed to kill, as the always-valid p-value the evidence
    /// must reach (see the guard's `detect::stats` in `flags-middleware`). Default 10⁻⁶: with 5 s
    /// buckets, fewer than one false kill in 58 days of healthy traffic.
    ///
    /// ```
    /// use flags_core::guard::GuardConfig;
    ///
    /// // Kill on weaker evidence: faster to act, more false kills.
    /// let config = GuardConfig::new().alpha(1e-4).unwrap();
    /// assert_eq!(config.settings().alpha, 1e-4);
    /// assert!(GuardConfig::new().alpha(1.0).is_err());
    /// ```
    ///
    /// # Errors
    /// Unless `0 < alpha < 1`.
    pub fn alpha(mut self, alpha: f64) -> Result<Self, GuardConfigError> {
        self.settings.alpha = rate("alpha", alpha, false)?;
        Ok(self)
    }

    /// The sliding window's span and bucket width. Default 5 minutes in
    /// buckets of 5 seconds. A longer window lets a flag with little traffic
    /// reach the minimum sample; a narrower bucket costs memory
    /// (span / bucket buckets per flag) and raises the false-kill bound.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_core::guard::GuardConfig;
    ///
    /// let hour = Duration::from_secs(3600);
    /// let config = GuardConfig::new().window(hour, Duration::from_secs(30)).unwrap();
    /// assert_eq!(config.settings().window, hour);
    /// let err = GuardConfig::new().window(hour, Duration::from_millis(10)).unwrap_err();
    /// assert_eq!(err.field, "bucket");
    /// ```
    ///
    /// # Errors
    /// When the bucket is under 100 ms, longer than the span, the span is
    /// longer than [`MAX_WINDOW`] (7 days), or the window would need more
    /// than 10,000 buckets.
    pub fn window(mut self, span: Duration, bucket: Duration) -> Result<Self, GuardConfigError> {
        if bucket < Duration::from_millis(100) {
            return Err(GuardConfigError::new(
                "bucket",
                format!("must be at least 100ms, got {bucket:?}"),
            ));
        }
        if span > MAX_WINDOW {
            // The guard judges recent traffic; a longer span is a typo
            // (`5000w`), and one past the clock's range could not be kept.
            return Err(GuardConfigError::new(
                "window",
                format!("must be at most 7 days, got {span:?}"),
            ));
        }
        if span < bucket {
            return Err(GuardConfigError::new(
                "window",
                format!("must be at least one bucket ({bucket:?}), got {span:?}"),
            ));
        }
        if span.as_nanos() / bucket.as_nanos() > 10_000 {
            return Err(GuardConfigError::new(
                "window",
                format!("{span:?} in buckets of {bucket:?} is more than 10,000 buckets"),
            ));
        }
        self.settings.window = span;
        self.settings.bucket = bucket;
        Ok(self)
    }

    /// Also kill when the new arm is slower (see [`LatencyRule`]). Default: off.
    ///
    /// ```
    /// use flags_core::guard::{GuardConfig, LatencyRule};
    ///
    /// assert!(GuardConfig::new().settings().latency.is_none());
    /// let config = GuardConfig::new().latency(LatencyRule::new());
    /// assert_eq!(config.settings().latency.unwrap().quantile, 0.95);
    /// ```
    #[must_use]
    pub fn latency(mut self, rule: LatencyRule) -> Self {
        self.settings.latency = Some(rule.settings);
        self
    }

    /// The settings, to read (`config.settings().alpha`).
    ///
    /// ```
    /// use flags_core::guard::GuardConfig;
    ///
    /// let config = GuardConfig::new().min_requests(200);
    /// assert_eq!(config.settings().min_requests, 200);
    /// assert_eq!(config.settings().max_error_rate, 0.25); // the default
    /// ```
    pub fn settings(&self) -> &GuardSettings {
        &self.settings
    }
}

/// Kill when a quantile of the new arm's latency is clearly above the old
/// arm's.
///
/// The old arm's quantile over the window sets a threshold,
/// `max(q × factor, q + min_increase)`; requests slower than that are
/// "slow", and the new arm is killed when it has more slow requests than the
/// old arm with the same confidence as for errors (so a slow quantile on a
/// handful of requests is not enough), and more than `1 − quantile` of its
/// requests are slow (its own quantile is past the threshold).
///
/// ```
/// use std::time::Duration;
/// use flags_core::guard::{GuardConfig, LatencyRule};
///
/// let rule = LatencyRule::new().quantile(0.99).unwrap().min_increase(Duration::from_millis(20));
/// assert_eq!(rule.settings().factor, 1.5); // the default
/// let config = GuardConfig::new().latency(rule);
/// assert_eq!(config.settings().latency.unwrap().quantile, 0.99);
/// // A quantile must be a fraction.
/// assert!(LatencyRule::new().quantile(95.0).is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct LatencyRule {
    settings: LatencySettings,
}

impl LatencyRule {
    /// p95, 1.5 times and at least 50 ms slower.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_core::guard::LatencyRule;
    ///
    /// let settings = *LatencyRule::new().settings();
    /// assert_eq!((settings.quantile, settings.factor), (0.95, 1.5));
    /// assert_eq!(settings.min_increase, Duration::from_millis(50));
    /// ```
    pub fn new() -> LatencyRule {
        LatencyRule::default()
    }

    /// The quantile compared. Default 0.95.
    ///
    /// ```
    /// use flags_core::guard::LatencyRule;
    ///
    /// let rule = LatencyRule::new().quantile(0.99).unwrap(); // p99
    /// assert_eq!(rule.settings().quantile, 0.99);
    /// assert_eq!(LatencyRule::new().quantile(99.0).unwrap_err().field, "latency.quantile");
    /// ```
    ///
    /// # Errors
    /// Unless `0 < q < 1`.
    pub fn quantile(mut self, q: f64) -> Result<Self, GuardConfigError> {
        self.settings.quantile = rate("latency.quantile", q, false)?;
        Ok(self)
    }

    /// How many times the old arm's quantile counts as slow. Default 1.5.
    ///
    /// ```
    /// use flags_core::guard::LatencyRule;
    ///
    /// assert_eq!(LatencyRule::new().factor(2.0).unwrap().settings().factor, 2.0);
    /// // Under 1 would call the old arm's own speed slow.
    /// assert!(LatencyRule::new().factor(0.5).is_err());
    /// ```
    ///
    /// # Errors
    /// Unless `factor >= 1`.
    pub fn factor(mut self, factor: f64) -> Result<Self, GuardConfigError> {
        if !(factor.is_finite() && factor >= 1.0) {
            return Err(GuardConfigError::new(
                "latency.factor",
                format!("must be at least 1 (e.g. 1.5), got {factor}"),
            ));
        }
        self.settings.factor = factor;
        Ok(self)
    }

    /// The smallest slowdown that counts, however fast the old arm is.
    /// Default 50 ms.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_core::guard::LatencyRule;
    ///
    /// let rule = LatencyRule::new().min_increase(Duration::from_millis(20));
    /// assert_eq!(rule.settings().min_increase, Duration::from_millis(20));
    /// ```
    #[must_use]
    pub fn min_increase(mut self, d: Duration) -> Self {
        self.settings.min_increase = d;
        self
    }

    /// The settings, to read (`rule.settings().factor`).
    ///
    /// ```
    /// use flags_core::guard::LatencyRule;
    ///
    /// let rule = LatencyRule::new().factor(3.0).unwrap();
    /// assert_eq!(rule.settings().factor, 3.0);
    /// assert_eq!(rule.settings().quantile, 0.95); // the default
    /// ```
    pub fn settings(&self) -> &LatencySettings {
        &self.settings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_settings_name_their_field() {
        let e = GuardConfig::new().min_difference(1.5).unwrap_err();
        assert_eq!(e.field, "min_difference");
        assert!(e.to_string().contains("got 1.5"), "{e}");
        assert_eq!(GuardConfig::new().alpha(0.0).unwrap_err().field, "alpha");
        assert_eq!(
            GuardConfig::new()
                .max_error_rate(f64::NAN)
                .unwrap_err()
                .field,
            "max_error_rate"
        );
        let e = GuardConfig::new()
            .window(Duration::from_secs(1), Duration::from_secs(5))
            .unwrap_err();
        assert_eq!(e.field, "window");
        let e = GuardConfig::new()
            .window(Duration::from_secs(3600), Duration::from_millis(10))
            .unwrap_err();
        assert_eq!(e.field, "bucket");
        let e = GuardConfig::new()
            .window(Duration::from_secs(86_400), Duration::from_millis(100))
            .unwrap_err();
        assert!(e.message.contains("10,000"), "{e}");
        assert_eq!(
            LatencyRule::new().factor(0.5).unwrap_err().field,
            "latency.factor"
        );
        assert_eq!(
            LatencyRule::new().quantile(1.0).unwrap_err().field,
            "latency.quantile"
        );
    }

    #[test]
    fn zero_difference_is_allowed() {
        let c = GuardConfig::new().min_difference(0.0).unwrap();
        assert_eq!(c.settings().min_difference, 0.0);
    }

    #[test]
    fn serializes_durations_as_millis() {
        let v = serde_json::to_value(GuardConfig::new()).unwrap();
        assert_eq!(v["window_ms"], 300_000);
        assert_eq!(v["bucket_ms"], 5_000);
        assert_eq!(v["arm"], "enabled");
    }
}
