//! Injectable time, so that a plan step of two days runs in a test in
//! microseconds.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where the guard reads the time.
///
/// Wall-clock time rather than a monotonic instant: plan steps last days and
/// their start times are shown (and, with a store, kept) across restarts.
///
/// A clock of your own, here one stopped at a fixed time:
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use flags_middleware::guard::clock::Clock;
/// use flags_middleware::guard::{FlagsApplier, Guard, ManualCounts};
/// use flags_middleware::Flags;
///
/// #[derive(Debug)]
/// struct Frozen(SystemTime);
///
/// impl Clock for Frozen {
///     fn now(&self) -> SystemTime {
///         self.0
///     }
/// }
///
/// let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
/// let guard = Guard::builder(ManualCounts::new(), FlagsApplier::new(flags))
///     .clock(Frozen(UNIX_EPOCH + Duration::from_secs(1_700_000_000)))
///     .build();
/// assert_eq!(guard.snapshot().at_ms, 1_700_000_000_000);
/// ```
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The operating system's clock, the one a guard reads unless
/// [`GuardBuilder::clock`](crate::guard::GuardBuilder::clock) says otherwise.
///
/// ```
/// use std::time::{SystemTime, UNIX_EPOCH};
/// use flags_middleware::guard::clock::SystemClock;
/// use flags_middleware::guard::{Guard, GuardConfig};
/// use flags_middleware::Flags;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let unix_ms = || SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
/// let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
/// let guard = Guard::for_flags(&flags).clock(SystemClock).watch("f", GuardConfig::new()).build();
/// let before = unix_ms();
/// guard.check().await;
/// let at = guard.snapshot().at_ms; // when the check ran, by the system's clock
/// assert!(before <= at && at <= unix_ms());
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that moves only when told to; clones share the same time.
///
/// ```
/// use std::time::Duration;
/// use flags_middleware::guard::clock::{Clock, ManualClock};
///
/// let clock = ManualClock::new();
/// let start = clock.now();
/// clock.advance(Duration::from_secs(2 * 86_400));
/// assert_eq!(clock.now().duration_since(start).unwrap(), Duration::from_secs(2 * 86_400));
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    /// Microseconds since the Unix epoch.
    micros: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock stopped at 2025-01-01T00:00:00Z (a fixed start keeps test
    /// output reproducible).
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use flags_middleware::guard::clock::{Clock, ManualClock};
    ///
    /// let clock = ManualClock::new();
    /// let start = clock.now();
    /// assert!(start > UNIX_EPOCH);
    /// assert_eq!(clock.now(), start, "stopped until advanced");
    /// clock.advance(Duration::from_secs(5));
    /// assert_eq!(clock.now(), start + Duration::from_secs(5));
    /// ```
    pub fn new() -> ManualClock {
        ManualClock::at(UNIX_EPOCH + Duration::from_secs(1_735_689_600))
    }

    /// A clock stopped at `at` (clamped to the Unix epoch).
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use flags_middleware::guard::clock::{Clock, ManualClock};
    ///
    /// let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    /// assert_eq!(ManualClock::at(start).now(), start);
    /// let before_1970 = UNIX_EPOCH - Duration::from_secs(60);
    /// assert_eq!(ManualClock::at(before_1970).now(), UNIX_EPOCH);
    /// ```
    pub fn at(at: SystemTime) -> ManualClock {
        let micros = at
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_micros();
        ManualClock {
            micros: Arc::new(AtomicU64::new(u64::try_from(micros).unwrap_or(u64::MAX))),
        }
    }

    /// Moves the clock forward by `by`.
    ///
    /// A guard on this clock takes a plan's next step as soon as the
    /// step's time has been advanced past (and its traffic was healthy):
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::guard::{FlagsApplier, Guard, GuardConfig, ManualClock, ManualCounts, Plan, Side};
    /// use flags_middleware::Flags;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let flags = Flags::from_toml_str("[f]\nrollout = 0\n", "flags.toml").unwrap();
    /// let (counts, clock) = (ManualCounts::new(), ManualClock::new());
    /// let guard = Guard::builder(counts.clone(), FlagsApplier::new(flags))
    ///     .clock(clock.clone())
    ///     .plan("f", GuardConfig::new(), Plan::gradual()) // 5% for a day, then 25%
    ///     .build();
    /// guard.check().await;
    /// counts.add("f", Side::New, 500, 0);
    /// counts.add("f", Side::Old, 9_500, 0);
    /// clock.advance(Duration::from_secs(24 * 3600));
    /// let events = guard.check().await;
    /// assert_eq!(events[0].message, "plan: 5% -> 25% (step 2 of 4), previous step healthy");
    /// # }
    /// ```
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_micros()).unwrap_or(u64::MAX);
        self.micros.fetch_add(by, Ordering::SeqCst);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_micros(self.micros.load(Ordering::SeqCst))
    }
}

/// Milliseconds since the Unix epoch, for snapshots and events.
pub(crate) fn unix_millis(at: SystemTime) -> u64 {
    u64::try_from(
        at.duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis(),
    )
    .unwrap_or(u64::MAX)
}

/// `b - a`, or zero when the clock went backwards.
pub(crate) fn elapsed(a: SystemTime, b: SystemTime) -> Duration {
    b.duration_since(a).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_time() {
        let a = ManualClock::new();
        let b = a.clone();
        let t0 = b.now();
        a.advance(Duration::from_millis(1500));
        assert_eq!(elapsed(t0, b.now()), Duration::from_millis(1500));
    }

    #[test]
    fn elapsed_is_zero_when_time_goes_back() {
        let c = ManualClock::new();
        let later = c.now() + Duration::from_secs(5);
        assert_eq!(elapsed(later, c.now()), Duration::ZERO);
    }

    #[test]
    fn unix_millis_of_fixed_start() {
        assert_eq!(unix_millis(ManualClock::new().now()), 1_735_689_600_000);
    }
}
