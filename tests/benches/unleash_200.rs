//! What a 200 from Unleash's client API costs the app: 1,000 flags in
//! Unleash's JSON, parsed, compiled and swapped in, side by side with
//! Unleash's own engine (Yggdrasil: parse, then `take_state`) on the same
//! bytes, in one run. Each iteration gets a body with a real change (the
//! first flag flips on and off), as a poll that answers 200 does.
//!
//! Run: `cargo bench -p flags-tests --bench unleash_200` (add `-- --quick`
//! for a fast pass).

use std::hint::black_box;

use criterion::Criterion;
use flags_middleware::model::FlagSet;
use flags_middleware::testing::swap_unpersisted;
use flags_middleware::Flags;
use flags_tests::mixed::mixed_json;
use serde_json::Value;
use unleash_yggdrasil::{ClientFeatures, EngineState, UpdateMessage};

/// Two bodies of `n` flags that differ in the first flag's `enabled`,
/// with segments referred to by id, as Unleash sends them.
fn bodies(n: usize) -> [String; 2] {
    let mut doc = mixed_json(n);
    doc["version"] = Value::from(2);
    doc["segments"] = serde_json::json!([{"id": 1, "constraints": [
        {"contextName": "userId", "operator": "STR_STARTS_WITH", "values": ["user-1"]}]}]);
    for (i, f) in doc["features"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .enumerate()
    {
        if i % 7 == 0 {
            f["strategies"][0]["segments"] = serde_json::json!([1]);
        }
    }
    let on = doc.to_string();
    doc["features"][0]["enabled"] = Value::from(false);
    [on, doc.to_string()]
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let n = 1000;
    let bodies = bodies(n);
    let mut g = c.benchmark_group("a 200 with 1,000 flags");

    let flags = Flags::from_unleash_json(&bodies[0]).unwrap();
    let mut turn = 0usize;
    g.bench_function("flags: parse + compile + swap", |b| {
        b.iter(|| {
            turn += 1;
            let set = FlagSet::from_unleash_json(black_box(&bodies[turn % 2])).unwrap();
            swap_unpersisted(&flags, &set).unwrap()
        })
    });

    // Where the time goes: the parse alone.
    g.bench_function("flags: parse only", |b| {
        b.iter(|| {
            FlagSet::from_unleash_json(black_box(&bodies[0]))
                .unwrap()
                .features
                .len()
        })
    });

    let engine = EngineState::initial_state(chrono::Utc::now());
    let mut turn = 0usize;
    g.bench_function("yggdrasil: parse + take_state", |b| {
        b.iter(|| {
            turn += 1;
            let features: ClientFeatures =
                serde_json::from_str(black_box(&bodies[turn % 2])).unwrap();
            let _ = engine.take_state(UpdateMessage::FullResponse(features));
        })
    });
    g.finish();
    c.final_summary();
}
