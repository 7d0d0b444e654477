//! The live counters: a table of flag/arm pairs, each a few atomics. The
//! layer adds to them through per-thread handles, without a lock; the table
//! is locked only to look a pair up by name, to add one, or to list them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};
use std::time::Duration;

use foldhash::HashMap;

use super::histogram::{LatencyHistogram, BINS};
use super::snapshot::{ArmStats, FlagStats, MetricsSnapshot};
use crate::shards::{add_shared, Local, Shard, Shards};

/// Live counters for every flag and arm; cheap to clone (one `Arc`).
///
/// ```
/// use std::time::Duration;
/// use flags_middleware::Flags;
///
/// let flags = Flags::from_toml_str("[new_checkout_flow]\nrollout = 50\n", "flags.toml").unwrap();
/// // The layer records each request; work outside it (a queue consumer) records its own.
/// let metrics = flags.metrics().clone();
/// metrics.record("new_checkout_flow", "on", 200, Duration::from_millis(12));
/// metrics.record("new_checkout_flow", "on", 503, Duration::from_millis(80));
/// metrics.record("new_checkout_flow", "off", 200, Duration::from_millis(9));
///
/// let counters = flags.metrics().snapshot(); // the same counters: a clone shares them
/// let on = counters.arm("new_checkout_flow", "on").unwrap();
/// assert_eq!((on.requests, on.errors, on.latency_sum_us), (2, 1, 92_000));
/// assert_eq!(counters.arm("new_checkout_flow", "off").unwrap().requests, 1);
/// ```
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    /// Read when a pair is looked up by name (the layer does so once per
    /// pair and thread, then keeps the handle) and when summed; written in
    /// place for a new pair, so a new pair costs the same at any size.
    table: RwLock<Table>,
    capacity: usize,
    dropped: AtomicU64,
}

/// The arms of one flag seen so far, by name (a handful: a linear scan).
type Arms = Vec<(Box<str>, Arc<ArmCounters>)>;

#[derive(Default)]
struct Table {
    flags: HashMap<Box<str>, Arms>,
    pairs: usize,
}

/// One flag/arm pair's counters, a copy per thread that settles requests
/// (see [`Shards`]).
type ArmCounters = Shards<ArmCounts>;

/// The request count is the sum of the buckets: one addition fewer per
/// flag per request.
#[derive(Default)]
struct ArmCounts {
    errors: AtomicU64,
    latency_sum_us: AtomicU64,
    latency: [AtomicU64; BINS],
}

impl Shard for ArmCounts {
    fn zip(&self, other: &Self, f: &mut dyn FnMut(&AtomicU64, &AtomicU64)) {
        f(&self.errors, &other.errors);
        f(&self.latency_sum_us, &other.latency_sum_us);
        for (a, b) in self.latency.iter().zip(&other.latency) {
            f(a, b);
        }
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("pairs", &self.inner.read().pairs)
            .field("capacity", &self.inner.capacity)
            .finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::with_capacity(Metrics::DEFAULT_CAPACITY)
    }
}

impl Metrics {
    /// How many flag/arm pairs are tracked by default.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::metrics::Metrics;
    ///
    /// let metrics = Metrics::default();
    /// for i in 0..=Metrics::DEFAULT_CAPACITY {
    ///     metrics.record(&format!("flag_{i}"), "on", 200, Duration::ZERO);
    /// }
    /// let snapshot = metrics.snapshot();
    /// assert_eq!(snapshot.flags.len(), Metrics::DEFAULT_CAPACITY);
    /// assert_eq!(snapshot.dropped, 1); // the pair past the capacity
    /// ```
    pub const DEFAULT_CAPACITY: usize = 4096;

