//! What the guard reads: per flag, monotonic request, error and latency
//! totals for the new arm and the old arm.
//!
//! Totals rather than rates, so any counter (the layer's in-process metrics,
//! a Prometheus scrape, a test) can feed the guard; the
//! [window](super::window) takes differences between reads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use flags_core::guard::NewArm;

use crate::metrics::LatencyHistogram;

/// Monotonic totals for one arm of one flag.
///
/// ```
/// use std::time::Duration;
/// use flags_middleware::guard::detect::ArmCounts;
///
/// let mut arm = ArmCounts::default();
/// arm.record(true, Duration::from_millis(900)); // a 5xx
/// arm.record(false, Duration::from_millis(40));
/// arm.record(false, Duration::from_millis(35));
/// arm.record(false, Duration::from_millis(50));
/// assert_eq!((arm.requests, arm.errors), (4, 1));
/// assert_eq!(arm.error_rate(), 0.25);
/// assert_eq!(arm.latency.count(), 4);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArmCounts {
    /// Requests served.
    pub requests: u64,
    /// Requests that failed: a 5xx status, a panic the app turned into one,
    /// or a request dropped before it answered.
    pub errors: u64,
    /// How long the requests took (only read when the flag's guard has a
    /// latency rule; may stay empty otherwise).
    pub latency: LatencyHistogram,
}

impl ArmCounts {
    /// Counts one request.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::guard::detect::ArmCounts;
    ///
    /// let mut arm = ArmCounts::default();
    /// arm.record(false, Duration::from_millis(40));
    /// arm.record(true, Duration::from_secs(2));
    /// assert_eq!((arm.requests, arm.errors), (2, 1));
    /// assert_eq!(arm.latency.quantile(1.0), Some(Duration::from_millis(2500))); // its bin's bound
    /// ```
    pub fn record(&mut self, error: bool, latency: Duration) {
        self.requests += 1;
        self.errors += u64::from(error);
        self.latency.record(latency);
    }

    /// `self - earlier`, or `None` when a total went down (the counters
    /// were reset).
    pub(crate) fn since(&self, earlier: &ArmCounts) -> Option<ArmCounts> {
        Some(ArmCounts {
            requests: self.requests.checked_sub(earlier.requests)?,
            errors: self.errors.checked_sub(earlier.errors)?,
            latency: self.latency.since(&earlier.latency)?,
        })
    }

    /// Adds `other`.
    pub(crate) fn merge(&mut self, other: &ArmCounts) {
        self.requests = self.requests.saturating_add(other.requests);
        self.errors = self.errors.saturating_add(other.errors);
        self.latency.merge(&other.latency);
    }

    /// Errors per request (0 when there were no requests).
    ///
    /// ```
    /// use flags_middleware::guard::detect::ArmCounts;
    ///
    /// let mut arm = ArmCounts::default();
    /// assert_eq!(arm.error_rate(), 0.0); // no requests: 0, not NaN
    /// arm.requests = 200;
    /// arm.errors = 3;
    /// assert_eq!(arm.error_rate(), 0.015);
    /// ```
    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.errors as f64 / self.requests as f64
        }
    }
}

/// The totals of both arms of one flag, as a [`CountSource`] reads them.
///
/// ```
/// use flags_middleware::guard::detect::{CountSource, FlagCounts, ManualCounts, NewArm, Side};
///
/// let counts = ManualCounts::new();
/// counts.add("new_checkout_flow", Side::New, 100, 5);
/// counts.add("new_checkout_flow", Side::Old, 900, 9);
/// let read: FlagCounts = counts.read("new_checkout_flow", &NewArm::Enabled).unwrap();
/// assert_eq!(read.new.error_rate(), 0.05);
/// assert_eq!(read.old.error_rate(), 0.01);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagCounts {
    /// The arm being rolled out.
    pub new: ArmCounts,
    /// Everyone else.
    pub old: ArmCounts,
}

/// One side of a flag, for [`ManualCounts::record`].
///
/// ```
/// use std::time::Duration;
/// use flags_middleware::guard::detect::{CountSource, ManualCounts, NewArm};
/// use flags_middleware::guard::Side;
///
/// let counts = ManualCounts::new();
/// // Each request counted on the side its answer put it.
/// for (served_new_arm, failed) in [(true, true), (false, false), (false, false)] {
///     let side = if served_new_arm { Side::New } else { Side::Old };
///     counts.record("new_checkout_flow", side, failed, Duration::from_millis(20));
/// }
/// let read = counts.read("new_checkout_flow", &NewArm::Enabled).unwrap();
/// assert_eq!((read.new.requests, read.new.errors, read.old.requests), (1, 1, 2));
/// assert_eq!(serde_json::to_string(&Side::Old).unwrap(), r#""old""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The arm being rolled out.
    New,
    /// Everyone else.
    Old,
}

