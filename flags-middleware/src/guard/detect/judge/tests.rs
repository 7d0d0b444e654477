//! The guard's decisions on simulated traffic: seeded, so every run sees the
//! same requests.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;
use crate::guard::detect::counts::FlagCounts;
use flags_core::guard::LatencyRule;

/// Simulated traffic of one flag, checked once a second.
struct Sim {
    rng: fastrand::Rng,
    totals: FlagCounts,
    window: Window,
    config: GuardConfig,
    now: SystemTime,
}

/// Per second: how many requests, which share goes to the new arm, and each
/// arm's error rate.
#[derive(Clone, Copy)]
struct Traffic {
    per_second: u32,
    share: f64,
    new_rate: f64,
    old_rate: f64,
}

impl Sim {
    fn new(seed: u64, config: GuardConfig) -> Sim {
        let window = Window::new(config.settings().window, config.settings().bucket, false);
        let mut sim = Sim {
            rng: fastrand::Rng::with_seed(seed),
            totals: FlagCounts::default(),
            window,
            config,
            now: UNIX_EPOCH + Duration::from_secs(1_735_689_600),
        };
        sim.window.observe(sim.now, sim.totals.clone());
        sim
    }

    /// One second of traffic, then a check.
    fn second(&mut self, t: Traffic) -> Verdict {
        for _ in 0..t.per_second {
            let new = self.rng.f64() < t.share;
            let (arm, rate) = if new {
                (&mut self.totals.new, t.new_rate)
            } else {
                (&mut self.totals.old, t.old_rate)
            };
            arm.requests += 1;
            arm.errors += u64::from(self.rng.f64() < rate);
        }
        self.now += Duration::from_secs(1);
        self.window.observe(self.now, self.totals.clone());
        judge(&self.window, &self.config, self.now)
    }

    /// Runs `seconds` of traffic; returns the kills (after each, the window
    /// is cleared, as the guard does).
    fn run(&mut self, seconds: u32, t: Traffic) -> Vec<Verdict> {
        let mut kills = Vec::new();
        for _ in 0..seconds {
            let v = self.second(t);
            if v.status == Status::Kill {
                kills.push(v);
                self.window.clear();
            }
        }
        kills
    }
}

const INCIDENT: Traffic = Traffic {
    per_second: 200,
    share: 0.05,
    new_rate: 0.30,
    old_rate: 0.005,
};

fn healthy(share: f64, rate: f64) -> Traffic {
    Traffic {
        per_second: 200,
        share,
        new_rate: rate,
        old_rate: rate,
    }
}

/// A healthy new arm (same error rate as the old one) under several traffic
/// shapes, checked every second for six hours each: never killed.
#[test]
fn a_healthy_arm_survives_a_long_run() {
    let cases = [
        (1, healthy(0.05, 0.005)),
        (2, healthy(0.25, 0.02)),
        (3, healthy(0.50, 0.10)),
        (4, healthy(0.01, 0.05)),
        (5, healthy(0.95, 0.01)),
    ];
    for (seed, traffic) in cases {
        let mut sim = Sim::new(seed, GuardConfig::new());
        let kills = sim.run(6 * 3600, traffic);
        assert!(
            kills.is_empty(),
            "seed {seed}: killed {} times, first: {:?}",
            kills.len(),
            kills[0].kill_message()
        );
    }
}

/// With a weak α and no minimum difference, false kills do happen; their
/// number stays under the bound the module docs give (α per bucket of
/// healthy traffic), which is what makes the default's bound believable.
#[test]
fn false_kills_stay_under_the_bound() {
    let alpha = 0.01;
    let config = GuardConfig::new()
        .alpha(alpha)
        .unwrap()
        .min_difference(0.0)
        .unwrap()
        .min_requests(10);
    let seconds = 6 * 3600;
    let buckets = seconds as f64 / config.settings().bucket.as_secs_f64();
    let bound = alpha * buckets;
    let mut total = 0;
    for seed in 10..13 {
        let mut sim = Sim::new(seed, config.clone());
        total += sim.run(seconds, healthy(0.2, 0.02)).len();
    }
    assert!(
        (total as f64) < 3.0 * bound,
        "{total} false kills in 3 runs; bound {bound} per run"
    );
}

/// The incident: 5% of 200 req/s on a new arm failing 30% against 0.5%,
/// after two healthy minutes. Killed within 10 checks, on the figures of the
/// incident rather than of the healthy minutes before.
#[test]
fn a_clear_regression_is_killed_within_seconds() {
    for seed in 20..30 {
        let mut sim = Sim::new(seed, GuardConfig::new());
        assert!(sim.run(120, healthy(0.05, 0.005)).is_empty());
        let mut killed_after = None;
        for s in 1..=60 {
            if sim.second(INCIDENT).status == Status::Kill {
                killed_after = Some(s);
                break;
            }
        }
        let s = killed_after.expect("never killed");
        assert!(s <= 10, "seed {seed}: killed after {s} s");
    }
}

#[test]
fn the_kill_reports_the_incident_figures() {
    let mut sim = Sim::new(7, GuardConfig::new());
    sim.run(120, healthy(0.05, 0.005));
    let v = loop {
        let v = sim.second(INCIDENT);
        if v.status == Status::Kill {
            break v;
        }
    };
    let f = v.finding.as_ref().unwrap();
    assert_eq!(f.criterion, Criterion::ErrorRate);
    assert!(f.new.requests >= 50, "{f:?}");
    // The period starts near the incident (at most a healthy bucket before
    // it, to reach the minimum sample), not two healthy minutes back.
    assert!(f.period_ms <= 15_000, "{f:?}");
    assert!(f.new.rate > 5.0 * f.old.rate + 0.01, "{f:?}");
    assert!(f.p_value < 1e-6);
    let msg = v.kill_message().unwrap();
    assert!(msg.starts_with("guard: new arm "), "{msg}");
    assert!(msg.ends_with(", p < 0.001"), "{msg}");
}

