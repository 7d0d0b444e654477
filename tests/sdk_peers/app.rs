//! The app the SDKs talk to: flags shaped like a real service's, the app's
//! own resolver (from headers, standing in for its authentication), a
//! handler reporting the app's own decisions through the layer, the
//! Frontend API, the client API and the admin API.

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use flags_middleware::admin::{AdminConfig, Role};
use flags_middleware::client_api::ClientApiConfig;
use flags_middleware::frontend::FrontendConfig;
use flags_middleware::{Context, FlagContext, Flags, FlagsLayer};
use serde_json::{json, Map, Value};

pub const FRONTEND: &str = "test-frontend-token";
pub const CLIENT: &str = "test-client-token";
pub const ADMIN: &str = "test-admin-token-0123456789";

/// Every flag the drivers ask about.
pub const FLAGS: [&str; 10] = [
    "new_checkout_flow",
    "ai_recommendations",
    "beta_search",
    "legacy_api",
    "checkout_experiment",
    "always_on",
    "internal_tools",
    "country_launch",
    "needs_always_on",
    "pricing",
];

/// Percentages, user lists, properties, a segment, variants with payloads,
/// a dependency, a kill switch.
pub const UNLEASH_JSON: &str = r##"{"version": 2, "features": [
  {"name": "new_checkout_flow", "enabled": true, "strategies": [
    {"name": "flexibleRollout", "parameters": {"rollout": "20", "stickiness": "default", "groupId": "new_checkout_flow"}}]},
  {"name": "ai_recommendations", "enabled": true, "strategies": [
    {"name": "default", "constraints": [{"contextName": "userId", "operator": "IN", "values": ["user_123", "user_456", "user_9"]}]}]},
  {"name": "beta_search", "enabled": true, "strategies": [
    {"name": "default", "constraints": [{"contextName": "beta", "operator": "IN", "values": ["true"]}]}]},
  {"name": "legacy_api", "enabled": false, "strategies": [{"name": "default"}]},
  {"name": "checkout_experiment", "enabled": true, "impressionData": true, "strategies": [
    {"name": "flexibleRollout", "parameters": {"rollout": "60", "stickiness": "default", "groupId": "exp"}}],
   "variants": [
    {"name": "blue", "weight": 500, "stickiness": "default", "payload": {"type": "json", "value": "{\"color\":\"#00f\"}"}},
    {"name": "green", "weight": 500, "stickiness": "default", "payload": {"type": "string", "value": "green"}}]},
  {"name": "always_on", "enabled": true, "strategies": [{"name": "default"}]},
  {"name": "internal_tools", "enabled": true, "strategies": [{"name": "default", "segments": [1]}]},
  {"name": "country_launch", "enabled": true, "strategies": [
    {"name": "flexibleRollout", "parameters": {"rollout": "50", "stickiness": "default", "groupId": "launch"},
     "constraints": [{"contextName": "country", "operator": "IN", "values": ["NO", "SE"]}]}]},
  {"name": "needs_always_on", "enabled": true, "strategies": [{"name": "default"}],
   "dependencies": [{"feature": "always_on"}]},
  {"name": "pricing", "enabled": true, "strategies": [
    {"name": "flexibleRollout", "parameters": {"rollout": "100", "stickiness": "default", "groupId": "pricing"},
     "variants": [
      {"name": "cheap", "weight": 300, "stickiness": "default", "payload": {"type": "number", "value": "9"}},
      {"name": "dear", "weight": 700, "stickiness": "default", "payload": {"type": "csv", "value": "a,b"}}]}]}
], "segments": [
  {"id": 1, "name": "internal", "constraints": [{"contextName": "email", "operator": "STR_ENDS_WITH", "values": ["@acme.com"]}]}
] }"##;

pub fn flags() -> Flags {
    Flags::from_unleash_json(UNLEASH_JSON).expect("test flags")
}

/// What the app's authentication found, from headers (a stand-in).
#[derive(Clone)]
struct Caller(Context);

async fn authenticate(mut req: Request, next: Next) -> Response {
    let h = req.headers();
    let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    if let Some(id) = get("x-user-id") {
        let mut ctx = Context::new().user_id(id);
        let beta = get("x-beta").is_some_and(|v| v == "true");
        ctx = ctx.property("beta", if beta { "true" } else { "false" });
        for (header, property) in [("x-email", "email"), ("x-country", "country")] {
            if let Some(v) = get(header) {
                ctx = ctx.property(property, v);
            }
        }
        req.extensions_mut().insert(Caller(ctx));
    }
    next.run(req).await
}

/// The app's own decisions for the caller, through the layer.
async fn decide(flags: FlagContext) -> Json<Value> {
    let mut out = Map::new();
    for name in FLAGS {
        let v = flags.variant(name);
        out.insert(
            name.to_owned(),
            json!({
                "enabled": flags.is_enabled(name),
                "variant": {"name": v.name, "enabled": v.enabled, "payload": v.payload},
            }),
        );
    }
    Json(Value::Object(out))
}

pub fn router(flags: &Flags) -> Router {
    let frontend = FrontendConfig::new([FRONTEND])
        .other_tokens([ADMIN, CLIENT])
        .cors_allow_headers(["x-user-id", "x-beta", "x-email", "x-country"]);
    let strict = FrontendConfig::new([FRONTEND]).cors_origins(["http://nowhere.invalid"]);
    Router::new()
        .route("/decide", get(decide))
        .nest_service("/api/frontend", flags.frontend_router(frontend))
        .nest_service("/api/frontend-strict", flags.frontend_router(strict))
        .nest_service(
            "/api/client",
            flags.client_router(ClientApiConfig::new([CLIENT]).other_tokens([ADMIN, FRONTEND])),
        )
        .nest_service(
            "/admin/flags",
            flags.admin_router(AdminConfig::new().token("ops", ADMIN, Role::Write)),
        )
        .layer(FlagsLayer::new(flags.clone()).user(|c: &Caller| c.0.clone()))
        .layer(middleware::from_fn(authenticate))
}

pub use crate::loopback::serve;
