//! Turns a flag's window into a [`Verdict`], applying the rules of its
//! [`GuardConfig`].

use std::time::{Duration, SystemTime};

use flags_core::guard::{GuardConfig, LatencySettings};

use super::counts::ArmCounts;
use super::stats::{self, Cell, Evidence};
use super::verdict::{ArmFigures, Criterion, Finding, Status, Verdict, WindowFigures};
use super::window::{Bucket, Window};
use crate::guard::clock::unix_millis;
use crate::metrics::LatencyHistogram;

/// Judges `window` at `now`.
pub(crate) fn judge(window: &Window, config: &GuardConfig, now: SystemTime) -> Verdict {
    let totals = window.totals();
    let span_ms = u64::try_from(window.span().as_millis()).unwrap_or(u64::MAX);
    let figures = WindowFigures {
        new: ArmFigures::new(totals.new.requests, totals.new.errors),
        old: ArmFigures::new(totals.old.requests, totals.old.errors),
        span_ms,
    };
    let mut verdict = Verdict {
        at_ms: unix_millis(now),
        status: Status::Healthy,
        window: figures,
        finding: None,
    };
    let min = config.settings().min_requests;
    if totals.new.requests < min {
        verdict.status = Status::NoData;
        return verdict;
    }

    let buckets: Vec<&Bucket> = window.buckets().collect();
    let errors: Vec<Cell> = buckets
        .iter()
        .map(|b| error_cell(&b.counts.new, &b.counts.old))
        .collect();
    let bucket_ms = bucket_ms(config);
    let threshold = (1.0 / config.settings().alpha).ln();
    let mut watching: Option<Finding> = None;

    // 1. Error rate against the old arm, worse by more than the minimum
    // difference (as a ratio over the old arm's rate; the +1s keep an old
    // arm without errors from making the margin infinite).
    let min_diff = config.settings().min_difference;
    let old_rate = (totals.old.errors as f64 + 1.0) / (totals.old.requests as f64 + 1.0);
    let margin = 1.0 + min_diff / old_rate;
    let worse =
        |c: &Cell| rate(c.new_bad, c.new_requests) - rate(c.old_bad, c.old_requests) >= min_diff;
    let compared = stats::compare(&errors, margin, |c| {
        c.new_requests >= min && c.old_requests >= min && worse(c)
    });
    if let Some(e) = compared {
        let finding = error_finding(Criterion::ErrorRate, &e, bucket_ms, None);
        if e.log_lr >= threshold {
            return kill(verdict, finding);
        }
        // Over the whole window the new arm looks worse by at least the
        // minimum difference, without the evidence yet: hold a plan.
        let whole = error_cell(&totals.new, &totals.old);
        if whole.old_requests >= min && worse(&whole) {
            watching.get_or_insert(finding);
        }
    }

    // 2. Error rate against the ceiling, unless the old arm fails as often.
    let ceiling = config.settings().max_error_rate;
    let above = stats::exceed(&errors, ceiling, |c| {
        c.new_requests >= min
            && rate(c.new_bad, c.new_requests) > ceiling
            && (c.old_requests < min || rate(c.old_bad, c.old_requests) < ceiling)
    });
    if let Some(e) = above {
        let finding = error_finding(Criterion::MaxErrorRate, &e, bucket_ms, Some(ceiling));
        if e.log_lr >= threshold {
            return kill(verdict, finding);
        }
        watching.get_or_insert(finding);
    }

    // 3. Latency against the old arm.
    if let Some(rule) = &config.settings().latency {
        if let Some((finding, strong)) = latency(&buckets, &totals.old, rule, min, threshold) {
            let finding = Finding {
                period_ms: finding.period_ms.saturating_mul(bucket_ms),
                ..finding
            };
            if strong {
                return kill(verdict, finding);
            }
            watching.get_or_insert(finding);
        }
    }

    if let Some(finding) = watching {
        verdict.status = Status::Watching;
        verdict.finding = Some(finding);
    }
    verdict
}

fn kill(mut verdict: Verdict, finding: Finding) -> Verdict {
    verdict.status = Status::Kill;
    verdict.finding = Some(finding);
    verdict
}

