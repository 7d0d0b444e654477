//! The statistical test: is the new arm worse, or is it noise?
//!
//! # Why not a z-test
//!
//! A one-sided two-proportion z-test at α = 0.05 is right for one look at a
//! fixed sample. The guard looks every second, forever: under a healthy arm,
//! the z statistic wanders, and the chance that it crosses the 5% line at
//! *some* look grows towards 1 as looks accumulate. Peeking turns a 5% test
//! into a near-certain false kill over a long rollout. The normal
//! approximation is also wrong where it matters most, at the start, when the
//! new arm has a handful of errors.
//!
//! # What the guard does instead
//!
//! **Condition on the errors.** Within one bucket of the window, say the new
//! arm served `n₁` requests and the old arm `n₀`. If both arms fail at the
//! same rate, each error of that bucket came from the new arm with
//! probability `s = n₁ / (n₁ + n₀)`, its share of the traffic, whatever the
//! base error rate is. If the new arm fails `ρ` times as often, that
//! probability is `q = sρ / (sρ + 1 − s)`. So each error is a coin flip whose
//! bias under "healthy" is known exactly: no normal approximation, no
//! estimate of the base rate, and it holds for 3 errors as well as 3,000.
//! Taking `s` bucket by bucket (a stratified test) means a change in the
//! rollout percentage, or an outage that hits both arms for a minute, is not
//! mistaken for a difference between them.
//!
//! **A likelihood ratio that can be watched continuously.** For one `ρ`, the
//! product over errors of `P(arm | ρ) / P(arm | healthy)` is a martingale with
//! mean 1 while the arm is healthy; by Ville's inequality the chance that it
//! *ever* reaches `1/α`, however often it is looked at, is at most `α`. That
//! is Wald's sequential probability ratio test. The guard does not know `ρ`,
//! so it averages the ratio over a grid of ratios from 1.4 to 1024 (a mixture
//! SPRT, as in the "always-valid p-values" of Johari et al.); the average of
//! martingales is a martingale, so the guarantee stays, and `1/ratio` is an
//! always-valid p-value, the one quoted in the kill message. Only ratios
//! above 1 are in the grid, so the test is one-sided: an arm that fails
//! *less* builds no evidence.
//!
//! **The minimum difference is part of the question.** A rollout should not
//! be killed for a difference that is real but too small to matter (1.5%
//! errors against 1%), however much traffic proves it. So the test is not
//! "the arms are alike" against "the new arm is worse", but "the new arm
//! fails at most `δ` (the minimum difference) more often" against "more than
//! that": with the old arm's rate `λ₀` over the window, the null ratio is
//! `ρ₀ = 1 + δ/λ₀` and the grid of alternatives starts above it. (`λ₀` is an
//! estimate, so near the margin the guarantee is approximate; far from it,
//! where kills happen, it does not matter.)
//!
//! **Forgetting, for a watch that never ends.** A rollout runs for days and a
//! regression can start at any time, e.g. when a dependency of the new code
//! path breaks. Evidence is therefore counted from every bucket start in the
//! window to now, and the guard acts on the strongest start (a
//! window-limited CUSUM, Lorden's construction). Each start is its own
//! always-valid test, so with one new start per bucket, a healthy arm sees a
//! false kill less than `α` times per bucket width on average: with the
//! defaults (α = 10⁻⁶, 5 s buckets) less than once in 58 days, and in
//! practice far less (the bound ignores that error counts are discrete, and
//! the kill also needs a minimum sample and a minimum difference). The cost
//! of that caution is small: evidence grows with the number of bad errors,
//! so at 30% errors against 0.5% the new arm crosses 10⁶ within about three
//! seconds of traffic at 10 requests per second; the minimum sample is what
//! decides how fast the guard acts.
//!
//! The same machinery serves the latency rule ("slow" requests instead of
//! failed ones) and the error-rate ceiling (one arm against a fixed rate,
//! for when there is no old arm to compare with).

