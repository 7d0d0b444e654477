//! The latency histogram: request counts in fixed bins.
//!
//! One type for every reader of latencies: the layer's counters are read
//! into it ([`ArmStats::latency`](super::ArmStats::latency)), and the rollout
//! guard's counts carry it
//! ([`ArmCounts::latency`](crate::guard::detect::ArmCounts::latency)), so
//! the guard reads the layer's latencies as they are.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Upper bounds of the latency bins, in milliseconds; a last bin (`+Inf`)
/// holds everything slower. Fixed so histograms from different processes
/// and times can be added and subtracted.
///
/// ```
/// use std::time::Duration;
/// use flags_middleware::metrics::{LatencyHistogram, LATENCY_BUCKETS_MS};
///
/// let mut h = LatencyHistogram::default();
/// h.record(Duration::from_millis(25)); // on a bound: that bound's bin
/// h.record(Duration::from_millis(26));
/// h.record(Duration::from_secs(60)); // slower than the last bound
/// let bin_of = |ms| LATENCY_BUCKETS_MS.iter().position(|&bound| bound == ms).unwrap();
/// assert_eq!((h.get(bin_of(25)), h.get(bin_of(50))), (1, 1));
/// assert_eq!(h.get(LATENCY_BUCKETS_MS.len()), 1); // the `+Inf` bin
/// ```
pub const LATENCY_BUCKETS_MS: [u64; 13] =
    [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/// Number of bins: one per bound plus the overflow bin.
pub(crate) const BINS: usize = LATENCY_BUCKETS_MS.len() + 1;

/// The bounds as durations, so a latency is compared exactly (no rounding
/// to micro- or milliseconds on the request path).
const BOUNDS: [Duration; BINS - 1] = {
    let mut out = [Duration::ZERO; BINS - 1];
    let mut i = 0;
    while i < out.len() {
        out[i] = Duration::from_millis(LATENCY_BUCKETS_MS[i]);
        i += 1;
    }
    out
};

/// Request counts per latency bin: bin `i` counts requests that took at
/// most [`LATENCY_BUCKETS_MS`]`[i]` ms (and more than the bound before it);
/// the last bin counts slower ones.
///
/// Serialized as the list of the counts of every bin. An empty histogram
/// allocates nothing, so the guard's arms without a latency rule cost
/// nothing to keep.
///
/// ```
/// use std::time::Duration;
/// use flags_middleware::metrics::LatencyHistogram;
///
/// let mut h = LatencyHistogram::default();
/// for ms in [3, 4, 40] {
///     h.record(Duration::from_millis(ms));
/// }
/// assert_eq!(h.count(), 3);
/// assert_eq!(h.quantile(0.5), Some(Duration::from_millis(5)));
/// assert_eq!(h.quantile(1.0), Some(Duration::from_millis(50)));
/// ```
#[derive(Clone, Default)]
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

impl Serialize for LatencyHistogram {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq((0..BINS).map(|b| self.get(b)))
    }
}

impl<'de> Deserialize<'de> for LatencyHistogram {
    /// Counts past the last bin are added to the overflow bin.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let counts = Vec::<u64>::deserialize(d)?;
        Ok(LatencyHistogram::from_counts(counts))
    }
}

impl LatencyHistogram {
    /// The bin `latency` falls in.
    pub(crate) fn bin(latency: Duration) -> usize {
        BOUNDS
            .iter()
            .position(|&bound| latency <= bound)
            .unwrap_or(BINS - 1)
    }

    /// The lower bound of `bin` (zero for the first).
    pub(crate) fn lower(bin: usize) -> Duration {
        match bin.checked_sub(1) {
            Some(prev) => BOUNDS[prev.min(BINS - 2)],
            None => Duration::ZERO,
        }
    }

    /// The upper bound of `bin` (`None` for the overflow bin).
    pub(crate) fn bound(bin: usize) -> Option<Duration> {
        BOUNDS.get(bin).copied()
    }

    /// A histogram with these counts, bin by bin (counts past the last bin
    /// go to the overflow bin).
    pub(crate) fn from_counts(counts: impl IntoIterator<Item = u64>) -> LatencyHistogram {
        let mut out = LatencyHistogram::default();
        for (bin, n) in counts.into_iter().enumerate() {
            out.add_to_bin(bin, n);
        }
        out
    }

    /// Counts one request that took `latency`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::metrics::{LatencyHistogram, LATENCY_BUCKETS_MS};
    ///
    /// let mut h = LatencyHistogram::default();
    /// h.record(Duration::from_millis(7)); // more than 5 ms, at most 10 ms
    /// let bin = LATENCY_BUCKETS_MS.iter().position(|&ms| ms == 10).unwrap();
    /// assert_eq!((h.get(bin), h.count()), (1, 1));
    /// ```
    pub fn record(&mut self, latency: Duration) {
        self.add_to_bin(Self::bin(latency), 1);
    }

