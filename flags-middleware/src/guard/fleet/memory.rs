//! [`MemoryFleet`]: the shared table in memory, with its own clock, for
//! tests of instances judging together (skewed clocks, dead instances,
//! late shares) without a database.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, UNIX_EPOCH};

use super::{FleetBucket, FleetError, Share, SharedCounts};
use crate::guard::clock::{unix_millis, Clock};
use crate::guard::detect::FlagCounts;
use crate::store::BoxFuture;

/// A row of the table: one instance's traffic for one flag, definition
/// and bucket.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Key {
    pub(crate) flag: String,
    pub(crate) definition: u64,
    pub(crate) start_ms: u64,
    pub(crate) instance: String,
}

type Table = BTreeMap<Key, FlagCounts>;

/// The shared table in memory: handles for several instances
/// ([`instance`](Self::instance)) share its rows and its clock, the
/// table's own (as a database's `now()` is), whatever the instances'
/// clocks say. Definitions are told apart by their
/// [fingerprint](super::definition_key) only (the database also by the
/// flag row's version).
///
/// ```
/// use std::time::Duration;
/// use flags_middleware::guard::fleet::{MemoryFleet, Share, SharedCounts};
/// use flags_middleware::guard::ManualClock;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let clock = ManualClock::new();
/// let table = MemoryFleet::new(clock.clone());
/// let web1 = table.instance("web-1");
/// let mut share = Share::new("f", 1, Duration::from_secs(5), Duration::from_secs(60));
/// share.delta.new.requests = 3;
/// web1.exchange(&[share.clone()]).await.unwrap();
/// clock.advance(Duration::from_secs(65));
/// share.delta.new.requests = 0;
/// // Aged out of the window.
/// assert!(web1.exchange(&[share]).await.unwrap()[0].is_empty());
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct MemoryFleet {
    rows: Arc<Mutex<Table>>,
    clock: Arc<dyn Clock>,
    reachable: Arc<AtomicBool>,
    instance: String,
}

impl MemoryFleet {
    /// An empty table keeping time by `clock`.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use flags_middleware::guard::fleet::{MemoryFleet, Share, SharedCounts};
    /// use flags_middleware::guard::ManualClock;
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let table = MemoryFleet::new(ManualClock::at(UNIX_EPOCH + Duration::from_secs(1_000)));
    /// assert_eq!(table.rows(), 0);
    /// let mut share = Share::new("f", 1, Duration::from_secs(5), Duration::from_secs(300));
    /// share.delta.old.requests = 8;
    /// let fleet = table.exchange(&[share]).await.unwrap();
    /// assert_eq!(fleet[0][0].start_ms, 1_000_000); // the bucket of the table's time
    /// # });
    /// ```
    pub fn new(clock: impl Clock) -> MemoryFleet {
        MemoryFleet {
            rows: Arc::default(),
            clock: Arc::new(clock),
            reachable: Arc::new(AtomicBool::new(true)),
            instance: "instance".into(),
        }
    }

    /// A handle on the same table for the instance named `name`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::guard::fleet::{MemoryFleet, Share, SharedCounts};
    /// use flags_middleware::guard::ManualClock;
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let table = MemoryFleet::new(ManualClock::new());
    /// let mut share = Share::new("f", 1, Duration::from_secs(5), Duration::from_secs(300));
    /// share.delta.new.requests = 5;
    /// table.instance("web-1").exchange(&[share.clone()]).await.unwrap();
    /// let fleet = table.instance("web-2").exchange(&[share]).await.unwrap();
    /// assert_eq!(table.rows(), 2); // one row per instance
    /// assert_eq!(fleet[0][0].counts.new.requests, 10);
    /// # });
    /// ```
    pub fn instance(&self, name: impl Into<String>) -> MemoryFleet {
        MemoryFleet {
            instance: name.into(),
            ..self.clone()
        }
    }