    /// Counters tracking at most `capacity` flag/arm pairs.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::metrics::Metrics;
    ///
    /// let metrics = Metrics::with_capacity(2);
    /// for (flag, arm) in [("a", "on"), ("a", "off"), ("b", "on")] {
    ///     metrics.record(flag, arm, 200, Duration::ZERO);
    /// }
    /// let snapshot = metrics.snapshot();
    /// assert!(snapshot.flag("b").is_none()); // no room left for a third pair
    /// assert_eq!(snapshot.dropped, 1);
    /// ```
    pub fn with_capacity(capacity: usize) -> Metrics {
        Metrics {
            inner: Arc::new(Inner {
                table: RwLock::default(),
                capacity,
                dropped: AtomicU64::new(0),
            }),
        }
    }

    /// Records one request that got `arm` of `flag` and answered `status`
    /// (5xx, and 499 for a request dropped before it answered, count as
    /// errors) after `latency`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::metrics::Metrics;
    ///
    /// let metrics = Metrics::default();
    /// metrics.record("f", "on", 500, Duration::from_millis(20));
    /// metrics.record("f", "on", 404, Duration::from_millis(10)); // the caller's mistake
    /// metrics.record("f", "on", 499, Duration::from_millis(5)); // dropped before it answered
    /// let snapshot = metrics.snapshot();
    /// let on = snapshot.arm("f", "on").unwrap();
    /// assert_eq!((on.requests, on.errors, on.latency_sum_us), (3, 2, 35_000));
    /// ```
    pub fn record(&self, flag: &str, arm: &str, status: u16, latency: Duration) {
        self.record_each([(flag, arm)], status, latency);
    }

    /// Records one request under several flag/arm pairs at once (the
    /// layer's case: every flag the request evaluated).
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::metrics::Metrics;
    ///
    /// let metrics = Metrics::default();
    /// // One failed request that asked for two flags.
    /// metrics.record_each([("new_checkout_flow", "on"), ("button_color", "blue")], 503, Duration::from_millis(4));
    /// let snapshot = metrics.snapshot();
    /// assert_eq!(snapshot.arm("new_checkout_flow", "on").unwrap().errors, 1);
    /// assert_eq!(snapshot.arm("button_color", "blue").unwrap().errors, 1);
    /// ```
    pub fn record_each<'a>(
        &self,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
        status: u16,
        latency: Duration,
    ) {
        let sample = Sample::new(status, latency);
        for (flag, arm) in pairs {
            match self.counters(flag, arm) {
                Some(c) => add_to_shared(&c, &sample),
                None => self.count_dropped(),
            }
        }
    }

    /// The counters of one flag/arm pair, made if new; `None` when the
    /// table is full. Only a new pair takes the lock alone: a known one, or
    /// one there is no room for, is answered under the shared lock.
    fn counters(&self, flag: &str, arm: &str) -> Option<Arc<ArmCounters>> {
        {
            let table = self.inner.read();
            if let Some(c) = Table::find(&table, flag, arm) {
                return Some(Arc::clone(c));
            }
            if table.pairs >= self.inner.capacity {
                return None;
            }
        }
        self.insert(flag, arm)
    }

    /// Adds a pair under the write lock; `None` when the table is full.
    #[cold]
    fn insert(&self, flag: &str, arm: &str) -> Option<Arc<ArmCounters>> {
        let mut table = self
            .inner
            .table
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        // Another writer may have added it while we waited.
        if let Some(c) = Table::find(&table, flag, arm) {
            return Some(Arc::clone(c));
        }
        if table.pairs >= self.inner.capacity {
            return None;
        }
        let counters = Arc::new(ArmCounters::default());
        table
            .flags
            .entry(flag.into())
            .or_default()
            .push((arm.into(), Arc::clone(&counters)));
        table.pairs += 1;
        Some(counters)
    }

    /// The counters of one flag/arm pair, made if new; `None` when the
    /// table is full. For the layer, which caches the handle per snapshot
    /// so that a request settles without looking names up.
    pub(crate) fn arm_handle(&self, flag: &str, arm: &str) -> Option<ArmHandle> {
        self.counters(flag, arm).map(|c| ArmHandle(c.local()))
    }

    /// Counts a sample for a pair the full table has no room for.
    pub(crate) fn count_dropped(&self) {
        self.inner.dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether `other` is a handle on the same counters.
    pub(crate) fn same(&self, other: &Metrics) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// A copy of every counter, sorted by flag then arm.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::metrics::Metrics;
    ///
    /// let metrics = Metrics::default();
    /// for (flag, arm) in [("b", "on"), ("a", "on"), ("a", "off")] {
    ///     metrics.record(flag, arm, 200, Duration::ZERO);
    /// }
    /// let snapshot = metrics.snapshot();
    /// let pairs: Vec<(&str, &str)> = snapshot.flags.iter()
    ///     .flat_map(|f| f.arms.iter().map(move |a| (f.flag.as_str(), a.arm.as_str())))
    ///     .collect();
    /// assert_eq!(pairs, [("a", "off"), ("a", "on"), ("b", "on")]);
    /// metrics.record("b", "on", 200, Duration::ZERO);
    /// assert_eq!(snapshot.arm("b", "on").unwrap().requests, 1); // a copy: later requests are not in it
    /// ```
    pub fn snapshot(&self) -> MetricsSnapshot {
        // The pairs are listed under the lock and summed after it, so a
        // scrape or a guard check does not hold up a new pair.
        type Listed = Vec<(String, Arc<ArmCounters>)>;
        let listed: Vec<(String, Listed)> = self
            .inner
            .read()
            .flags
            .iter()
            .map(|(flag, arms)| {
                let arms = arms.iter().map(|(arm, c)| (arm.to_string(), Arc::clone(c)));
                (flag.to_string(), arms.collect())
            })
            .collect();
        let mut flags: Vec<FlagStats> = listed
            .into_iter()
            .map(|(flag, arms)| {
                let mut arms: Vec<ArmStats> =
                    arms.into_iter().map(|(arm, c)| read(&c, arm)).collect();
                arms.sort_by(|a, b| a.arm.cmp(&b.arm));
                FlagStats { flag, arms }
            })
            .collect();
        flags.sort_by(|a, b| a.flag.cmp(&b.flag));
        MetricsSnapshot {
            flags,
            dropped: self.inner.dropped.load(Ordering::Relaxed),
        }
    }
}