fn rate(bad: u64, requests: u64) -> f64 {
    if requests == 0 {
        0.0
    } else {
        bad as f64 / requests as f64
    }
}

fn bucket_ms(config: &GuardConfig) -> u64 {
    u64::try_from(config.settings().bucket.as_millis()).unwrap_or(u64::MAX)
}

fn error_cell(new: &ArmCounts, old: &ArmCounts) -> Cell {
    Cell {
        new_requests: new.requests,
        // A source that counts an error without its request must not make
        // the rate exceed 1.
        new_bad: new.errors.min(new.requests),
        old_requests: old.requests,
        old_bad: old.errors.min(old.requests),
    }
}

fn error_finding(
    criterion: Criterion,
    e: &Evidence,
    bucket_ms: u64,
    threshold: Option<f64>,
) -> Finding {
    Finding {
        criterion,
        new: ArmFigures::new(e.totals.new_requests, e.totals.new_bad),
        old: ArmFigures::new(e.totals.old_requests, e.totals.old_bad),
        p_value: e.p_value(),
        period_ms: (e.buckets as u64).saturating_mul(bucket_ms),
        threshold,
        quantile: None,
    }
}

/// The latency rule; returns the finding (with `period_ms` in buckets) and
/// whether its evidence is enough to kill.
fn latency(
    buckets: &[&Bucket],
    old_window: &ArmCounts,
    rule: &LatencySettings,
    min: u64,
    threshold: f64,
) -> Option<(Finding, bool)> {
    let q = rule.quantile;
    if old_window.latency.count() < min {
        return None;
    }
    // The old arm's quantile over the window sets what "slow" means. The
    // histogram's bins are coarse (up to 2.5 times wide), so the quantile is
    // taken at the low edge of its bin and the threshold rounded up to the
    // next bin edge: "slow" is then past the bin holding the old arm's
    // quantile whatever the factor, so the old arm's own slow share stays
    // under 1 - quantile, and a slowdown of a bin or more is seen.
    let old_bin = old_window.latency.quantile_bin(q)?;
    // Past the last bound there is nothing slower to compare with.
    LatencyHistogram::bound(old_bin)?;
    let old_q = LatencyHistogram::lower(old_bin);
    let scaled =
        Duration::try_from_secs_f64(old_q.as_secs_f64() * rule.factor).unwrap_or(Duration::MAX);
    let slow_after = scaled.max(old_q.saturating_add(rule.min_increase));
    let bin = LatencyHistogram::bin(slow_after).max(old_bin);
    let cells: Vec<Cell> = buckets
        .iter()
        .map(|b| Cell {
            new_requests: b.counts.new.latency.count(),
            new_bad: b.counts.new.latency.above(bin),
            old_requests: b.counts.old.latency.count(),
            old_bad: b.counts.old.latency.above(bin),
        })
        .collect();
    let e = stats::compare(&cells, 1.0, |c| {
        c.new_requests >= min && c.old_requests >= min && rate(c.new_bad, c.new_requests) > 1.0 - q
    })?;
    // Quantiles over the same period as the evidence.
    let mut new_h = LatencyHistogram::default();
    let mut old_h = LatencyHistogram::default();
    for b in &buckets[buckets.len() - e.buckets..] {
        new_h.merge(&b.counts.new.latency);
        old_h.merge(&b.counts.old.latency);
    }
    let ms = |h: &LatencyHistogram| {
        h.quantile(q)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    };
    let finding = Finding {
        criterion: Criterion::Latency,
        new: ArmFigures {
            latency_ms: ms(&new_h),
            ..ArmFigures::new(e.totals.new_requests, e.totals.new_bad)
        },
        old: ArmFigures {
            latency_ms: ms(&old_h),
            ..ArmFigures::new(e.totals.old_requests, e.totals.old_bad)
        },
        p_value: e.p_value(),
        period_ms: e.buckets as u64,
        threshold: LatencyHistogram::bound(bin).map(|d| d.as_secs_f64() * 1000.0),
        quantile: Some(q),
    };
    Some((finding, e.log_lr >= threshold))
}

#[cfg(test)]
mod tests;