    /// Makes the table unreachable (every exchange fails) or reachable
    /// again, for every handle.
    ///
    /// A guard judges on its own traffic while the table is away:
    ///
    /// ```
    /// use flags_middleware::guard::fleet::MemoryFleet;
    /// use flags_middleware::guard::{FlagsApplier, Guard, GuardConfig, ManualClock, ManualCounts};
    /// use flags_middleware::Flags;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
    /// let (clock, table) = (ManualClock::new(), MemoryFleet::new(ManualClock::new()));
    /// let guard = Guard::builder(ManualCounts::new(), FlagsApplier::new(flags))
    ///     .clock(clock)
    ///     .shared_counts(table.instance("web-1"))
    ///     .watch("f", GuardConfig::new())
    ///     .build();
    /// let on_the_fleet = |g: &Guard| g.snapshot().flag("f").unwrap().fleet;
    /// table.set_reachable(false);
    /// guard.check().await;
    /// assert!(!on_the_fleet(&guard));
    /// table.set_reachable(true);
    /// guard.check().await;
    /// assert!(on_the_fleet(&guard));
    /// # }
    /// ```
    pub fn set_reachable(&self, reachable: bool) {
        self.reachable.store(reachable, Ordering::SeqCst);
    }

    /// How many rows the table holds (old ones are pruned at each exchange).
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::guard::fleet::{MemoryFleet, Share, SharedCounts};
    /// use flags_middleware::guard::ManualClock;
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let clock = ManualClock::new();
    /// let table = MemoryFleet::new(clock.clone());
    /// let mut share = Share::new("f", 1, Duration::from_secs(5), Duration::from_secs(300));
    /// share.delta.new.requests = 1;
    /// table.exchange(&[share.clone()]).await.unwrap();
    /// assert_eq!(table.rows(), 1);
    /// clock.advance(Duration::from_secs(3600)); // far past the window
    /// share.delta.new.requests = 0; // nothing to add
    /// table.exchange(&[share]).await.unwrap();
    /// assert_eq!(table.rows(), 0);
    /// # });
    /// ```
    pub fn rows(&self) -> usize {
        self.rows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl SharedCounts for MemoryFleet {
    fn exchange<'a>(
        &'a self,
        shares: &'a [Share],
    ) -> BoxFuture<'a, Result<Vec<Vec<FleetBucket>>, FleetError>> {
        Box::pin(async move {
            if !self.reachable.load(Ordering::SeqCst) {
                return Err(FleetError("the shared table is unreachable".into()));
            }
            let now_ms = unix_millis(self.clock.now());
            let mut rows = self.rows.lock().unwrap_or_else(PoisonError::into_inner);
            for share in shares.iter().filter(|s| has_traffic(&s.delta)) {
                let key = Key {
                    flag: share.flag.clone(),
                    definition: share.definition,
                    start_ms: bucket_start(now_ms, share.bucket),
                    instance: self.instance.clone(),
                };
                let row = rows.entry(key).or_default();
                row.new.merge(&share.delta.new);
                row.old.merge(&share.delta.old);
            }
            let longest = shares.iter().map(|s| s.window + s.bucket).max();
            if let Some(keep) = longest {
                let horizon = now_ms.saturating_sub(millis(keep).saturating_mul(2));
                rows.retain(|k, _| k.start_ms >= horizon);
            }
            Ok(shares
                .iter()
                .map(|s| sum_window(&rows, now_ms, s))
                .collect())
        })
    }
}

/// Whether a share has anything to add.
pub(crate) fn has_traffic(c: &FlagCounts) -> bool {
    c.new.requests > 0 || c.old.requests > 0 || c.new.errors > 0 || c.old.errors > 0
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The start of the bucket of `bucket` width holding `now_ms` (aligned on
/// multiples of the width since the Unix epoch, as the guard's own window).
pub(crate) fn bucket_start(now_ms: u64, bucket: Duration) -> u64 {
    let width = millis(bucket).max(1);
    now_ms - now_ms % width
}

/// The fleet's buckets for `share`'s flag and definition over its window
/// at `now_ms`, summed over the instances, oldest first: a bucket counts
/// while it ends after `now - window`, as in the guard's own window.
pub(crate) fn sum_window(rows: &Table, now_ms: u64, share: &Share) -> Vec<FleetBucket> {
    let width = millis(share.bucket).max(1);
    let horizon = now_ms.saturating_sub(millis(share.window));
    let mut sums: BTreeMap<u64, FlagCounts> = BTreeMap::new();
    for (k, counts) in rows {
        if k.flag == share.flag
            && k.definition == share.definition
            && k.start_ms.saturating_add(width) > horizon
            && k.start_ms <= now_ms
        {
            let sum = sums.entry(k.start_ms).or_default();
            sum.new.merge(&counts.new);
            sum.old.merge(&counts.old);
        }
    }
    sums.into_iter()
        .map(|(start_ms, counts)| FleetBucket { start_ms, counts })
        .collect()
}

/// `start_ms` as a time.
pub(crate) fn at(start_ms: u64) -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_millis(start_ms)
}
