//! The sliding window: recent traffic of one flag, per arm, in fixed-width
//! time buckets.
//!
//! The guard reads monotonic totals; the window keeps the last totals it saw
//! and adds the difference to the bucket of the current time. Buckets older
//! than the window's span fall off. Keeping buckets (rather than one running
//! sum) lets the test compare the arms bucket by bucket, so a change in
//! traffic share or in the base error rate over the window cannot be mistaken
//! for a difference between the arms (see [`stats`](super::stats)).

use std::collections::VecDeque;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::counts::FlagCounts;

/// One bucket of the window: the traffic of both arms in
/// `[start, start + width)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bucket {
    pub(crate) start: SystemTime,
    pub(crate) counts: FlagCounts,
}

/// Recent traffic of one flag.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    span: Duration,
    width: Duration,
    keep_latency: bool,
    /// Oldest first.
    buckets: VecDeque<Bucket>,
    /// The totals seen at the last read; `None` before the first read.
    last: Option<FlagCounts>,
}

impl Window {
    /// A window of `span` in buckets of `width` (at least 1 ms each).
    pub(crate) fn new(span: Duration, width: Duration, keep_latency: bool) -> Window {
        let width = width.max(Duration::from_millis(1));
        Window {
            span: span.max(width),
            width,
            keep_latency,
            buckets: VecDeque::new(),
            last: None,
        }
    }

    /// A window of `span` in buckets of `width` holding `buckets` (oldest
    /// first): the fleet's sums, as a shared table returned them.
    pub(crate) fn from_buckets(
        span: Duration,
        width: Duration,
        keep_latency: bool,
        buckets: impl IntoIterator<Item = Bucket>,
    ) -> Window {
        let mut w = Window::new(span, width, keep_latency);
        for mut b in buckets {
            if !keep_latency {
                b.counts.new.latency = Default::default();
                b.counts.old.latency = Default::default();
            }
            w.buckets.push_back(b);
        }
        w
    }

    /// Takes in the totals read at `now`.
    ///
    /// The first read only sets the baseline. When a total went down (the
    /// counters were reset, e.g. the process's metrics were rebuilt) the read
    /// also only sets a new baseline: the window cannot know what happened in
    /// between. Returns the new arm's requests since the last read.
    pub(crate) fn observe(&mut self, now: SystemTime, totals: FlagCounts) -> u64 {
        let delta = match &self.last {
            Some(last) => match (totals.new.since(&last.new), totals.old.since(&last.old)) {
                (Some(new), Some(old)) => Some(FlagCounts { new, old }),
                _ => None,
            },
            None => None,
        };
        self.last = Some(totals);
        self.evict(now);
        let Some(mut delta) = delta else { return 0 };
        let new_requests = delta.new.requests;
        if !self.keep_latency {
            delta.new.latency = Default::default();
            delta.old.latency = Default::default();
        }
        let start = self.bucket_start(now);
        match self.buckets.back_mut() {
            Some(b) if b.start == start => {
                b.counts.new.merge(&delta.new);
                b.counts.old.merge(&delta.old);
            }
            _ => self.buckets.push_back(Bucket {
                start,
                counts: delta,
            }),
        }
        new_requests
    }

    /// Forgets the traffic seen so far (after a kill, so that the guard
    /// judges a re-enabled flag on fresh traffic only); keeps the baseline.
    pub(crate) fn clear(&mut self) {
        self.buckets.clear();
    }

    /// Starts afresh: forgets the traffic seen so far *and* the baseline,
    /// so the next read only sets a new baseline. After a change to the
    /// flag's definition, the traffic between the last read and the change
    /// was served partly under the old definition: it is left out rather
    /// than counted against the new one.
    pub(crate) fn restart(&mut self) {
        self.buckets.clear();
        self.last = None;
    }

    /// The buckets, oldest first.
    pub(crate) fn buckets(&self) -> impl DoubleEndedIterator<Item = &Bucket> + ExactSizeIterator {
        self.buckets.iter()
    }

    /// The sum of all buckets.
    pub(crate) fn totals(&self) -> FlagCounts {
        let mut sum = FlagCounts::default();
        for b in &self.buckets {
            sum.new.merge(&b.counts.new);
            sum.old.merge(&b.counts.old);
        }
        sum
    }

    /// The window's span.
    pub(crate) fn span(&self) -> Duration {
        self.span
    }

    /// Drops buckets that ended before `now - span`.
    fn evict(&mut self, now: SystemTime) {
        let Some(horizon) = now.checked_sub(self.span) else {
            return;
        };
        while let Some(front) = self.buckets.front() {
            if front.start + self.width <= horizon {
                self.buckets.pop_front();
            } else {
                break;
            }
        }
    }

