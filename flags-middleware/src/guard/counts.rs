//! What the guard reads: per flag, monotonic request, error and latency
//! totals for the new arm and the old arm.
//!
//! Totals rather than rates, so any counter (the layer's in-process metrics,
//! a Prometheus scrape, a test) can feed the guard; the
//! [window](super::window) takes differences between reads.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::NewArm;

/// Upper bounds of the latency histogram's bins, in milliseconds; a last bin
/// holds everything slower. The same bins as the layer's
/// [metrics](crate::metrics::LATENCY_BUCKETS_MS), so its counts are read
/// without loss.
pub const LATENCY_BOUNDS_MS: [u64; 13] = crate::metrics::LATENCY_BUCKETS_MS;

/// Number of bins: one per bound plus the overflow bin.
const BINS: usize = LATENCY_BOUNDS_MS.len() + 1;

/// A latency histogram with the fixed bins of [`LATENCY_BOUNDS_MS`].
///
/// Empty histograms allocate nothing, so arms without a latency rule cost
/// nothing to keep.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct LatencyHistogram {
    /// Either empty (all zero) or exactly `BINS` long.
    counts: Vec<u64>,
}

impl PartialEq for LatencyHistogram {
    fn eq(&self, other: &Self) -> bool {
        (0..BINS).all(|b| self.get(b) == other.get(b))
    }
}

impl Eq for LatencyHistogram {}

impl fmt::Debug for LatencyHistogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LatencyHistogram")
            .field("count", &self.count())
            .field("p95", &self.quantile(0.95))
            .finish()
    }
}

impl LatencyHistogram {
    /// The bin `latency` falls in.
    pub fn bin(latency: Duration) -> usize {
        let ms = latency.as_secs_f64() * 1000.0;
        LATENCY_BOUNDS_MS
            .iter()
            .position(|&b| ms <= b as f64)
            .unwrap_or(BINS - 1)
    }

    /// The lower bound of `bin` (zero for the first).
    pub fn lower(bin: usize) -> Duration {
        match bin.checked_sub(1) {
            Some(prev) => Duration::from_millis(LATENCY_BOUNDS_MS[prev.min(BINS - 2)]),
            None => Duration::ZERO,
        }
    }

    /// The upper bound of `bin` (`None` for the overflow bin).
    pub fn bound(bin: usize) -> Option<Duration> {
        LATENCY_BOUNDS_MS
            .get(bin)
            .map(|&ms| Duration::from_millis(ms))
    }

    /// Counts one request that took `latency`.
    pub fn record(&mut self, latency: Duration) {
        self.add_to_bin(Self::bin(latency), 1);
    }

    /// Adds `n` requests to `bin` (bins past the last one go to the overflow bin).
    pub fn add_to_bin(&mut self, bin: usize, n: u64) {
        if n == 0 {
            return;
        }
        if self.counts.is_empty() {
            self.counts = vec![0; BINS];
        }
        let bin = bin.min(BINS - 1);
        self.counts[bin] = self.counts[bin].saturating_add(n);
    }

    /// The count in `bin` (0 past the last bin).
    pub fn get(&self, bin: usize) -> u64 {
        self.counts.get(bin).copied().unwrap_or(0)
    }

    /// Requests counted.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Requests slower than the upper bound of `bin`.
    pub fn above(&self, bin: usize) -> u64 {
        self.counts.iter().skip(bin + 1).sum()
    }

    /// The bin holding quantile `q` (0..=1), if anything was counted.
    pub fn quantile_bin(&self, q: f64) -> Option<usize> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        // The smallest bin whose cumulative count reaches q of the total.
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (bin, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(bin);
            }
        }
        Some(BINS - 1)
    }

    /// Quantile `q`, as the upper bound of its bin (`Duration::MAX` when it
    /// is in the overflow bin); `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        self.quantile_bin(q)
            .map(|b| Self::bound(b).unwrap_or(Duration::MAX))
    }

    /// Bin-wise `self - earlier`, or `None` when a bin went down (the counters
    /// were reset).
    pub(crate) fn since(&self, earlier: &LatencyHistogram) -> Option<LatencyHistogram> {
        let mut out = LatencyHistogram::default();
        for bin in 0..BINS {
            out.add_to_bin(bin, self.get(bin).checked_sub(earlier.get(bin))?);
        }
        Some(out)
    }

    /// Adds `other` bin-wise.
    pub(crate) fn merge(&mut self, other: &LatencyHistogram) {
        for (bin, &n) in other.counts.iter().enumerate() {
            self.add_to_bin(bin, n);
        }
    }
}

/// Monotonic totals for one arm of one flag.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArmCounts {
    /// Requests served.
    pub requests: u64,
    /// Requests that failed: a 5xx status, or a panic the app turned into one.
    pub errors: u64,
    /// How long the requests took (only read when the flag's guard has a
    /// latency rule; may stay empty otherwise).
    pub latency: LatencyHistogram,
}

impl ArmCounts {
    /// Counts one request.
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
    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.errors as f64 / self.requests as f64
        }
    }
}

/// The totals of both arms of one flag.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagCounts {
    /// The arm being rolled out.
    pub new: ArmCounts,
    /// Everyone else.
    pub old: ArmCounts,
}

/// One side of a flag, for [`ManualCounts::record`].
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
/// use flags_middleware::guard::{CountSource, ManualCounts, NewArm, Side};
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
    pub fn new() -> ManualCounts {
        ManualCounts::default()
    }

    /// Counts one request of `flag` on `side`.
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
    fn bins_follow_bounds() {
        assert_eq!(LatencyHistogram::bin(Duration::from_micros(500)), 0);
        assert_eq!(LatencyHistogram::bin(Duration::from_millis(1)), 0);
        assert_eq!(LatencyHistogram::bin(Duration::from_micros(1001)), 1);
        assert_eq!(LatencyHistogram::bin(Duration::from_millis(120)), 7);
        assert_eq!(LatencyHistogram::bound(7), Some(Duration::from_millis(250)));
        assert_eq!(LatencyHistogram::lower(7), Duration::from_millis(100));
        assert_eq!(LatencyHistogram::lower(0), Duration::ZERO);
        assert_eq!(LatencyHistogram::lower(BINS - 1), Duration::from_secs(10));
        assert_eq!(LatencyHistogram::bin(Duration::from_secs(3600)), BINS - 1);
        assert_eq!(LatencyHistogram::bound(BINS - 1), None);
    }

    #[test]
    fn quantile_is_upper_bound_of_its_bin() {
        let mut h = LatencyHistogram::default();
        for _ in 0..95 {
            h.record(Duration::from_millis(8));
        }
        for _ in 0..5 {
            h.record(Duration::from_millis(400));
        }
        assert_eq!(h.quantile(0.95), Some(Duration::from_millis(10)));
        assert_eq!(h.quantile(0.96), Some(Duration::from_millis(500)));
        assert_eq!(h.above(LatencyHistogram::bin(Duration::from_millis(8))), 5);
        assert_eq!(LatencyHistogram::default().quantile(0.5), None);
    }

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
