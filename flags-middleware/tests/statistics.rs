//! Bucketing statistics over many ids: proportions, stickiness under
//! percentage changes, independence between flags, variant weights.

use flags_middleware::engine::Mode;
use flags_middleware::model::{Feature, FlagSet, Strategy, VariantDef};
use flags_middleware::{Context, Snapshot};

fn rollout(name: &str, percent: u32) -> Feature {
    Feature {
        name: name.into(),
        enabled: true,
        strategies: vec![Strategy {
            name: "flexibleRollout".into(),
            parameters: [
                ("rollout".to_string(), percent.to_string()),
                ("stickiness".to_string(), "default".to_string()),
            ]
            .into_iter()
            .collect(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn snapshot(features: Vec<Feature>) -> Snapshot {
    let set = FlagSet {
        features,
        ..Default::default()
    };
    Snapshot::compile(&set, Mode::Strict, "test").unwrap()
}

/// Deterministic pseudo-random ids, different from one run of the loop to the next.
fn ids(n: usize, seed: u64) -> Vec<Context> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..n)
        .map(|_| Context::new().user_id(format!("user-{:016x}", rng.u64(..))))
        .collect()
}

#[test]
fn twenty_percent_rollout_enables_twenty_percent() {
    let snap = snapshot(vec![rollout("f", 20)]);
    let users = ids(100_000, 1);
    let on = users.iter().filter(|c| snap.is_enabled("f", c)).count();
    let share = on as f64 / users.len() as f64;
    assert!((share - 0.20).abs() <= 0.005, "share {share}");
}

#[test]
fn raising_the_percentage_never_turns_a_user_off() {
    let users = ids(20_000, 2);
    let mut previous: Vec<bool> = vec![false; users.len()];
    for pct in [5, 25, 50, 100] {
        let snap = snapshot(vec![rollout("f", pct)]);
        let now: Vec<bool> = users.iter().map(|c| snap.is_enabled("f", c)).collect();
        for (i, (was, is)) in previous.iter().zip(&now).enumerate() {
            assert!(!was || *is, "user {i} turned off going to {pct}%");
        }
        previous = now;
    }
    assert!(previous.iter().all(|on| *on));
}

#[test]
fn zero_then_five_again_gives_the_same_users() {
    let users = ids(20_000, 3);
    let at = |pct| {
        let snap = snapshot(vec![rollout("f", pct)]);
        users
            .iter()
            .map(|c| snap.is_enabled("f", c))
            .collect::<Vec<_>>()
    };
    let first = at(5);
    assert!(at(0).iter().all(|on| !on));
    assert_eq!(at(5), first);
    let share = first.iter().filter(|on| **on).count() as f64 / users.len() as f64;
    assert!((share - 0.05).abs() < 0.01, "share {share}");
}

#[test]
fn two_flags_bucket_independently() {
    let snap = snapshot(vec![rollout("a", 50), rollout("b", 50)]);
    let users = ids(100_000, 4);
    let both = users
        .iter()
        .filter(|c| snap.is_enabled("a", c) && snap.is_enabled("b", c))
        .count() as f64
        / users.len() as f64;
    // Independent halves overlap on a quarter.
    assert!((both - 0.25).abs() < 0.01, "overlap {both}");
}

#[test]
fn three_variants_at_50_25_25_land_within_one_percent() {
    let mut f = rollout("exp", 100);
    f.variants = [("a", 500), ("b", 250), ("c", 250)]
        .into_iter()
        .map(|(n, w)| VariantDef {
            name: n.into(),
            weight: w,
            ..Default::default()
        })
        .collect();
    let snap = snapshot(vec![f]);
    let users = ids(100_000, 5);
    let mut counts = [0usize; 3];
    for c in &users {
        match snap.variant("exp", c).name {
            "a" => counts[0] += 1,
            "b" => counts[1] += 1,
            "c" => counts[2] += 1,
            other => panic!("unexpected variant {other}"),
        }
    }
    for (count, want) in counts.iter().zip([0.5, 0.25, 0.25]) {
        let share = *count as f64 / users.len() as f64;
        assert!((share - want).abs() <= 0.01, "share {share} want {want}");
    }
}

#[test]
fn same_user_same_answer_across_snapshots() {
    // Two independently compiled snapshots (as two processes would have).
    let a = snapshot(vec![rollout("f", 30)]);
    let b = snapshot(vec![rollout("f", 30)]);
    for c in ids(5_000, 6) {
        assert_eq!(a.is_enabled("f", &c), b.is_enabled("f", &c));
    }
}