/// Ratios (new arm's rate over old arm's rate, or odds over the ceiling's
/// odds) the evidence is averaged over: `2^(k/2)` for k = 1..=20.
const GRID: usize = 20;

fn grid() -> impl Iterator<Item = f64> {
    (1..=GRID).map(|k| 2f64.powf(k as f64 / 2.0))
}

/// One bucket's traffic for a comparison: requests and bad requests (errors,
/// or slow requests) of each arm.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Cell {
    pub(crate) new_requests: u64,
    pub(crate) new_bad: u64,
    pub(crate) old_requests: u64,
    pub(crate) old_bad: u64,
}

/// The evidence gathered from one start (a bucket) to now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Evidence {
    /// Natural log of the mixture likelihood ratio.
    pub(crate) log_lr: f64,
    /// Pooled counts over the buckets since the start.
    pub(crate) totals: Cell,
    /// How many buckets, counting back from the newest.
    pub(crate) buckets: usize,
}

impl Evidence {
    /// The always-valid p-value: `1 / likelihood ratio`, at most 1.
    pub(crate) fn p_value(&self) -> f64 {
        (-self.log_lr).exp().min(1.0)
    }
}

/// `ln(mean(exp(x)))` without overflow.
fn log_mean_exp(xs: &[f64; GRID]) -> f64 {
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    let sum: f64 = xs.iter().map(|x| (x - max).exp()).sum();
    max + (sum / GRID as f64).ln()
}

/// Scans every start from the newest bucket back to the oldest and returns
/// the start with the most evidence among those whose pooled counts pass
/// `gate`; `None` when none pass.
fn scan(
    cells: &[Cell],
    mut add: impl FnMut(&Cell, &mut [f64; GRID]),
    gate: impl Fn(&Cell) -> bool,
) -> Option<Evidence> {
    let mut logs = [0.0; GRID];
    let mut totals = Cell::default();
    let mut best: Option<Evidence> = None;
    for (i, cell) in cells.iter().rev().enumerate() {
        add(cell, &mut logs);
        // Saturating: shared counts come from a database row anyone with
        // access could have written.
        totals.new_requests = totals.new_requests.saturating_add(cell.new_requests);
        totals.new_bad = totals.new_bad.saturating_add(cell.new_bad);
        totals.old_requests = totals.old_requests.saturating_add(cell.old_requests);
        totals.old_bad = totals.old_bad.saturating_add(cell.old_bad);
        if !gate(&totals) {
            continue;
        }
        let log_lr = log_mean_exp(&logs);
        if best.map_or(true, |b| log_lr > b.log_lr) {
            best = Some(Evidence {
                log_lr,
                totals,
                buckets: i + 1,
            });
        }
    }
    best
}

/// Evidence that the new arm's bad requests are more than `margin` times as
/// frequent as the old arm's (see the module docs; `margin` >= 1). `cells`
/// are oldest first.
pub(crate) fn compare(
    cells: &[Cell],
    margin: f64,
    gate: impl Fn(&Cell) -> bool,
) -> Option<Evidence> {
    let margin = if margin.is_finite() {
        margin.max(1.0)
    } else {
        f64::MAX
    };
    let ratios: Vec<(f64, f64)> = grid().map(|r| (r.ln(), margin * r)).collect();
    scan(
        cells,
        |c, logs| {
            let bad = c.new_bad + c.old_bad;
            // A bucket where one arm had no traffic says nothing about a
            // difference between the arms.
            if c.new_requests == 0 || c.old_requests == 0 || bad == 0 {
                return;
            }
            let s = c.new_requests as f64 / (c.new_requests + c.old_requests) as f64;
            // Under rate ratio ρ a bad request is the new arm's with
            // probability q(ρ) = sρ / (1 + s(ρ-1)). Against the null ratio
            // ρ₀ = margin and the alternative ρ = ρ₀r:
            //   ln(q(ρ)/q(ρ₀))         = ln r - ln(1+s(ρ-1)) + ln(1+s(ρ₀-1))
            //   ln((1-q(ρ))/(1-q(ρ₀))) =      - ln(1+s(ρ-1)) + ln(1+s(ρ₀-1))
            let null = (s * (margin - 1.0)).ln_1p();
            for (l, &(ln_r, rho)) in logs.iter_mut().zip(&ratios) {
                *l += c.new_bad as f64 * ln_r - bad as f64 * ((s * (rho - 1.0)).ln_1p() - null);
            }
        },
        gate,
    )
}

