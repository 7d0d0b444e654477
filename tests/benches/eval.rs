//! Evaluation speed, side by side with Unleash's own engine (Yggdrasil), on
//! identical flags in one run. Ends with a table of both and their ratio.
//!
//! Run: `cargo bench --bench eval` (add `-- --quick` for a fast pass).

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion};
use flags_middleware::engine::{Change, Mode};
use flags_middleware::model::FlagSet;
use flags_middleware::{Context, Snapshot};
use flags_tests::live_bytes::{retained, LiveBytes};
use flags_tests::mixed::{mixed, rollout};
use serde_json::{json, Value};
use unleash_yggdrasil::{ClientFeatures, EngineState, UpdateMessage};

/// Counts live heap bytes, to compare what each engine keeps after a load.
#[global_allocator]
static GLOBAL: LiveBytes = LiveBytes;

fn special_flags() -> Vec<Value> {
    let many: Vec<String> = (0..1000).map(|i| format!("user-{i}")).collect();
    vec![
        json!({"name": "default_on", "enabled": true, "strategies": [{"name": "default"}]}),
        rollout("rollout_20", 20),
        json!({"name": "users_2", "enabled": true, "strategies": [
            {"name": "userWithId", "parameters": {"userIds": "user-1,user-777"}}]}),
        json!({"name": "users_1000", "enabled": true, "strategies": [
            {"name": "userWithId", "parameters": {"userIds": many.join(",")}}]}),
        json!({"name": "constraints_3", "enabled": true, "strategies": [
            {"name": "flexibleRollout", "parameters": {"rollout": "50", "stickiness": "default", "groupId": "c3"},
             "constraints": [
                {"contextName": "environment", "operator": "IN", "values": ["production", "staging"]},
                {"contextName": "appVersion", "operator": "SEMVER_GTE", "value": "2.0.0"},
                {"contextName": "age", "operator": "NUM_GT", "value": "18"}]}]}),
        json!({"name": "variants_3", "enabled": true, "strategies": [{"name": "default"}],
            "variants": [{"name": "a", "weight": 500}, {"name": "b", "weight": 250}, {"name": "c", "weight": 250}]}),
        json!({"name": "strategy_variants", "enabled": true, "strategies": [
            {"name": "flexibleRollout", "parameters": {"rollout": "100", "stickiness": "default", "groupId": "sv"},
             "variants": [{"name": "x", "weight": 500}, {"name": "y", "weight": 500}]}]}),
    ]
}

fn set_json(features: Vec<Value>) -> Value {
    json!({"version": 2, "features": features})
}

struct Engines {
    ours: Snapshot,
    ygg: EngineState,
}

fn engines(doc: &Value) -> Engines {
    let set: FlagSet = serde_json::from_value(doc.clone()).unwrap();
    let ours = Snapshot::compile(&set, Mode::Lenient, "bench").unwrap();
    let ygg = EngineState::initial_state(chrono::Utc::now());
    let features: ClientFeatures = serde_json::from_value(doc.clone()).unwrap();
    let _ = ygg.take_state(UpdateMessage::FullResponse(features));
    Engines { ours, ygg }
}

fn contexts() -> (Context, unleash_yggdrasil::Context) {
    let ours = Context::new()
        .user_id("user-777")
        .session_id("session-1")
        .environment("production")
        .property("appVersion", "2.3.1")
        .property("age", "42");
    let ygg = unleash_yggdrasil::Context {
        user_id: Some("user-777".into()),
        session_id: Some("session-1".into()),
        environment: Some("production".into()),
        properties: Some(HashMap::from([
            ("appVersion".to_string(), "2.3.1".to_string()),
            ("age".to_string(), "42".to_string()),
        ])),
        ..Default::default()
    };
    (ours, ygg)
}

/// Each row: case name, then criterion ids for ours and Yggdrasil.
const CASES: &[&str] = &[
    "default on",
    "20% flexibleRollout",
    "userWithId, 2 ids",
    "userWithId, 1,000 ids",
    "3 constraints + 50% rollout",
    "3 weighted variants",
    "strategy variants",
    "unknown flag",
    "evaluate all 100 flags",
    "one flag among 10",
    "one flag among 1,000",
    "one flag among 100,000",
    "load 1,000 flags",
    "load 100,000 flags",
    "kill one of 100,000 flags",
];