impl Inner {
    fn read(&self) -> RwLockReadGuard<'_, Table> {
        self.table.read().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Table {
    fn find<'t>(&'t self, flag: &str, arm: &str) -> Option<&'t Arc<ArmCounters>> {
        let arms = self.flags.get(flag)?;
        arms.iter().find(|(name, _)| &**name == arm).map(|(_, c)| c)
    }
}

/// This thread's counters of one flag/arm pair (see
/// [`Metrics::arm_handle`]); `!Send`, kept in a thread-local cache.
pub(crate) struct ArmHandle(Local<ArmCounts>);

impl ArmHandle {
    /// Records one request.
    pub(crate) fn add(&self, sample: &Sample) {
        let local = &self.0;
        sample.add_to(local.get(), |counter, n| local.add(counter, n));
    }
}

/// One request's outcome, in the form the counters add.
pub(crate) struct Sample {
    error: bool,
    latency_us: u64,
    bucket: usize,
}

/// The status a request dropped before it answered (the client went away,
/// or a timeout layer outside the flags layer gave up) is counted and
/// logged with: 499, as nginx logs a request its client closed.
pub(crate) const CANCELLED: u16 = 499;

/// Whether a request that ended with `status` counts as failed: a 5xx, or
/// dropped before it answered.
pub(crate) fn is_error(status: u16) -> bool {
    status >= 500 || status == CANCELLED
}

impl Sample {
    pub(crate) fn new(status: u16, latency: Duration) -> Sample {
        Sample {
            error: is_error(status),
            latency_us: u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
            bucket: LatencyHistogram::bin(latency),
        }
    }
}

