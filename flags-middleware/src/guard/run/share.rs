//! A check's reading of the counts: into each watched flag's own window
//! and, with [shared counts](crate::guard::fleet), handed to the fleet in
//! exchange for the fleet's windows.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use flags_core::guard::NewArm;

use super::guard::{window_for, Guard};
use crate::guard::detect::{Bucket, FlagCounts, Window};
use crate::guard::fleet::{definition_key, FleetBucket, FleetError, Share};

/// The fleet's buckets per flag, from one exchange.
pub(super) type FleetWindows = HashMap<String, Vec<FleetBucket>>;

impl Guard {
    /// Reads every watched flag's counts into its own window; returns the shares for the fleet (`None`
    /// without shared counts).
    pub(super) fn observe(&self, now: SystemTime) -> Option<Vec<Share>> {
        let mut state = self.state();
        state.checks += 1;
        let keys: Vec<(String, NewArm)> = state
            .flags
            .iter()
            .map(|(flag, w)| (flag.clone(), w.config.settings().arm.clone()))
            .collect();
        let keys: Vec<(&str, &NewArm)> = keys.iter().map(|(f, a)| (f.as_str(), a)).collect();
        let reads = self.shared.source.read_all(&keys);
        let sharing = self.shared.fleet.is_some();
        let mut shares = Vec::new();
        for ((flag, w), read) in state.flags.iter_mut().zip(reads) {
            // A source that has counted nothing for the flag yet has
            // counted zero: the first requests are then not lost in the
            // baseline.
            let totals = read.unwrap_or_default();
            let new_requests = w.window.observe(now, totals.clone());
            // Counted toward the plan's step once the check knows whether
            // the fleet's sums (which hold these too) count instead.
            w.own_new = w.own_new.saturating_add(new_requests);
            if !sharing {
                continue;
            }
            let settings = w.config.settings();
            let mut share = Share::new(
                flag.clone(),
                w.definition.as_ref().map_or(0, definition_key),
                settings.bucket,
                settings.window,
            );
            // The first read, or counters reset: a baseline, nothing to add.
            if let Some(since) = w.published.as_ref().and_then(|p| since(&totals, p)) {
                share.delta = since;
            }
            w.published = Some(totals);
            shares.push(share);
        }
        sharing.then_some(shares)
    }

    /// Hands `shares` to the fleet; its windows, or `None` when the table
    /// is unreachable (the flags are then judged on this instance's own
    /// traffic; logged when that starts and when it ends).
    pub(super) async fn exchange(&self, shares: Vec<Share>) -> Option<FleetWindows> {
        let fleet = self.shared.fleet.as_ref()?;
        // A table slower than a check is as good as away: judge on this
        // instance's traffic rather than hold the check up.
        let patience = self.shared.interval.max(Duration::from_secs(1));
        let result = match tokio::time::timeout(patience, fleet.exchange(&shares)).await {
            Ok(r) => r,
            Err(_) => Err(FleetError(format!(
                "no answer from the shared counts within {patience:?}"
            ))),
        };
        let was_up = self.shared.fleet_up.swap(result.is_ok(), Ordering::Relaxed);
        match result {
            Ok(windows) => {
                if !was_up {
                    tracing::info!(
                        target: "flags::guard",
                        "guard: the fleet's shared counts are back; judging on the whole fleet's traffic again",
                    );
                }
                Some(shares.into_iter().map(|s| s.flag).zip(windows).collect())
            }
            Err(e) => {
                if was_up {
                    tracing::warn!(
                        target: "flags::guard",
                        error = %e,
                        "guard: the fleet's shared counts are unreachable; judging on this instance's own traffic until they are back",
                    );
                }
                // What this instance served meanwhile is not handed in
                // late (it would all land in one bucket).
                for w in self.state().flags.values_mut() {
                    w.published = None;
                }
                None
            }
        }
    }
}

/// `now - before`, or `None` when a counter went down.
fn since(now: &FlagCounts, before: &FlagCounts) -> Option<FlagCounts> {
    Some(FlagCounts {
        new: now.new.since(&before.new)?,
        old: now.old.since(&before.old)?,
    })
}

/// The window `config` asks for, holding the fleet's `buckets`.
pub(super) fn fleet_window(
    config: &flags_core::guard::GuardConfig,
    buckets: &[FleetBucket],
) -> Window {
    let shape = window_for(config);
    Window::from_buckets(
        shape.span(),
        config.settings().bucket,
        config.settings().latency.is_some(),
        buckets.iter().map(|b| Bucket {
            start: crate::guard::fleet::bucket_time(b.start_ms),
            counts: b.counts.clone(),
        }),
    )
}
