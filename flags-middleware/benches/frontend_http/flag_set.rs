//! The 100 mixed flags both servers answer with, as Unleash client-API JSON:
//! our `Flags` load it, and it is Edge's bootstrap file as it is, so both
//! evaluate the very same definitions.

/// 100 flags: rollouts, user lists, property constraints, variants, kills.
pub(crate) fn unleash_json() -> String {
    let mut features = Vec::new();
    for i in 0..100 {
        let f = match i % 5 {
            0 => format!(
                r#"{{"name": "rollout_{i}", "enabled": true, "strategies": [{{"name": "flexibleRollout",
                   "parameters": {{"rollout": "{}", "stickiness": "default", "groupId": "rollout_{i}"}}}}]}}"#,
                (i * 7) % 100
            ),
            1 => format!(
                r#"{{"name": "users_{i}", "enabled": true, "strategies": [{{"name": "default",
                   "constraints": [{{"contextName": "userId", "operator": "IN", "values": ["u1", "u2", "u{i}"]}}]}}]}}"#
            ),
            2 => format!(
                r#"{{"name": "plan_{i}", "enabled": true, "strategies": [{{"name": "default",
                   "constraints": [{{"contextName": "plan", "operator": "IN", "values": ["pro"]}}]}}]}}"#
            ),
            3 => format!(
                r#"{{"name": "exp_{i}", "enabled": true, "strategies": [{{"name": "flexibleRollout",
                   "parameters": {{"rollout": "50", "stickiness": "default", "groupId": "exp_{i}"}}}}],
                   "variants": [{{"name": "a", "weight": 500, "payload": {{"type": "string", "value": "A"}}}},
                                {{"name": "b", "weight": 500}}]}}"#
            ),
            _ => format!(
                r#"{{"name": "killed_{i}", "enabled": false, "strategies": [{{"name": "default"}}]}}"#
            ),
        };
        features.push(f);
    }
    format!(r#"{{"version": 2, "features": [{}]}}"#, features.join(","))
}
