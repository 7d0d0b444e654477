//! Judging on the whole fleet's traffic: every instance of a service adds
//! its own counts to a table all of them share, and each judges on the sums.
//!
//! Alone, an instance behind a load balancer sees a share of the traffic:
//! with ten instances, the evidence the [test](super::detect::stats) needs
//! takes ten times as long to arrive, and a small fleet may never reach
//! [`min_requests`](super::GuardConfig::min_requests). With a
//! [`SharedCounts`], at every check an instance hands in what it served
//! since its last check (per flag, per arm: requests, errors, latency) and
//! gets back the fleet's buckets for the flag's window.
//!
//! * **Time** comes from the table, not from the instances: the table puts
//!   each share in the bucket of *its own* clock's current time (with
//!   PostgreSQL, the database's `now()`), so instances whose clocks
//!   disagree still fill the same buckets. A share handed in late lands in
//!   the bucket of when it arrived; both arms of it land together, so the
//!   bucket-by-bucket comparison of the arms is not skewed by it.
//! * **Definitions**: each share names the flag's definition it was served
//!   under (a [fingerprint](definition_key) every instance computes alike),
//!   and sums are per definition: after a change, the fleet judges only
//!   traffic served under the new one, and an instance that has not yet
//!   heard of the change adds to the old one's sums.
//! * **Instances that died** stop adding; their buckets age out of the
//!   window like any others.
//! * **When the table is away**, each instance judges on its own traffic
//!   (the guard's window of its own counts is always kept) and logs it once;
//!   it rejoins at the first check that reaches the table again (what it
//!   served meanwhile is not handed in late: it would all land in one
//!   bucket).
//!
//! The PostgreSQL store provides one ([`Guard::for_flags`](super::Guard::for_flags)
//! uses it by itself on flags from [`Flags::from_postgres`](crate::Flags::from_postgres));
//! [`MemoryFleet`] is one in memory, for tests.
//!
//! ```
//! use std::time::Duration;
//! use flags_middleware::guard::fleet::{MemoryFleet, Share, SharedCounts};
//! use flags_middleware::guard::detect::FlagCounts;
//! use flags_middleware::guard::ManualClock;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let table = MemoryFleet::new(ManualClock::new());
//! let (a, b) = (table.instance("web-1"), table.instance("web-2"));
//! let mut share = Share::new("new_checkout_flow", 7, Duration::from_secs(5), Duration::from_secs(300));
//! share.delta.new.requests = 10;
//! a.exchange(&[share.clone()]).await.unwrap();
//! let fleet = b.exchange(&[share]).await.unwrap();
//! assert_eq!(fleet[0][0].counts.new.requests, 20);
//! # });
//! ```

use std::fmt;
use std::time::Duration;

use super::detect::FlagCounts;
use crate::model::Feature;
use crate::store::BoxFuture;

mod memory;
#[cfg(feature = "postgres")]
mod postgres;

pub(crate) use memory::at as bucket_time;
pub use memory::MemoryFleet;
#[cfg(feature = "postgres")]
pub use postgres::PostgresFleet;

/// One flag's part of an exchange: what this instance served since its
/// last exchange, and which window of the fleet's sums it wants back.
///
/// Sums are kept per definition: traffic served under another definition
/// of the flag is not added in.
///
/// ```
/// use std::time::Duration;
/// use flags_middleware::guard::fleet::{MemoryFleet, Share, SharedCounts};
/// use flags_middleware::guard::ManualClock;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let table = MemoryFleet::new(ManualClock::new());
/// let share = |definition, requests| {
///     let mut s = Share::new("f", definition, Duration::from_secs(5), Duration::from_secs(300));
///     s.delta.new.requests = requests;
///     s
/// };
/// table.instance("web-1").exchange(&[share(1, 10)]).await.unwrap();
/// // web-2 already serves the flag's next definition.
/// let fleet = table.instance("web-2").exchange(&[share(2, 4)]).await.unwrap();
/// assert_eq!(fleet[0][0].counts.new.requests, 4);
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Share {
    /// The flag.
    pub flag: String,
    /// The definition the traffic was served under ([`definition_key`]).
    pub definition: u64,
    /// The guard's bucket width for the flag.
    pub bucket: Duration,
    /// The guard's window for the flag.
    pub window: Duration,
    /// The traffic since the last exchange (all zero: nothing to add).
    pub delta: FlagCounts,
}

impl Share {
    /// Nothing to add yet for `flag` under `definition`; buckets of
    /// `bucket`, a window of `window`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::guard::detect::FlagCounts;
    /// use flags_middleware::guard::fleet::{definition_key, Share};
    /// use flags_middleware::Flags;
    ///
    /// let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
    /// let definition = definition_key(&flags.snapshot().feature("f").unwrap());
    /// let share = Share::new("f", definition, Duration::from_secs(5), Duration::from_secs(300));
    /// assert_eq!(share.delta, FlagCounts::default()); // fill in what was served
    /// let zero = Share::new("f", definition, Duration::ZERO, Duration::from_secs(300));
    /// assert_eq!(zero.bucket, Duration::from_millis(1)); // at least 1 ms
    /// ```
    pub fn new(
        flag: impl Into<String>,
        definition: u64,
        bucket: Duration,
        window: Duration,
    ) -> Share {
        Share {
            flag: flag.into(),
            definition,
            bucket: bucket.max(Duration::from_millis(1)),
            window,
            delta: FlagCounts::default(),
        }
    }
}