    /// Adds `n` requests to `bin` (bins past the last one go to the overflow bin).
    fn add_to_bin(&mut self, bin: usize, n: u64) {
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
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::metrics::{LatencyHistogram, LATENCY_BUCKETS_MS};
    ///
    /// let mut h = LatencyHistogram::default();
    /// h.record(Duration::from_millis(1)); // the first bin: at most 1 ms
    /// h.record(Duration::from_secs(30)); // slower than the last bound, 10 s
    /// assert_eq!(h.get(0), 1);
    /// assert_eq!(h.get(LATENCY_BUCKETS_MS.len()), 1); // the overflow bin
    /// assert_eq!(h.get(99), 0);
    /// ```
    pub fn get(&self, bin: usize) -> u64 {
        self.counts.get(bin).copied().unwrap_or(0)
    }

    /// Requests counted.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::metrics::LatencyHistogram;
    ///
    /// let mut h = LatencyHistogram::default();
    /// assert_eq!(h.count(), 0);
    /// for ms in [1, 40, 900, 60_000] {
    ///     h.record(Duration::from_millis(ms));
    /// }
    /// assert_eq!(h.count(), 4);
    /// ```
    pub fn count(&self) -> u64 {
        saturating_sum(&self.counts)
    }

    /// Requests slower than the upper bound of `bin`.
    pub(crate) fn above(&self, bin: usize) -> u64 {
        saturating_sum(self.counts.get(bin + 1..).unwrap_or(&[]))
    }

    /// The bin holding quantile `q` (0..=1), if anything was counted.
    pub(crate) fn quantile_bin(&self, q: f64) -> Option<usize> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        // The smallest bin whose cumulative count reaches q of the total.
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (bin, &c) in self.counts.iter().enumerate() {
            seen = u64::saturating_add(seen, c);
            if seen >= rank {
                return Some(bin);
            }
        }
        Some(BINS - 1)
    }

    /// Quantile `q` (0..=1), as the upper bound of its bin
    /// (`Duration::MAX` when it is in the overflow bin); `None` when empty.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::metrics::LatencyHistogram;
    ///
    /// let mut h = LatencyHistogram::default();
    /// assert_eq!(h.quantile(0.95), None);
    /// for _ in 0..19 {
    ///     h.record(Duration::from_millis(20));
    /// }
    /// h.record(Duration::from_secs(30));
    /// assert_eq!(h.quantile(0.95), Some(Duration::from_millis(25)));
    /// assert_eq!(h.quantile(1.0), Some(Duration::MAX)); // in the overflow bin
    /// ```
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

    /// Bin-wise `self - earlier`, zero where a bin went down.
    pub(crate) fn saturating_since(&self, earlier: &LatencyHistogram) -> LatencyHistogram {
        LatencyHistogram::from_counts((0..BINS).map(|b| self.get(b).saturating_sub(earlier.get(b))))
    }

    /// Adds `other` bin-wise.
    pub(crate) fn merge(&mut self, other: &LatencyHistogram) {
        for (bin, &n) in other.counts.iter().enumerate() {
            self.add_to_bin(bin, n);
        }
    }
}

/// A sum that stops at `u64::MAX` (counts may come from shared rows).
fn saturating_sum(counts: &[u64]) -> u64 {
    counts.iter().fold(0, |sum, &c| sum.saturating_add(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_follow_bounds() {
        assert_eq!(LatencyHistogram::bin(Duration::from_micros(500)), 0);
        assert_eq!(LatencyHistogram::bin(Duration::from_millis(1)), 0);
        assert_eq!(LatencyHistogram::bin(Duration::from_micros(1001)), 1);
        assert_eq!(LatencyHistogram::bin(Duration::from_nanos(1_000_001)), 1);
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
        let mut a = LatencyHistogram::default();
        a.record(Duration::from_millis(3));
        let mut b = a.clone();
        b.record(Duration::from_millis(3));
        assert_eq!(b.since(&a).unwrap().count(), 1);
        assert!(a.since(&b).is_none());
        assert_eq!(a.saturating_since(&b).count(), 0);
    }

    #[test]
    fn serializes_as_the_count_of_every_bin() {
        let mut h = LatencyHistogram::default();
        assert_eq!(
            serde_json::to_value(&h).unwrap(),
            serde_json::json!(vec![0; BINS])
        );
        h.record(Duration::from_millis(7));
        let json = serde_json::to_value(&h).unwrap();
        assert_eq!(json[3], 1);
        assert_eq!(json.as_array().unwrap().len(), BINS);
        let back: LatencyHistogram = serde_json::from_value(json).unwrap();
        assert_eq!(back, h);
        let long: LatencyHistogram =
            serde_json::from_str(&format!("[{}1,2]", "0,".repeat(BINS - 1))).unwrap();
        assert_eq!(long.get(BINS - 1), 3, "counts past the last bin overflow");
    }

    #[test]
    fn counts_too_large_to_add_saturate() {
        let json = format!(
            "[{}]",
            [u64::MAX / 2; BINS]
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        );
        let h: LatencyHistogram = serde_json::from_str(&json).unwrap();
        assert_eq!(h.count(), u64::MAX);
        assert_eq!(h.above(0), u64::MAX);
        assert!(h.quantile_bin(1.0).is_some());
    }
}
