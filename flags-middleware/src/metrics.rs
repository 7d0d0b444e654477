//! Request counters per flag and arm: requests, 5xx responses, latency.
//!
//! [`FlagsLayer`](crate::FlagsLayer) records one sample per flag a request
//! evaluated, under the arm the request got: the variant's name, or `on` /
//! `off` for a flag without variants. The admin API and the rollout guard
//! read them through [`Flags::metrics`](crate::Flags::metrics).
//!
//! Counters are cumulative and never reset, so a reader that wants "the last
//! five minutes" keeps an earlier [`MetricsSnapshot`] and asks for the
//! difference with [`MetricsSnapshot::since`].
//!
//! ```
//! use flags_middleware::metrics::Metrics;
//! use std::time::Duration;
//!
//! let metrics = Metrics::default();
//! metrics.record("new_checkout_flow", "on", 200, Duration::from_millis(3));
//! let before = metrics.snapshot();
//! metrics.record("new_checkout_flow", "on", 503, Duration::from_millis(40));
//!
//! let window = metrics.snapshot().since(&before);
//! let arm = window.arm("new_checkout_flow", "on").unwrap();
//! assert_eq!((arm.requests, arm.errors), (1, 1));
//! ```
//!
//! Recording is lock-free once a flag and arm have been seen: a table lookup
//! through an [`ArcSwap`] and a few relaxed atomic additions. Memory is
//! bounded: at most [`Metrics::DEFAULT_CAPACITY`] flag/arm pairs are tracked;
//! samples for pairs beyond that are counted in
//! [`MetricsSnapshot::dropped`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwap;
use foldhash::HashMap;
use serde::Serialize;

/// Upper bounds of the latency buckets, in milliseconds; a last bucket
/// (`+Inf`) holds everything slower. Fixed so snapshots from different
/// processes and times can be added and subtracted.
pub const LATENCY_BUCKETS_MS: [u64; 13] =
    [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

const BUCKETS: usize = LATENCY_BUCKETS_MS.len() + 1;

/// Live counters for every flag and arm; cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    /// Copy-on-write: readers never lock; a new pair swaps in a new table.
    table: ArcSwap<Table>,
    write: Mutex<()>,
    capacity: usize,
    dropped: AtomicU64,
}

/// The arms of one flag seen so far, by name (a handful: a linear scan).
type Arms = Vec<(Box<str>, Arc<ArmCounters>)>;

#[derive(Default, Clone)]
struct Table {
    flags: HashMap<Box<str>, Arms>,
    pairs: usize,
}

/// The request count is the sum of the buckets: one atomic addition fewer
/// per flag per request.
#[derive(Default)]
struct ArmCounters {
    errors: AtomicU64,
    latency_sum_us: AtomicU64,
    latency: [AtomicU64; BUCKETS],
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("pairs", &self.inner.table.load().pairs)
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
    pub const DEFAULT_CAPACITY: usize = 4096;

    /// Counters tracking at most `capacity` flag/arm pairs.
    pub fn with_capacity(capacity: usize) -> Metrics {
        Metrics {
            inner: Arc::new(Inner {
                table: ArcSwap::from_pointee(Table::default()),
                write: Mutex::new(()),
                capacity,
                dropped: AtomicU64::new(0),
            }),
        }
    }

    /// Records one request that got `arm` of `flag` and answered `status`
    /// (5xx counts as an error) after `latency`.
    pub fn record(&self, flag: &str, arm: &str, status: u16, latency: Duration) {
        self.record_each([(flag, arm)], status, latency);
    }

    /// Records one request under several flag/arm pairs at once (the
    /// layer's case: every flag the request evaluated).
    pub fn record_each<'a>(
        &self,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
        status: u16,
        latency: Duration,
    ) {
        let sample = Sample::new(status, latency);
        let table = self.inner.table.load();
        for (flag, arm) in pairs {
            // The common case: the pair exists; no lock, no reference counting.
            match Table::find(&table, flag, arm) {
                Some(c) => c.add(&sample),
                None => match self.insert(flag, arm) {
                    Some(c) => c.add(&sample),
                    None => {
                        self.inner.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                },
            }
        }
    }

    /// Adds a pair under the write lock; `None` when the table is full.
    #[cold]
    fn insert(&self, flag: &str, arm: &str) -> Option<Arc<ArmCounters>> {
        let _guard = self
            .inner
            .write
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let current = self.inner.table.load_full();
        // Another writer may have added it while we waited.
        if let Some(c) = Table::find(&current, flag, arm) {
            return Some(Arc::clone(c));
        }
        if current.pairs >= self.inner.capacity {
            return None;
        }
        let mut next = Table::clone(&current);
        let counters = Arc::new(ArmCounters::default());
        next.flags
            .entry(flag.into())
            .or_default()
            .push((arm.into(), Arc::clone(&counters)));
        next.pairs += 1;
        self.inner.table.store(Arc::new(next));
        Some(counters)
    }

    /// A copy of every counter, sorted by flag then arm.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let table = self.inner.table.load_full();
        let mut flags: Vec<FlagStats> = table
            .flags
            .iter()
            .map(|(flag, arms)| {
                let mut arms: Vec<ArmStats> = arms.iter().map(|(arm, c)| c.read(arm)).collect();
                arms.sort_by(|a, b| a.arm.cmp(&b.arm));
                FlagStats {
                    flag: flag.to_string(),
                    arms,
                }
            })
            .collect();
        flags.sort_by(|a, b| a.flag.cmp(&b.flag));
        MetricsSnapshot {
            flags,
            dropped: self.inner.dropped.load(Ordering::Relaxed),
        }
    }
}