    /// Buckets are aligned on multiples of their width since the Unix
    /// epoch, so every instance of the app buckets alike.
    fn bucket_start(&self, now: SystemTime) -> SystemTime {
        let since = now
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let width = self.width.as_nanos();
        let start = since - since % width;
        UNIX_EPOCH + Duration::from_nanos(u64::try_from(start).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::detect::counts::ArmCounts;

    fn totals(new: (u64, u64), old: (u64, u64)) -> FlagCounts {
        FlagCounts {
            new: ArmCounts {
                requests: new.0,
                errors: new.1,
                ..Default::default()
            },
            old: ArmCounts {
                requests: old.0,
                errors: old.1,
                ..Default::default()
            },
        }
    }

    fn t(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_000_000 + secs)
    }

    #[test]
    fn first_read_is_a_baseline() {
        let mut w = Window::new(Duration::from_secs(60), Duration::from_secs(5), false);
        w.observe(t(0), totals((100, 10), (1000, 5)));
        assert_eq!(w.buckets().len(), 0);
        assert_eq!(w.observe(t(1), totals((110, 13), (1100, 5))), 10);
        let sum = w.totals();
        assert_eq!((sum.new.requests, sum.new.errors), (10, 3));
        assert_eq!((sum.old.requests, sum.old.errors), (100, 0));
    }

    #[test]
    fn reads_in_one_bucket_add_up_and_old_buckets_fall_off() {
        let mut w = Window::new(Duration::from_secs(20), Duration::from_secs(5), false);
        w.observe(t(0), totals((0, 0), (0, 0)));
        w.observe(t(1), totals((1, 0), (10, 0)));
        w.observe(t(2), totals((2, 0), (20, 0)));
        assert_eq!(w.buckets().len(), 1);
        w.observe(t(6), totals((3, 1), (30, 0)));
        assert_eq!(w.buckets().len(), 2);
        assert_eq!(w.totals().new.requests, 3);
        // At t=26 the window covers [6, 26): the bucket [0, 5) is gone, the
        // bucket [5, 10) stays.
        w.observe(t(26), totals((3, 1), (30, 0)));
        assert_eq!(w.totals().new.requests, 1);
        w.observe(t(31), totals((3, 1), (30, 0)));
        assert_eq!(w.totals().new.requests, 0);
    }

    #[test]
    fn a_reset_counter_sets_a_new_baseline() {
        let mut w = Window::new(Duration::from_secs(60), Duration::from_secs(1), false);
        w.observe(t(0), totals((50, 5), (500, 5)));
        w.observe(t(1), totals((60, 5), (600, 5)));
        w.observe(t(2), totals((3, 0), (30, 0)));
        w.observe(t(3), totals((4, 1), (40, 0)));
        let sum = w.totals();
        assert_eq!((sum.new.requests, sum.new.errors), (11, 1));
        assert_eq!(sum.old.requests, 110);
    }

    #[test]
    fn clear_keeps_the_baseline() {
        let mut w = Window::new(Duration::from_secs(60), Duration::from_secs(1), false);
        w.observe(t(0), totals((0, 0), (0, 0)));
        w.observe(t(1), totals((10, 9), (10, 0)));
        w.clear();
        w.observe(t(2), totals((12, 9), (20, 0)));
        assert_eq!(w.totals().new.requests, 2);
        assert_eq!(w.totals().new.errors, 0);
    }

    #[test]
    fn restart_forgets_the_baseline_too() {
        let mut w = Window::new(Duration::from_secs(60), Duration::from_secs(1), false);
        w.observe(t(0), totals((0, 0), (0, 0)));
        w.observe(t(1), totals((10, 9), (10, 0)));
        w.restart();
        // The traffic between the last read and the restart is not counted.
        assert_eq!(w.observe(t(2), totals((12, 10), (20, 0))), 0);
        assert_eq!(w.totals().new.requests, 0);
        w.observe(t(3), totals((15, 10), (30, 0)));
        assert_eq!((w.totals().new.requests, w.totals().new.errors), (3, 0));
    }

    #[test]
    fn latency_is_dropped_unless_kept() {
        let mut read = totals((0, 0), (0, 0));
        let mut w = Window::new(Duration::from_secs(60), Duration::from_secs(1), false);
        let mut k = Window::new(Duration::from_secs(60), Duration::from_secs(1), true);
        w.observe(t(0), read.clone());
        k.observe(t(0), read.clone());
        read.new.record(false, Duration::from_millis(40));
        w.observe(t(1), read.clone());
        k.observe(t(1), read);
        assert_eq!(w.totals().new.latency.count(), 0);
        assert_eq!(k.totals().new.latency.count(), 1);
    }
}
