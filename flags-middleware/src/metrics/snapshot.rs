//! A copy of the counters at one moment, and the difference of two.

use serde::Serialize;

use super::histogram::LatencyHistogram;

/// Every counter at one moment; see [`Metrics::snapshot`](super::Metrics::snapshot).
///
/// ```
/// use axum::{body::Body, http::Request, routing::get, Router};
/// use flags_middleware::{FlagContext, Flags, FlagsLayer};
/// use tower::ServiceExt as _;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
/// let app = Router::new()
///     .route("/", get(|f: FlagContext| async move { f.is_enabled("new_checkout_flow").to_string() }))
///     .layer(FlagsLayer::new(flags.clone()));
/// app.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
///
/// let counters = flags.metrics().snapshot();
/// let arm = &counters.flags[0].arms[0];
/// assert_eq!((counters.flags[0].flag.as_str(), arm.arm.as_str()), ("new_checkout_flow", "on"));
/// assert_eq!((arm.requests, arm.errors, arm.error_rate()), (1, 0, 0.0));
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MetricsSnapshot {
    /// One entry per flag, sorted by name.
    pub flags: Vec<FlagStats>,
    /// Samples not recorded because the table was full.
    pub dropped: u64,
}

/// The counters of one flag.
///
/// ```
/// use std::time::Duration;
/// use flags_middleware::metrics::Metrics;
///
/// let metrics = Metrics::default();
/// // One request that asked two flags, then one that asked one.
/// metrics.record_each([("new_checkout_flow", "on"), ("button_color", "green")], 200, Duration::ZERO);
/// metrics.record("button_color", "blue", 200, Duration::ZERO);
///
/// let snapshot = metrics.snapshot();
/// let flags: Vec<&str> = snapshot.flags.iter().map(|f| f.flag.as_str()).collect();
/// assert_eq!(flags, ["button_color", "new_checkout_flow"]); // sorted by name
/// let color = snapshot.flag("button_color").unwrap();
/// let arms: Vec<(&str, u64)> = color.arms.iter().map(|a| (a.arm.as_str(), a.requests)).collect();
/// assert_eq!(arms, [("blue", 1), ("green", 1)]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct FlagStats {
    /// The flag's name.
    pub flag: String,
    /// One entry per arm seen, sorted by name.
    pub arms: Vec<ArmStats>,
}

/// The counters of one arm of one flag.
///
/// ```
/// use std::time::Duration;
/// use flags_middleware::metrics::Metrics;
///
/// let metrics = Metrics::default();
/// for (status, ms) in [(200, 3), (200, 4), (500, 30), (200, 3)] {
///     metrics.record("new_checkout_flow", "on", status, Duration::from_millis(ms));
/// }
/// let snapshot = metrics.snapshot();
/// let on = snapshot.arm("new_checkout_flow", "on").unwrap();
/// assert_eq!((on.requests, on.errors, on.error_rate()), (4, 1, 0.25));
/// assert_eq!(on.latency_quantile_ms(0.5), Some(5)); // half took at most 5 ms
/// assert_eq!(on.latency_quantile_ms(0.99), Some(50));
/// assert_eq!(on.latency.count(), 4);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ArmStats {
    /// The variant's name, or `on` / `off`.
    pub arm: String,
    /// Requests that got this arm.
    pub requests: u64,
    /// Those of them answered with a 5xx status (a caught panic included)
    /// or dropped before they answered (counted as 499).
    pub errors: u64,
    /// Total latency, in microseconds (to the response head).
    pub latency_sum_us: u64,
    /// How long the requests took (to the response head).
    pub latency: LatencyHistogram,
}

impl ArmStats {
    /// The share of requests that failed: answered with a 5xx status or
    /// dropped before they answered (0 when none).
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::metrics::Metrics;
    ///
    /// let metrics = Metrics::default();
    /// for status in [200, 503, 404, 200] {
    ///     metrics.record("f", "on", status, Duration::ZERO);
    /// }
    /// let snapshot = metrics.snapshot();
    /// assert_eq!(snapshot.arm("f", "on").unwrap().error_rate(), 0.25); // a 404 is no error
    /// ```
    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.errors as f64 / self.requests as f64
        }
    }

    /// The smallest bucket bound under which at least `q` (0..=1) of the
    /// requests fall, in ms; `None` when there are no requests or the
    /// quantile lies in the open-ended last bucket.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::metrics::Metrics;
    ///
    /// let metrics = Metrics::default();
    /// for ms in [3, 8, 12, 20_000] {
    ///     metrics.record("f", "on", 200, Duration::from_millis(ms));
    /// }
    /// let snapshot = metrics.snapshot();
    /// let on = snapshot.arm("f", "on").unwrap();
    /// assert_eq!(on.latency_quantile_ms(0.5), Some(10)); // half took at most 10 ms
    /// assert_eq!(on.latency_quantile_ms(1.0), None); // the slowest took over 10 s
    /// ```
    pub fn latency_quantile_ms(&self, q: f64) -> Option<u64> {
        let bin = self.latency.quantile_bin(q)?;
        LatencyHistogram::bound(bin).map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    fn minus(&self, earlier: Option<&ArmStats>) -> ArmStats {
        let Some(e) = earlier else {
            return self.clone();
        };
        ArmStats {
            arm: self.arm.clone(),
            requests: self.requests.saturating_sub(e.requests),
            errors: self.errors.saturating_sub(e.errors),
            latency_sum_us: self.latency_sum_us.saturating_sub(e.latency_sum_us),
            latency: self.latency.saturating_since(&e.latency),
        }
    }
}

