//! When to ask Unleash next: the schedule of Unleash's Node SDK
//! (`polling-fetcher`), so a server under strain sees the same back-off from
//! this crate as from its own SDKs.
//!
//! | answer | failures | next call after |
//! |---|---|---|
//! | 200, 304 | lowered by 1 (not below 0) | interval × (1 + failures) |
//! | 401, 403 | - | never: the token is refused |
//! | 404, 429, 500, 502, 503, 504 | raised by 1 (at most 10) | interval × (1 + failures) |
//! | another status | unchanged | interval |
//! | no answer (timeout, connection refused) | unchanged | interval |

use std::time::Duration;

use http::StatusCode;

/// The most failures counted: the wait is at most 11 intervals.
pub(super) const MAX_FAILURES: u32 = 10;

/// How one call went, as far as the schedule cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// 2xx or 304.
    Success,
    /// An HTTP status other than 2xx or 304.
    Status(StatusCode),
    /// No answer.
    NoAnswer,
}

/// The failure count and what it makes of the interval.
#[derive(Debug, Clone)]
pub(super) struct Schedule {
    interval: Duration,
    failures: u32,
}

impl Schedule {
    pub(super) fn new(interval: Duration) -> Schedule {
        Schedule {
            interval,
            failures: 0,
        }
    }

    /// The failures counted now.
    pub(super) fn failures(&self) -> u32 {
        self.failures
    }

    /// Counts `outcome`; the wait before the next call, or `None` when
    /// there must be no next call (the token is refused).
    pub(super) fn after(&mut self, outcome: Outcome) -> Option<Duration> {
        match outcome {
            Outcome::Success => {
                self.failures = self.failures.saturating_sub(1);
                Some(self.backed_off())
            }
            Outcome::Status(s) if refused(s) => None,
            Outcome::Status(s) if backs_off(s) => {
                self.failures = (self.failures + 1).min(MAX_FAILURES);
                Some(self.backed_off())
            }
            Outcome::Status(_) | Outcome::NoAnswer => Some(self.interval),
        }
    }

    fn backed_off(&self) -> Duration {
        // Saturating: the interval is the app's to choose, however long.
        self.interval.saturating_mul(1 + self.failures)
    }
}

/// 401 and 403: the token is wrong; asking again will not help.
pub(super) fn refused(status: StatusCode) -> bool {
    matches!(status.as_u16(), 401 | 403)
}

/// The statuses that mean "not now": wait longer each time.
pub(super) fn backs_off(status: StatusCode) -> bool {
    matches!(status.as_u16(), 404 | 429 | 500 | 502 | 503 | 504)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(code: u16) -> Outcome {
        Outcome::Status(StatusCode::from_u16(code).unwrap())
    }

    #[test]
    fn the_node_sdk_schedule() {
        let i = Duration::from_secs(15);
        let mut sch = Schedule::new(i);
        // Each backing-off status adds one interval, up to eleven.
        let waits: Vec<_> = [503, 429, 404, 500, 502, 504]
            .into_iter()
            .map(|c| sch.after(s(c)).unwrap())
            .collect();
        assert_eq!(waits, (2..=7).map(|n| i * n).collect::<Vec<_>>());
        for _ in 0..10 {
            sch.after(s(503));
        }
        assert_eq!(sch.failures(), MAX_FAILURES);
        assert_eq!(sch.after(s(503)), Some(i * 11));
        // No answer, or an unexpected status: the plain interval, count kept.
        assert_eq!(sch.after(Outcome::NoAnswer), Some(i));
        assert_eq!(sch.after(s(400)), Some(i));
        assert_eq!(sch.failures(), MAX_FAILURES);
        // Each success takes one failure off.
        assert_eq!(sch.after(Outcome::Success), Some(i * 10));
        assert_eq!(sch.after(Outcome::Success), Some(i * 9));
        for _ in 0..20 {
            sch.after(Outcome::Success);
        }
        assert_eq!(sch.after(Outcome::Success), Some(i));
        // A refused token: no next call.
        assert_eq!(sch.after(s(401)), None);
        assert_eq!(sch.after(s(403)), None);
    }

    #[test]
    fn an_interval_too_long_to_multiply_saturates() {
        let mut sch = Schedule::new(Duration::MAX);
        assert_eq!(sch.after(s(503)), Some(Duration::MAX));
    }
}