/// Something the guard can read counts from.
///
/// Reads must be cheap (the guard reads every flag it watches at every
/// check) and must never block for long.
///
/// A source of your own, here totals scraped from elsewhere and kept by
/// flag name:
///
/// ```
/// use std::collections::HashMap;
/// use flags_middleware::guard::detect::{CountSource, FlagCounts, NewArm};
///
/// struct Scraped(HashMap<String, FlagCounts>);
///
/// impl CountSource for Scraped {
///     fn read(&self, flag: &str, _arm: &NewArm) -> Option<FlagCounts> {
///         self.0.get(flag).cloned()
///     }
/// }
///
/// let mut totals = FlagCounts::default();
/// totals.new.requests = 120;
/// totals.old.requests = 2_400;
/// let source = Scraped(HashMap::from([("new_checkout_flow".to_owned(), totals)]));
/// let arm = NewArm::Enabled;
/// let read = source.read_all(&[("new_checkout_flow", &arm), ("unknown", &arm)]);
/// assert_eq!(read[0].as_ref().map(|c| c.new.requests), Some(120));
/// assert!(read[1].is_none());
/// ```
pub trait CountSource: Send + Sync + 'static {
    /// The current totals of `flag`, split by `arm`; `None` when the source
    /// has counted nothing for the flag yet (read as zeros).
    fn read(&self, flag: &str, arm: &NewArm) -> Option<FlagCounts>;

    /// The totals of several flags at once (one check reads every watched
    /// flag this way); override it when one read of everything is cheaper
    /// than one read per flag.
    fn read_all(&self, flags: &[(&str, &NewArm)]) -> Vec<Option<FlagCounts>> {
        flags
            .iter()
            .map(|(flag, arm)| self.read(flag, arm))
            .collect()
    }
}

impl<T: CountSource + ?Sized> CountSource for Arc<T> {
    fn read(&self, flag: &str, arm: &NewArm) -> Option<FlagCounts> {
        (**self).read(flag, arm)
    }

    fn read_all(&self, flags: &[(&str, &NewArm)]) -> Vec<Option<FlagCounts>> {
        (**self).read_all(flags)
    }
}

/// Counts kept in memory and fed by hand: for tests, and for apps that
/// measure requests themselves. Clones share the counts.
///
/// ```
/// use std::time::Duration;
/// use flags_middleware::guard::detect::{CountSource, ManualCounts, NewArm, Side};
///
/// let counts = ManualCounts::new();
/// counts.record("new_checkout_flow", Side::New, true, Duration::from_millis(12));
/// let read = counts.read("new_checkout_flow", &NewArm::Enabled).unwrap();
/// assert_eq!((read.new.requests, read.new.errors), (1, 1));
/// ```
#[derive(Debug, Clone, Default)]
pub struct ManualCounts {
    flags: Arc<Mutex<HashMap<String, FlagCounts>>>,
}

impl ManualCounts {
    /// No counts yet.
    ///
    /// ```
    /// use flags_middleware::guard::detect::{CountSource, ManualCounts, NewArm, Side};
    ///
    /// let counts = ManualCounts::new();
    /// assert!(counts.read("f", &NewArm::Enabled).is_none());
    /// let for_the_app = counts.clone(); // clones share the counts
    /// for_the_app.add("f", Side::Old, 10, 0);
    /// assert_eq!(counts.read("f", &NewArm::Enabled).unwrap().old.requests, 10);
    /// ```
    pub fn new() -> ManualCounts {
        ManualCounts::default()
    }

    /// Counts one request of `flag` on `side`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::guard::detect::{CountSource, ManualCounts, NewArm, Side};
    ///
    /// let counts = ManualCounts::new();
    /// counts.record("f", Side::New, false, Duration::from_millis(120));
    /// let new = counts.read("f", &NewArm::Enabled).unwrap().new;
    /// assert_eq!((new.requests, new.errors, new.latency.count()), (1, 0, 1));
    /// assert_eq!(new.latency.quantile(0.5), Some(Duration::from_millis(250)));
    /// ```
    pub fn record(&self, flag: &str, side: Side, error: bool, latency: Duration) {
        let mut flags = self.flags.lock().unwrap_or_else(PoisonError::into_inner);
        let counts = match flags.get_mut(flag) {
            Some(c) => c,
            None => flags.entry(flag.to_owned()).or_default(),
        };
        match side {
            Side::New => counts.new.record(error, latency),
            Side::Old => counts.old.record(error, latency),
        }
    }

    /// Adds `requests` and `errors` to `flag`'s `side` at once (latency not
    /// recorded); handy for simulating a second of traffic.
    ///
    /// ```
    /// use flags_middleware::guard::detect::{CountSource, ManualCounts, NewArm, Side};
    ///
    /// let counts = ManualCounts::new();
    /// counts.add("f", Side::New, 100, 7);
    /// counts.add("f", Side::New, 100, 1);
    /// let new = counts.read("f", &NewArm::Enabled).unwrap().new;
    /// assert_eq!((new.requests, new.errors, new.latency.count()), (200, 8, 0));
    /// ```
    pub fn add(&self, flag: &str, side: Side, requests: u64, errors: u64) {
        let mut flags = self.flags.lock().unwrap_or_else(PoisonError::into_inner);
        let counts = flags.entry(flag.to_owned()).or_default();
        let arm = match side {
            Side::New => &mut counts.new,
            Side::Old => &mut counts.old,
        };
        arm.requests += requests;
        arm.errors += errors;
    }
}

impl CountSource for ManualCounts {
    fn read(&self, flag: &str, _arm: &NewArm) -> Option<FlagCounts> {
        self.flags
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(flag)
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_detects_reset() {
        let mut a = ArmCounts::default();
        a.record(true, Duration::from_millis(3));
        let mut b = a.clone();
        b.record(false, Duration::from_millis(3));
        let d = b.since(&a).unwrap();
        assert_eq!((d.requests, d.errors, d.latency.count()), (1, 0, 1));
        assert!(a.since(&b).is_none());
    }

    #[test]
    fn manual_counts_by_side() {
        let c = ManualCounts::new();
        c.add("f", Side::Old, 100, 1);
        c.record("f", Side::New, false, Duration::from_millis(1));
        let read = c.read("f", &NewArm::Enabled).unwrap();
        assert_eq!(read.old.requests, 100);
        assert_eq!(read.new.requests, 1);
        assert!(c.read("g", &NewArm::Enabled).is_none());
    }
}