#[test]
fn too_little_traffic_is_no_data() {
    let mut sim = Sim::new(1, GuardConfig::new());
    let v = sim.second(Traffic {
        per_second: 100,
        share: 0.05,
        new_rate: 1.0,
        old_rate: 0.0,
    });
    assert_eq!(v.status, Status::NoData);
    assert!(v.finding.is_none());
}

/// A real but small regression (1.5% against 1%, well established) is
/// under the default minimum difference; with a smaller one it is killed.
#[test]
fn the_minimum_difference_is_respected() {
    let small = Traffic {
        per_second: 2000,
        share: 0.5,
        new_rate: 0.015,
        old_rate: 0.01,
    };
    let mut sim = Sim::new(3, GuardConfig::new());
    assert!(sim.run(600, small).is_empty());
    let strict = GuardConfig::new().min_difference(0.002).unwrap();
    let mut sim = Sim::new(3, strict);
    assert!(!sim.run(600, small).is_empty());
}

/// Watching: worse by more than the minimum difference, not yet proven.
#[test]
fn an_unproven_difference_is_watched() {
    let mut sim = Sim::new(5, GuardConfig::new());
    let mut statuses = Vec::new();
    for _ in 0..30 {
        statuses.push(
            sim.second(Traffic {
                per_second: 200,
                share: 0.05,
                new_rate: 0.03,
                old_rate: 0.005,
            })
            .status,
        );
    }
    assert!(statuses.contains(&Status::Watching), "{statuses:?}");
    assert!(!statuses.contains(&Status::Kill), "{statuses:?}");
}

/// At 100% there is no old arm: only the ceiling can act.
#[test]
fn the_ceiling_acts_without_an_old_arm() {
    let alone = |rate| Traffic {
        per_second: 200,
        share: 1.0,
        new_rate: rate,
        old_rate: 0.0,
    };
    let mut sim = Sim::new(8, GuardConfig::new());
    assert!(sim.run(3600, alone(0.2)).is_empty());
    let kills = sim.run(30, alone(0.4));
    let f = kills[0].finding.as_ref().unwrap();
    assert_eq!(f.criterion, Criterion::MaxErrorRate);
    assert!(kills[0]
        .kill_message()
        .unwrap()
        .contains("above the 25.0% ceiling"));
}

/// Both arms fail 40% (a shared outage): the flag is not to blame.
#[test]
fn the_ceiling_does_not_blame_a_shared_outage() {
    let mut sim = Sim::new(9, GuardConfig::new());
    assert!(sim.run(600, healthy(0.5, 0.4)).is_empty());
}

/// One second of 200 requests, 10% on the new arm; `latency` draws a
/// request's latency in ms for an arm (`true`: new).
fn latency_second(sim: &mut Sim, latency: impl Fn(&mut fastrand::Rng, bool) -> u64) -> Verdict {
    for _ in 0..200 {
        let new = sim.rng.f64() < 0.1;
        let ms = latency(&mut sim.rng, new);
        let arm = if new {
            &mut sim.totals.new
        } else {
            &mut sim.totals.old
        };
        arm.record(false, Duration::from_millis(ms));
    }
    sim.now += Duration::from_secs(1);
    sim.window.observe(sim.now, sim.totals.clone());
    judge(&sim.window, &sim.config, sim.now)
}

fn latency_sim(seed: u64) -> Sim {
    let config = GuardConfig::new().latency(LatencyRule::new());
    let mut sim = Sim::new(seed, config);
    sim.window = Window::new(
        sim.config.settings().window,
        sim.config.settings().bucket,
        true,
    );
    sim.window.observe(sim.now, sim.totals.clone());
    sim
}

#[test]
fn a_slower_new_arm_is_killed_on_latency() {
    let mut sim = latency_sim(11);
    let v = (0..60)
        .map(|_| {
            latency_second(&mut sim, |rng, new| {
                if new {
                    rng.u64(400..=440)
                } else {
                    rng.u64(80..=120)
                }
            })
        })
        .find(|v| v.status == Status::Kill)
        .expect("never killed");
    let f = v.finding.as_ref().unwrap();
    assert_eq!(f.criterion, Criterion::Latency);
    // Upper edges of the bins holding each p95.
    assert_eq!((f.new.latency_ms, f.old.latency_ms), (Some(500), Some(250)));
    assert_eq!(f.threshold, Some(250.0));
    assert!(
        v.kill_message()
            .unwrap()
            .starts_with("guard: new arm p95 500 ms over "),
        "{:?}",
        v.kill_message()
    );
}

/// Both arms alike, with a tail of 4.5% slow requests: the new arm's slow
/// share often tops 5% on a short period, which the test must see as noise.
#[test]
fn equal_latency_is_not_killed() {
    let mut sim = latency_sim(12);
    let mut watched = 0;
    for _ in 0..3600 {
        let v = latency_second(&mut sim, |rng, _| {
            if rng.f64() < 0.045 {
                rng.u64(600..=900)
            } else {
                rng.u64(6..=10)
            }
        });
        assert_ne!(v.status, Status::Kill, "{:?}", v.finding);
        watched += usize::from(v.status == Status::Watching);
    }
    assert!(watched > 0, "the gate never opened: the test tests nothing");
}