impl Sample {
    /// Adds this request to `counts`, each counter with `add`.
    fn add_to(&self, counts: &ArmCounts, add: impl Fn(&AtomicU64, u64)) {
        add(&counts.latency[self.bucket], 1);
        add(&counts.latency_sum_us, self.latency_us);
        if self.error {
            add(&counts.errors, 1);
        }
    }
}

/// Records one request in the shared copy (any thread, atomically).
fn add_to_shared(counters: &ArmCounters, s: &Sample) {
    s.add_to(counters.shared(), add_shared);
}

/// The pair's statistics, every thread's copy summed.
fn read(counters: &ArmCounters, arm: String) -> ArmStats {
    let counts = counters.sum();
    let latency =
        LatencyHistogram::from_counts(counts.latency.iter().map(|b| b.load(Ordering::Relaxed)));
    ArmStats {
        arm,
        requests: latency.count(),
        errors: counts.errors.load(Ordering::Relaxed),
        latency_sum_us: counts.latency_sum_us.load(Ordering::Relaxed),
        latency,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::LATENCY_BUCKETS_MS;

    #[test]
    fn counts_requests_errors_and_buckets_per_arm() {
        let m = Metrics::default();
        m.record("f", "on", 200, Duration::from_micros(500));
        m.record("f", "on", 500, Duration::from_millis(7));
        m.record("f", "off", 404, Duration::from_millis(1));
        m.record("g", "blue", 200, Duration::from_secs(30));
        let s = m.snapshot();
        let on = s.arm("f", "on").unwrap();
        assert_eq!((on.requests, on.errors, on.latency_sum_us), (2, 1, 7500));
        assert_eq!(on.latency.get(0), 1, "0.5 ms is in the <=1 ms bucket");
        assert_eq!(on.latency.get(3), 1, "7 ms is in the <=10 ms bucket");
        let off = s.arm("f", "off").unwrap();
        assert_eq!((off.requests, off.errors), (1, 0), "4xx is not an error");
        assert_eq!(
            off.latency.get(0),
            1,
            "exactly 1 ms is in the <=1 ms bucket"
        );
        assert_eq!(
            s.arm("g", "blue")
                .unwrap()
                .latency
                .get(LATENCY_BUCKETS_MS.len()),
            1
        );
        assert_eq!(
            s.flags.iter().map(|f| f.flag.as_str()).collect::<Vec<_>>(),
            ["f", "g"]
        );
        assert_eq!(on.error_rate(), 0.5);
        assert_eq!(on.latency_quantile_ms(0.5), Some(1));
        assert_eq!(on.latency_quantile_ms(1.0), Some(10));
    }

    #[test]
    fn memory_is_bounded() {
        let m = Metrics::with_capacity(2);
        m.record("a", "on", 200, Duration::ZERO);
        m.record("b", "on", 200, Duration::ZERO);
        m.record("c", "on", 200, Duration::ZERO);
        m.record("a", "on", 200, Duration::ZERO);
        let s = m.snapshot();
        assert_eq!(s.dropped, 1);
        assert!(s.flag("c").is_none());
        assert_eq!(s.arm("a", "on").unwrap().requests, 2);
    }

    #[test]
    fn concurrent_recording_loses_nothing() {
        let m = Metrics::default();
        std::thread::scope(|scope| {
            for t in 0..4 {
                let m = m.clone();
                scope.spawn(move || {
                    for i in 0..1000 {
                        let arm = if (i + t) % 2 == 0 { "on" } else { "off" };
                        m.record("f", arm, 200, Duration::ZERO);
                    }
                });
            }
        });
        let s = m.snapshot();
        let total: u64 = s.flag("f").unwrap().arms.iter().map(|a| a.requests).sum();
        assert_eq!(total, 4000);
    }
}
