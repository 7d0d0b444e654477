//! Reads the layer's [`Metrics`] as the guard's counts.

use flags_core::guard::NewArm;

use super::counts::{CountSource, FlagCounts};
use crate::metrics::{FlagStats, Metrics, MetricsSnapshot};

/// The arm the layer records when the flag was off.
const OFF: &str = "off";

impl CountSource for Metrics {
    fn read(&self, flag: &str, arm: &NewArm) -> Option<FlagCounts> {
        counts_of(&self.snapshot(), flag, arm)
    }

    /// One snapshot of the counters for all the flags of a check.
    fn read_all(&self, flags: &[(&str, &NewArm)]) -> Vec<Option<FlagCounts>> {
        let snapshot = self.snapshot();
        flags
            .iter()
            .map(|(flag, arm)| counts_of(&snapshot, flag, arm))
            .collect()
    }
}

/// Splits `flag`'s arms into new and old: with [`NewArm::Enabled`], `off`
/// against every other arm (`on` and the variants); with
/// [`NewArm::Variant`], that variant against every other arm.
pub(crate) fn counts_of(
    snapshot: &MetricsSnapshot,
    flag: &str,
    arm: &NewArm,
) -> Option<FlagCounts> {
    let FlagStats { arms, .. } = snapshot.flag(flag)?;
    let mut counts = FlagCounts::default();
    for stats in arms {
        let is_new = match arm {
            NewArm::Enabled => stats.arm != OFF,
            NewArm::Variant(v) => stats.arm == *v,
        };
        let side = if is_new {
            &mut counts.new
        } else {
            &mut counts.old
        };
        // The layer's histogram is the guard's: added as it is.
        side.requests = side.requests.saturating_add(stats.requests);
        side.errors = side.errors.saturating_add(stats.errors);
        side.latency.merge(&stats.latency);
    }
    Some(counts)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn metrics() -> Metrics {
        let m = Metrics::default();
        m.record("f", "off", 200, Duration::from_millis(3));
        m.record("f", "off", 500, Duration::from_millis(3));
        m.record("f", "on", 503, Duration::from_millis(300));
        m.record("exp", "blue", 200, Duration::from_millis(1));
        m.record("exp", "green", 500, Duration::from_millis(40));
        m.record("exp", "off", 200, Duration::from_millis(1));
        m
    }

    #[test]
    fn enabled_is_every_arm_but_off() {
        let c = metrics().read("f", &NewArm::Enabled).unwrap();
        assert_eq!((c.new.requests, c.new.errors), (1, 1));
        assert_eq!((c.old.requests, c.old.errors), (2, 1));
        assert_eq!(
            c.new.latency.quantile(0.5),
            Some(Duration::from_millis(500))
        );
        let exp = metrics().read("exp", &NewArm::Enabled).unwrap();
        assert_eq!((exp.new.requests, exp.old.requests), (2, 1));
    }

    #[test]
    fn a_variant_against_all_others() {
        let c = metrics()
            .read("exp", &NewArm::Variant("green".into()))
            .unwrap();
        assert_eq!((c.new.requests, c.new.errors), (1, 1));
        assert_eq!((c.old.requests, c.old.errors), (2, 0));
    }

    /// One bin rule for the layer's counters and counts fed by hand: a
    /// latency just past a bound lands in the same bin either way.
    #[test]
    fn the_layer_and_hand_fed_counts_bin_a_latency_alike() {
        let latency = Duration::from_nanos(1_000_500);
        let m = Metrics::default();
        m.record("f", "on", 200, latency);
        let manual = crate::guard::detect::ManualCounts::new();
        manual.record("f", crate::guard::detect::Side::New, false, latency);
        let from_layer = m.read("f", &NewArm::Enabled).unwrap().new.latency;
        let by_hand = manual.read("f", &NewArm::Enabled).unwrap().new.latency;
        assert_eq!(from_layer, by_hand);
        assert_eq!(from_layer.quantile(1.0), Some(Duration::from_millis(2)));
    }

    #[test]
    fn one_snapshot_for_many_flags() {
        let m = metrics();
        let reads = m.read_all(&[("f", &NewArm::Enabled), ("nope", &NewArm::Enabled)]);
        assert_eq!(reads[0].as_ref().unwrap().new.requests, 1);
        assert!(reads[1].is_none());
    }
}