impl Table {
    fn find<'t>(&'t self, flag: &str, arm: &str) -> Option<&'t Arc<ArmCounters>> {
        let arms = self.flags.get(flag)?;
        arms.iter().find(|(name, _)| &**name == arm).map(|(_, c)| c)
    }
}

/// One request's outcome, in the form the counters add.
struct Sample {
    error: bool,
    latency_us: u64,
    bucket: usize,
}

impl Sample {
    fn new(status: u16, latency: Duration) -> Sample {
        let latency_us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        let bucket = LATENCY_BUCKETS_MS
            .iter()
            .position(|&le_ms| latency_us <= le_ms.saturating_mul(1000))
            .unwrap_or(BUCKETS - 1);
        Sample {
            error: status >= 500,
            latency_us,
            bucket,
        }
    }
}

impl ArmCounters {
    fn add(&self, s: &Sample) {
        self.latency[s.bucket].fetch_add(1, Ordering::Relaxed);
        self.latency_sum_us
            .fetch_add(s.latency_us, Ordering::Relaxed);
        if s.error {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn read(&self, arm: &str) -> ArmStats {
        let latency_buckets: Vec<u64> = self
            .latency
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        ArmStats {
            arm: arm.to_string(),
            requests: latency_buckets.iter().sum(),
            errors: self.errors.load(Ordering::Relaxed),
            latency_sum_us: self.latency_sum_us.load(Ordering::Relaxed),
            latency_buckets,
        }
    }
}

/// Every counter at one moment; see [`Metrics::snapshot`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MetricsSnapshot {
    /// One entry per flag, sorted by name.
    pub flags: Vec<FlagStats>,
    /// Samples not recorded because the table was full.
    pub dropped: u64,
}

/// The counters of one flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlagStats {
    /// The flag's name.
    pub flag: String,
    /// One entry per arm seen, sorted by name.
    pub arms: Vec<ArmStats>,
}

/// The counters of one arm of one flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArmStats {
    /// The variant's name, or `on` / `off`.
    pub arm: String,
    /// Requests that got this arm.
    pub requests: u64,
    /// Those of them answered with a 5xx status (a caught panic included).
    pub errors: u64,
    /// Total latency, in microseconds (to the response head).
    pub latency_sum_us: u64,
    /// Counts per latency bucket: `latency_buckets[i]` counts requests that
    /// took at most [`LATENCY_BUCKETS_MS`]`[i]` ms (and more than the bound
    /// before it); the last entry counts slower ones.
    pub latency_buckets: Vec<u64>,
}

impl ArmStats {
    /// The share of requests answered with a 5xx status (0 when none).
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
    pub fn latency_quantile_ms(&self, q: f64) -> Option<u64> {
        if self.requests == 0 {
            return None;
        }
        let wanted = (q.clamp(0.0, 1.0) * self.requests as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, count) in self.latency_buckets.iter().enumerate() {
            seen += count;
            if seen >= wanted {
                return LATENCY_BUCKETS_MS.get(i).copied();
            }
        }
        None
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
            latency_buckets: self
                .latency_buckets
                .iter()
                .enumerate()
                .map(|(i, n)| n.saturating_sub(e.latency_buckets.get(i).copied().unwrap_or(0)))
                .collect(),
        }
    }
}

impl MetricsSnapshot {
    /// The counters of `arm` of `flag`, if any request got it.
    pub fn arm(&self, flag: &str, arm: &str) -> Option<&ArmStats> {
        self.flag(flag)?.arms.iter().find(|a| a.arm == arm)
    }

    /// The counters of `flag`, if any request evaluated it.
    pub fn flag(&self, flag: &str) -> Option<&FlagStats> {
        self.flags.iter().find(|f| f.flag == flag)
    }

    /// What happened between `earlier` and `self` (both from the same
    /// [`Metrics`]): every counter minus its earlier value.
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
    use super::*;

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
        assert_eq!(on.latency_buckets[0], 1, "0.5 ms is in the <=1 ms bucket");
        assert_eq!(on.latency_buckets[3], 1, "7 ms is in the <=10 ms bucket");
        let off = s.arm("f", "off").unwrap();
        assert_eq!((off.requests, off.errors), (1, 0), "4xx is not an error");
        assert_eq!(
            off.latency_buckets[0], 1,
            "exactly 1 ms is in the <=1 ms bucket"
        );
        assert_eq!(
            *s.arm("g", "blue").unwrap().latency_buckets.last().unwrap(),
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
