//! A plan step's count of new-arm requests, taken from the whole fleet.
//!
//! A step advances once it has seen `min_requests` new-arm requests. With
//! [shared counts](crate::guard::fleet) that means the fleet's requests:
//! alone, each of ten instances would see a tenth, and a step would wait
//! ten times as long as it should. The fleet's sums come back as buckets of
//! a window (the table's time, per definition), each growing while it is
//! current and then ageing out; so each check takes, per bucket, what grew
//! since the last check took it. A new definition (every step is one)
//! starts from nothing, as its sums do.

use crate::guard::fleet::FleetBucket;

/// What a plan's step count has taken of the fleet's sums so far.
#[derive(Debug, Default)]
pub(super) struct FleetTally {
    /// The definition the buckets below were summed under.
    definition: u64,
    /// New-arm requests taken, per bucket start (table time, ms).
    taken: Vec<(u64, u64)>,
}

impl FleetTally {
    /// The new-arm requests in `buckets` (the fleet's window under
    /// `definition`) not taken before; remembers them as taken.
    pub(super) fn take(&mut self, definition: u64, buckets: &[FleetBucket]) -> u64 {
        if definition != self.definition {
            self.definition = definition;
            self.taken.clear();
        }
        let before = |start: u64| {
            self.taken
                .iter()
                .find(|(s, _)| *s == start)
                .map_or(0, |(_, n)| *n)
        };
        let fresh = buckets
            .iter()
            .map(|b| b.counts.new.requests.saturating_sub(before(b.start_ms)))
            .fold(0u64, u64::saturating_add);
        // Buckets that left the window are not coming back.
        self.taken = buckets
            .iter()
            .map(|b| (b.start_ms, b.counts.new.requests))
            .collect();
        fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::detect::FlagCounts;

    fn buckets(new: &[(u64, u64)]) -> Vec<FleetBucket> {
        new.iter()
            .map(|&(start_ms, requests)| {
                let mut counts = FlagCounts::default();
                counts.new.requests = requests;
                FleetBucket { start_ms, counts }
            })
            .collect()
    }

    #[test]
    fn each_request_is_taken_once_as_buckets_grow_and_age_out() {
        let mut tally = FleetTally::default();
        assert_eq!(tally.take(7, &buckets(&[(0, 10)])), 10);
        // The current bucket grew by 5, a new one opened with 3.
        assert_eq!(tally.take(7, &buckets(&[(0, 15), (5_000, 3)])), 8);
        // Nothing new.
        assert_eq!(tally.take(7, &buckets(&[(0, 15), (5_000, 3)])), 0);
        // The first bucket aged out of the window: nothing to take from it.
        assert_eq!(tally.take(7, &buckets(&[(5_000, 4), (10_000, 6)])), 7);
        // A new definition: its sums start afresh, and so does the tally.
        assert_eq!(tally.take(8, &buckets(&[(10_000, 2)])), 2);
        assert_eq!(tally.take(8, &buckets(&[(10_000, 2)])), 0);
    }
}