impl MetricsSnapshot {
    /// The counters of `arm` of `flag`, if any request got it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::metrics::Metrics;
    ///
    /// let metrics = Metrics::default();
    /// metrics.record("button_color", "blue", 200, Duration::ZERO);
    /// let snapshot = metrics.snapshot();
    /// assert_eq!(snapshot.arm("button_color", "blue").unwrap().requests, 1);
    /// assert!(snapshot.arm("button_color", "green").is_none()); // no request got it yet
    /// ```
    pub fn arm(&self, flag: &str, arm: &str) -> Option<&ArmStats> {
        self.flag(flag)?.arms.iter().find(|a| a.arm == arm)
    }

    /// The counters of `flag`, if any request evaluated it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::metrics::Metrics;
    ///
    /// let metrics = Metrics::default();
    /// metrics.record_each([("a", "on"), ("b", "off")], 200, Duration::ZERO);
    /// let snapshot = metrics.snapshot();
    /// assert_eq!(snapshot.flag("b").unwrap().arms[0].arm, "off");
    /// assert!(snapshot.flag("c").is_none());
    /// ```
    pub fn flag(&self, flag: &str) -> Option<&FlagStats> {
        self.flags.iter().find(|f| f.flag == flag)
    }

    /// What happened between `earlier` and `self` (both from the same
    /// [`Metrics`](super::Metrics)): every counter minus its earlier value.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::metrics::Metrics;
    ///
    /// let metrics = Metrics::default();
    /// metrics.record("f", "on", 503, Duration::from_millis(1));
    /// let before = metrics.snapshot();
    /// metrics.record("f", "on", 200, Duration::from_millis(1));
    /// metrics.record("f", "off", 200, Duration::from_millis(1));
    /// let since = metrics.snapshot().since(&before);
    /// assert_eq!(since.arm("f", "on").map(|a| (a.requests, a.errors)), Some((1, 0)));
    /// assert_eq!(since.arm("f", "off").unwrap().requests, 1); // new since: all of it
    /// ```
    pub fn since(&self, earlier: &MetricsSnapshot) -> MetricsSnapshot {
        MetricsSnapshot {
            flags: self
                .flags
                .iter()
                .map(|f| FlagStats {
                    flag: f.flag.clone(),
                    arms: f
                        .arms
                        .iter()
                        .map(|a| a.minus(earlier.arm(&f.flag, &a.arm)))
                        .collect(),
                })
                .collect(),
            dropped: self.dropped.saturating_sub(earlier.dropped),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::metrics::Metrics;

    #[test]
    fn since_subtracts_and_keeps_new_pairs() {
        let m = Metrics::default();
        m.record("f", "on", 200, Duration::ZERO);
        let before = m.snapshot();
        m.record("f", "on", 503, Duration::ZERO);
        m.record("f", "off", 200, Duration::ZERO);
        let d = m.snapshot().since(&before);
        assert_eq!(
            d.arm("f", "on").map(|a| (a.requests, a.errors)),
            Some((1, 1))
        );
        assert_eq!(d.arm("f", "off").map(|a| a.requests), Some(1));
    }

    #[test]
    fn quantiles_are_bin_bounds_in_ms() {
        let m = Metrics::default();
        m.record("f", "on", 200, Duration::from_millis(3));
        m.record("f", "on", 200, Duration::from_secs(30));
        let s = m.snapshot();
        let on = s.arm("f", "on").unwrap();
        assert_eq!(on.latency_quantile_ms(0.5), Some(5));
        assert_eq!(
            on.latency_quantile_ms(1.0),
            None,
            "the overflow bin has no bound"
        );
        assert_eq!(on.latency.count(), on.requests);
    }
}