/// Evidence that the new arm's rate of bad requests is above `ceiling`
/// (strictly between 0 and 1). `cells` are oldest first; the old arm is
/// ignored.
pub(crate) fn exceed(
    cells: &[Cell],
    ceiling: f64,
    gate: impl Fn(&Cell) -> bool,
) -> Option<Evidence> {
    let c = ceiling.clamp(1e-9, 1.0 - 1e-9);
    let odds = c / (1.0 - c);
    // For each alternative rate p (odds r times the ceiling's): the log
    // likelihood ratio of one bad request, and of one good one.
    let terms: Vec<(f64, f64)> = grid()
        .map(|r| {
            let p = odds * r / (1.0 + odds * r);
            ((p / c).ln(), ((1.0 - p) / (1.0 - c)).ln())
        })
        .collect();
    scan(
        cells,
        |cell, logs| {
            let bad = cell.new_bad as f64;
            let good = cell.new_requests.saturating_sub(cell.new_bad) as f64;
            for (l, &(on_bad, on_good)) in logs.iter_mut().zip(&terms) {
                *l += bad * on_bad + good * on_good;
            }
        },
        gate,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(n1: u64, e1: u64, n0: u64, e0: u64) -> Cell {
        Cell {
            new_requests: n1,
            new_bad: e1,
            old_requests: n0,
            old_bad: e0,
        }
    }

    fn any(_: &Cell) -> bool {
        true
    }

    /// The ratio for one bad request has mean 1 when the arms are alike: the
    /// property the always-valid guarantee rests on.
    #[test]
    fn one_error_is_a_fair_bet_when_healthy() {
        for (n1, n0, margin) in [(5, 95, 1.0), (50, 50, 1.0), (1, 999, 3.0), (90, 10, 1.5)] {
            // Under the null, the new arm's errors are `margin` times as
            // frequent: its share of the errors is q(margin).
            let s = n1 as f64 / (n1 + n0) as f64;
            let s = s * margin / (1.0 + s * (margin - 1.0));
            let from_new = compare(&[cell(n1, 1, n0, 0)], margin, any)
                .unwrap()
                .log_lr
                .exp();
            let from_old = compare(&[cell(n1, 0, n0, 1)], margin, any)
                .unwrap()
                .log_lr
                .exp();
            let mean = s * from_new + (1.0 - s) * from_old;
            assert!((mean - 1.0).abs() < 1e-9, "share {s}: mean {mean}");
        }
    }

    #[test]
    fn one_request_is_a_fair_bet_at_the_ceiling() {
        for c in [0.01, 0.25, 0.9] {
            let bad = exceed(&[cell(1, 1, 0, 0)], c, any).unwrap().log_lr.exp();
            let good = exceed(&[cell(1, 0, 0, 0)], c, any).unwrap().log_lr.exp();
            let mean = c * bad + (1.0 - c) * good;
            assert!((mean - 1.0).abs() < 1e-9, "ceiling {c}: mean {mean}");
        }
    }

    #[test]
    fn a_clear_regression_is_overwhelming() {
        // Five seconds at 10 req/s on the new arm failing 30%, 190 req/s on
        // the old arm failing 0.5%.
        let cells = vec![cell(10, 3, 190, 1); 5];
        let e = compare(&cells, 1.0, any).unwrap();
        assert!(e.p_value() < 1e-9, "p = {}", e.p_value());
        assert_eq!(e.buckets, 5);
        assert_eq!(e.totals, cell(50, 15, 950, 5));
    }

    #[test]
    fn a_margin_demands_more() {
        // 1.5% against 1%, lots of it: real, but not twice as bad.
        let cells = vec![cell(1000, 15, 1000, 10); 60];
        assert!(compare(&cells, 1.0, any).unwrap().p_value() < 1e-3);
        assert!(compare(&cells, 2.0, any).unwrap().log_lr < 0.0);
    }

    #[test]
    fn errors_in_proportion_to_traffic_build_no_evidence() {
        // 5% of the traffic, 5% of the errors.
        let e = compare(&[cell(50, 1, 950, 19)], 1.0, any).unwrap();
        assert!(e.log_lr < 0.0, "log lr {}", e.log_lr);
        assert!(e.p_value() == 1.0);
    }

    #[test]
    fn a_better_new_arm_builds_no_evidence() {
        let e = compare(&[cell(500, 0, 500, 40)], 1.0, any).unwrap();
        assert!(e.log_lr < 0.0);
    }

    #[test]
    fn buckets_without_both_arms_are_ignored() {
        let only_new = compare(&[cell(100, 100, 0, 0)], 1.0, any).unwrap();
        assert_eq!(only_new.log_lr, 0.0);
    }

    /// Stratifying by bucket: the rollout goes from 5% to 50% while an outage
    /// makes both arms fail 20%. Pooled, the new arm has a larger share of
    /// the errors than of the requests; bucket by bucket it does not.
    #[test]
    fn a_shared_outage_during_a_rollout_change_is_not_blamed_on_the_new_arm() {
        let mut cells = vec![cell(50, 0, 950, 0); 10];
        cells.extend(vec![cell(500, 100, 500, 100); 10]);
        let e = compare(&cells, 1.0, any).unwrap();
        assert!(e.log_lr < 1.0, "log lr {}", e.log_lr);
        // The same counts pooled in one bucket: the new arm has 27.5% of the
        // requests and 50% of the errors, which is overwhelming evidence.
        let pooled = cell(5500, 1000, 14500, 1000);
        assert!(compare(&[pooled], 1.0, any).unwrap().log_lr > 20.0);
    }

    #[test]
    fn the_strongest_start_is_found() {
        // Healthy for a minute, then broken for the last 3 buckets.
        let mut cells = vec![cell(10, 0, 190, 1); 12];
        cells.extend(vec![cell(10, 3, 190, 1); 3]);
        let e = compare(&cells, 1.0, any).unwrap();
        assert_eq!(e.buckets, 3);
        assert_eq!(e.totals.new_bad, 9);
    }

    #[test]
    fn the_gate_limits_the_starts() {
        let cells = vec![cell(10, 3, 190, 1); 5];
        let e = compare(&cells, 1.0, |c| c.new_requests >= 40).unwrap();
        assert_eq!(e.buckets, 5);
        assert!(compare(&cells, 1.0, |c| c.new_requests >= 60).is_none());
    }

    #[test]
    fn above_the_ceiling() {
        let high = exceed(&[cell(100, 60, 0, 0)], 0.25, any).unwrap();
        assert!(high.p_value() < 1e-6);
        let low = exceed(&[cell(100, 20, 0, 0)], 0.25, any).unwrap();
        assert!(low.log_lr < 0.0);
    }

    #[test]
    fn counts_too_large_to_add_saturate_instead_of_panicking() {
        // Shared counts come from database rows; three of u64::MAX / 2
        // each would overflow a plain sum.
        let huge = u64::MAX / 2;
        let cells = vec![cell(huge, 1, huge, 1); 3];
        let e = compare(&cells, 1.0, any).unwrap();
        assert!(e.totals.new_requests >= huge && e.totals.old_requests >= huge);
        assert!(exceed(&cells, 0.25, any).is_some());
    }
}
