//! Reads the layer's [`Metrics`] as the guard's counts.

use crate::metrics::{ArmStats, FlagStats, Metrics, MetricsSnapshot};

use super::counts::{ArmCounts, CountSource, FlagCounts};
use super::NewArm;

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
        side.merge(&arm_counts(stats));
    }
    Some(counts)
}

fn arm_counts(stats: &ArmStats) -> ArmCounts {
    let mut counts = ArmCounts {
        requests: stats.requests,
        errors: stats.errors,
        ..ArmCounts::default()
    };
    // The same bins on both sides (see `LATENCY_BOUNDS_MS`).
    for (bin, &n) in stats.latency_buckets.iter().enumerate() {
        counts.latency.add_to_bin(bin, n);
    }
    counts
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

    #[test]
    fn one_snapshot_for_many_flags() {
        let m = metrics();
        let reads = m.read_all(&[("f", &NewArm::Enabled), ("nope", &NewArm::Enabled)]);
        assert_eq!(reads[0].as_ref().unwrap().new.requests, 1);
        assert!(reads[1].is_none());
    }
}
