//! The seed's three flags, a handler asking them, the same handler with
//! the answers written in, and the layer both layer benches put around it.

use std::hint::black_box;

use flags_middleware::layer::DecisionLog;
use flags_middleware::{FlagContext, Flags, FlagsLayer};

pub(crate) const SEED: &str = r#"{"features": [
  {"name": "new_checkout_flow", "enabled": true, "strategies": [
    {"name": "flexibleRollout", "parameters": {"rollout": "20", "stickiness": "default", "groupId": "new_checkout_flow"}}]},
  {"name": "ai_recommendations", "enabled": true, "strategies": [
    {"name": "userWithId", "parameters": {"userIds": "user_123, user_456"}}]},
  {"name": "beta_search", "enabled": true, "strategies": [
    {"name": "default", "constraints": [{"contextName": "beta", "operator": "IN", "values": ["true"]}]}]}
]}"#;

/// Asks the seed's three flags.
pub(crate) async fn with_flags(flags: FlagContext) -> &'static str {
    match (
        flags.is_enabled("new_checkout_flow"),
        flags.is_enabled("ai_recommendations"),
        flags.is_enabled("beta_search"),
    ) {
        (true, true, true) => "all",
        (false, false, false) => "none",
        _ => "some",
    }
}

/// The same answer with no flags: the bare router's handler.
pub(crate) async fn hard_coded() -> &'static str {
    match (black_box(true), black_box(false), black_box(false)) {
        (true, true, true) => "all",
        (false, false, false) => "none",
        _ => "some",
    }
}

/// The layer under test, the user taken from `x-user-id`.
pub(crate) fn flags_layer(log: DecisionLog) -> FlagsLayer {
    FlagsLayer::new(Flags::from_unleash_json(SEED).expect("seed flags"))
        .user_header("x-user-id")
        .expect("valid header name")
        .decision_log(log)
}
