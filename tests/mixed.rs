//! The benchmark's mixed flag set: one flag of each common shape in turn,
//! shared by the bench and the memory test so that they measure the same.

use serde_json::{json, Value};

/// A sticky `pct`% rollout named `name`, grouped by its name.
pub fn rollout(name: &str, pct: u32) -> Value {
    json!({"name": name, "enabled": true, "strategies": [
        {"name": "flexibleRollout", "parameters": {"rollout": pct.to_string(), "stickiness": "default", "groupId": name}}]})
}

/// Flag `i` of the mixed set: on for everyone, a rollout, a user list, a
/// constrained rollout, or two variants; names and numbers vary with `i`.
pub fn mixed(i: usize) -> Value {
    let name = format!("flag-{i}");
    match i % 5 {
        0 => json!({"name": name, "enabled": true, "strategies": [{"name": "default"}]}),
        1 => rollout(&name, (i % 100) as u32),
        2 => json!({"name": name, "enabled": true, "strategies": [
            {"name": "userWithId", "parameters": {"userIds": "user-1,user-2,user-3"}}]}),
        3 => json!({"name": name, "enabled": true, "strategies": [
            {"name": "flexibleRollout", "parameters": {"rollout": "50", "stickiness": "default", "groupId": name},
             "constraints": [{"contextName": "environment", "operator": "IN", "values": ["production"]}]}]}),
        _ => json!({"name": name, "enabled": true, "strategies": [{"name": "default"}],
            "variants": [{"name": "a", "weight": 500}, {"name": "b", "weight": 500}]}),
    }
}

/// The first `n` flags of the mixed set, as client-API JSON.
pub fn mixed_json(n: usize) -> Value {
    json!({"features": (0..n).map(mixed).collect::<Vec<_>>()})
}