/// One bucket of the fleet's traffic for one flag: the sums over every
/// instance of `[start, start + bucket)`, by the table's clock.
///
/// ```
/// use std::time::Duration;
/// use flags_middleware::guard::fleet::{MemoryFleet, Share, SharedCounts};
/// use flags_middleware::guard::ManualClock;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let clock = ManualClock::new(); // 2025-01-01T00:00:00Z
/// let table = MemoryFleet::new(clock.clone());
/// let mut share = Share::new("f", 1, Duration::from_secs(5), Duration::from_secs(300));
/// share.delta.new.requests = 10;
/// table.exchange(&[share.clone()]).await.unwrap();
/// clock.advance(Duration::from_secs(7));
/// share.delta.new.requests = 3;
/// let buckets = table.exchange(&[share]).await.unwrap().remove(0);
/// let starts: Vec<u64> = buckets.iter().map(|b| b.start_ms).collect();
/// assert_eq!(starts, [1_735_689_600_000, 1_735_689_605_000]); // oldest first
/// assert_eq!(buckets[1].counts.new.requests, 3);
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FleetBucket {
    /// When the bucket starts, in ms since the Unix epoch.
    pub start_ms: u64,
    /// Both arms' sums.
    pub counts: FlagCounts,
}

/// Why an exchange failed (the guard then judges on its own traffic).
///
/// ```
/// use std::time::Duration;
/// use flags_middleware::guard::fleet::{MemoryFleet, Share, SharedCounts};
/// use flags_middleware::guard::ManualClock;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let table = MemoryFleet::new(ManualClock::new());
/// table.set_reachable(false);
/// let share = Share::new("f", 1, Duration::from_secs(5), Duration::from_secs(300));
/// let error = table.exchange(&[share]).await.unwrap_err();
/// assert_eq!(error.to_string(), "the shared table is unreachable");
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetError(pub String);

impl fmt::Display for FleetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FleetError {}

/// A table of counts every instance of a service shares. One handle per
/// instance (it knows the instance's name).
///
/// A table of your own, here one that is never reachable: the guard then
/// judges on the instance's own traffic.
///
/// ```
/// use flags_middleware::guard::fleet::{FleetBucket, FleetError, Share, SharedCounts};
/// use flags_middleware::guard::{FlagsApplier, Guard, GuardConfig, ManualCounts, Side};
/// use flags_middleware::store::BoxFuture;
/// use flags_middleware::Flags;
///
/// #[derive(Debug)]
/// struct Offline;
///
/// impl SharedCounts for Offline {
///     fn exchange<'a>(
///         &'a self,
///         _: &'a [Share],
///     ) -> BoxFuture<'a, Result<Vec<Vec<FleetBucket>>, FleetError>> {
///         Box::pin(async { Err(FleetError("connection refused".into())) })
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// # let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
/// let counts = ManualCounts::new();
/// let guard = Guard::builder(counts.clone(), FlagsApplier::new(flags))
///     .shared_counts(Offline)
///     .watch("f", GuardConfig::new())
///     .build();
/// guard.check().await;
/// counts.add("f", Side::New, 20, 0);
/// guard.check().await;
/// let f = guard.snapshot().flag("f").unwrap().clone();
/// assert!(!f.fleet); // judged on this instance's traffic
/// assert_eq!(f.window.new.requests, 20);
/// # }
/// ```
pub trait SharedCounts: Send + Sync + fmt::Debug + 'static {
    /// Adds each share's `delta` to the bucket of the table's current time
    /// (for this instance, the flag and the definition), and returns, for
    /// each share in order, the fleet's buckets for that flag and
    /// definition over the share's window, oldest first. One round trip for
    /// all the flags of a check.
    fn exchange<'a>(
        &'a self,
        shares: &'a [Share],
    ) -> BoxFuture<'a, Result<Vec<Vec<FleetBucket>>, FleetError>>;
}

impl<T: SharedCounts + ?Sized> SharedCounts for std::sync::Arc<T> {
    fn exchange<'a>(
        &'a self,
        shares: &'a [Share],
    ) -> BoxFuture<'a, Result<Vec<Vec<FleetBucket>>, FleetError>> {
        (**self).exchange(shares)
    }
}

/// A fingerprint of the part of a flag's definition that decides who is
/// served what (FNV-1a over its JSON), the same on every instance and
/// every build: shares are summed per definition.
///
/// ```
/// use flags_middleware::guard::fleet::definition_key;
/// use flags_middleware::Flags;
///
/// let a = Flags::from_toml_str("[f]\nrollout = 5\n", "x").unwrap();
/// let b = Flags::from_toml_str("[f]\nrollout = 25\n", "x").unwrap();
/// let key = |f: &Flags| definition_key(&f.snapshot().feature("f").unwrap());
/// assert_ne!(key(&a), key(&b));
/// assert_eq!(key(&a), key(&Flags::from_toml_str("[f]\nrollout = 5\n", "y").unwrap()));
/// ```
pub fn definition_key(feature: &Feature) -> u64 {
    let bytes = serde_json::to_vec(&serving(feature)).unwrap_or_default();
    // FNV-1a, 64 bits; kept to 63 so it is a PostgreSQL bigint as it is.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash >> 1
}

/// The part of a definition that decides who is served what: the
/// definition without its guard settings, its plan's bookkeeping (a pause
/// or the time a step began changes no request) and its informational
/// fields.
pub(crate) fn serving(f: &Feature) -> Feature {
    Feature {
        description: None,
        project: None,
        kind: None,
        stale: false,
        guard: None,
        plan: None,
        ..f.clone()
    }
}

#[cfg(test)]
mod tests;