fn bench_eval(c: &mut Criterion) {
    let mut specials = special_flags();
    specials.extend((0..93).map(mixed));
    let e = engines(&set_json(specials));
    let (ctx, yctx) = contexts();
    let y = &None;

    let flag_cases: &[(&str, &str, bool)] = &[
        ("default on", "default_on", false),
        ("20% flexibleRollout", "rollout_20", false),
        ("userWithId, 2 ids", "users_2", false),
        ("userWithId, 1,000 ids", "users_1000", false),
        ("3 constraints + 50% rollout", "constraints_3", false),
        ("3 weighted variants", "variants_3", true),
        ("strategy variants", "strategy_variants", true),
        ("unknown flag", "no_such_flag", false),
    ];
    for &(case, flag, variant) in flag_cases {
        let mut g = c.benchmark_group(case);
        if variant {
            g.bench_function("flags", |b| {
                b.iter(|| black_box(e.ours.variant(black_box(flag), &ctx).name.len()))
            });
            g.bench_function("yggdrasil", |b| {
                b.iter(|| black_box(e.ygg.get_variant(black_box(flag), &yctx, y).name.len()))
            });
        } else {
            g.bench_function("flags", |b| {
                b.iter(|| black_box(e.ours.is_enabled(black_box(flag), &ctx)))
            });
            g.bench_function("yggdrasil", |b| {
                b.iter(|| black_box(e.ygg.is_enabled(black_box(flag), &yctx, y)))
            });
        }
        g.finish();
    }

    let mut g = c.benchmark_group("evaluate all 100 flags");
    g.bench_function("flags", |b| {
        b.iter(|| e.ours.evaluate_all(&ctx).filter(|ev| ev.enabled).count())
    });
    g.bench_function("yggdrasil", |b| {
        b.iter(|| e.ygg.resolve_all(&yctx, y).map(|m| m.len()))
    });
    g.finish();

    for (case, n) in [
        ("one flag among 10", 10),
        ("one flag among 1,000", 1_000),
        ("one flag among 100,000", 100_000),
    ] {
        let mut flags: Vec<Value> = (0..n - 1).map(mixed).collect();
        flags.push(rollout("target", 20));
        let e = engines(&set_json(flags));
        let mut g = c.benchmark_group(case);
        g.bench_function("flags", |b| {
            b.iter(|| black_box(e.ours.is_enabled(black_box("target"), &ctx)))
        });
        g.bench_function("yggdrasil", |b| {
            b.iter(|| black_box(e.ygg.is_enabled(black_box("target"), &yctx, y)))
        });
        g.finish();
    }

    for (case, n) in [("load 1,000 flags", 1_000), ("load 100,000 flags", 100_000)] {
        let doc = set_json((0..n).map(mixed).collect());
        let set: FlagSet = serde_json::from_value(doc.clone()).unwrap();
        let features: ClientFeatures = serde_json::from_value(doc).unwrap();
        let mut g = c.benchmark_group(case);
        if n > 10_000 {
            g.sample_size(10).measurement_time(Duration::from_secs(20));
        }
        g.bench_function("flags", |b| {
            b.iter(|| {
                Snapshot::compile(&set, Mode::Lenient, "bench")
                    .unwrap()
                    .len()
            })
        });
        g.bench_function("yggdrasil", |b| {
            b.iter_batched(
                || {
                    (
                        EngineState::initial_state(chrono::Utc::now()),
                        features.clone(),
                    )
                },
                |(engine, f)| {
                    let _ = engine.take_state(UpdateMessage::FullResponse(f));
                    engine
                },
                BatchSize::PerIteration,
            )
        });
        g.finish();
    }

    // A kill switch flipped on one flag of 100,000.
    let doc = set_json((0..100_000).map(mixed).collect());
    let e = engines(&doc);
    let mut killed: flags_middleware::model::Feature = serde_json::from_value(mixed(4242)).unwrap();
    killed.enabled = false;
    let kill_json = serde_json::to_value(&killed).unwrap();
    let delta: unleash_yggdrasil::ClientFeatures = serde_json::from_value(doc.clone()).unwrap();
    drop(delta);
    let ygg_delta: unleash_types::client_features::ClientFeaturesDelta =
        serde_json::from_value(json!({
            "events": [{"eventId": 1, "type": "feature-updated", "feature": kill_json}]
        }))
        .unwrap();
    let mut g = c.benchmark_group("kill one of 100,000 flags");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("flags", |b| {
        b.iter(|| {
            e.ours
                .apply(&[Change::Upsert(killed.clone())], Mode::Lenient, "bench")
                .unwrap()
                .len()
        })
    });
    g.bench_function("yggdrasil", |b| b.iter(|| e.ygg.apply_delta(&ygg_delta)));
    g.finish();
}

/// Live heap bytes each engine keeps after loading `n` mixed flags.
fn retained_bytes(n: usize) -> (isize, isize) {
    let doc = set_json((0..n).map(mixed).collect());
    let set: FlagSet = serde_json::from_value(doc.clone()).unwrap();
    let features: ClientFeatures = serde_json::from_value(doc).unwrap();
    let (ours, ours_bytes) = retained(|| Snapshot::compile(&set, Mode::Lenient, "bench").unwrap());
    drop(ours);
    let (engine, ygg_bytes) = retained(|| {
        let engine = EngineState::initial_state(chrono::Utc::now());
        let _ = engine.take_state(UpdateMessage::FullResponse(features));
        engine
    });
    drop(engine);
    (ours_bytes, ygg_bytes)
}

fn estimate_ns(group: &str, id: &str) -> Option<f64> {
    let dir = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").to_string());
    let path = format!("{dir}/criterion/{group}/{id}/new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    v["median"]["point_estimate"].as_f64()
}

fn human(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

fn print_table() {
    println!("\n| case | flags | yggdrasil | yggdrasil / flags |");
    println!("|---|---:|---:|---:|");
    for case in CASES {
        let group = case.replace([',', '%', '/'], "_");
        let ours = estimate_ns(&group, "flags").or_else(|| estimate_ns(case, "flags"));
        let ygg = estimate_ns(&group, "yggdrasil").or_else(|| estimate_ns(case, "yggdrasil"));
        match (ours, ygg) {
            (Some(o), Some(y)) => {
                println!("| {case} | {} | {} | {:.1}× |", human(o), human(y), y / o)
            }
            _ => println!("| {case} | (not run) | (not run) | |"),
        }
    }
    let (ours, ygg) = retained_bytes(100_000);
    println!(
        "| memory after loading 100,000 flags | {:.1} MiB | {:.1} MiB | {:.1}× |",
        ours as f64 / 1048576.0,
        ygg as f64 / 1048576.0,
        ygg as f64 / ours as f64
    );
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench_eval(&mut c);
    c.final_summary();
    print_table();
}
