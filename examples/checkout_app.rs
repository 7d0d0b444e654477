//! The seed's product service: a checkout rolled out to a share of users, AI
//! recommendations for two named users, beta-only search, a legacy API behind
//! a kill switch, and a checkout-button A/B test.

use std::sync::Arc;

use axum::extract::{Path, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use flags_middleware::admin::AdminConfig;
use flags_middleware::client_api::ClientApiConfig;
use flags_middleware::export::Prometheus;
use flags_middleware::frontend::FrontendConfig;
use flags_middleware::{feature_gated, Context, FlagContext, Flags, FlagsLayer};
use serde_json::{json, Value};

use crate::sdk_tokens::SdkTokens;

/// The app's own user type, as its authentication would produce it.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// The user's id.
    pub id: Arc<str>,
    /// Whether the user joined the beta programme.
    pub beta: bool,
}

impl CurrentUser {
    /// What the flags need to know about the user.
    pub fn flag_context(&self) -> Context {
        Context::new()
            .user_id(self.id.clone())
            .property("beta", if self.beta { "true" } else { "false" })
    }
}

/// A stand-in for real authentication: the user comes from `x-user-id`
/// (and `x-beta: true` for beta users). Without the header the visitor is
/// anonymous; the flags layer gives them a sticky session cookie.
async fn authenticate(mut req: Request, next: Next) -> Response {
    let headers = req.headers();
    let id = headers.get("x-user-id").and_then(|v| v.to_str().ok());
    let beta = headers
        .get("x-beta")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if let Some(id) = id.filter(|id| !id.is_empty()) {
        let user = CurrentUser {
            id: id.into(),
            beta,
        };
        req.extensions_mut().insert(user);
    }
    next.run(req).await
}

/// The whole service: API routes, the admin API under `/admin/flags`, the
/// flags layer resolving the current user, and the authentication in front;
/// the SDK APIs with the demo tokens (see [`app_with_sdk_apis`]), which
/// answer the demo admin token 403 (a token of the wrong kind).
pub fn app(flags: Flags, admin: AdminConfig) -> Router {
    app_with_sdk_apis(
        flags,
        admin,
        Some(crate::settings::DEMO_TOKEN),
        &SdkTokens::demo(),
    )
}

/// [`app`], with Unleash's Frontend API at `/api/frontend` (browsers: behind
/// the flags layer and the authentication, so a browser sees the user the
/// server sees) and client API at `/api/client` (server SDKs of other
/// services), each with its token from `sdk`. `admin_token`, when given, is
/// answered 403 by both, as Unleash answers a token of the wrong kind.
pub fn app_with_sdk_apis(
    flags: Flags,
    admin: AdminConfig,
    admin_token: Option<&str>,
    sdk: &SdkTokens,
) -> Router {
    let admin_token = admin_token.map(str::to_owned);
    let frontend = FrontendConfig::new([sdk.frontend.clone()])
        .other_tokens(
            [Some(sdk.client.clone()), admin_token.clone()]
                .into_iter()
                .flatten(),
        )
        // The demo's stand-in authentication headers, sent by the browser SDK
        // as `customHeaders`.
        .cors_allow_headers(["x-user-id", "x-beta"]);
    let client = ClientApiConfig::new([sdk.client.clone()]).other_tokens(
        [Some(sdk.frontend.clone()), admin_token]
            .into_iter()
            .flatten(),
    );
    // A scraper's endpoint, open like the demo's admin token is known: in
    // production serve it on an internal listener, or scrape the admin
    // API's `/_metrics` with a read token (see the README).
    let metrics = Prometheus::new(&flags).maybe_guard(admin.attached_guard().cloned());
    Router::new()
        .nest_service("/api/frontend", flags.frontend_router(frontend))
        .nest_service("/api/client", flags.client_router(client))
        .route("/api/v1/products/{id}", get(get_product))
        .route("/api/v1/recommendations", get(recommendations))
        .route("/api/v1/search", get(search))
        .route("/api/v0/products/{id}", get(legacy_api))
        .route("/api/v1/checkout/button", get(checkout_button))
        // `nest_service`, not `nest`: it serves the admin root at both
        // `/admin/flags` and `/admin/flags/`.
        .nest_service("/admin/flags", flags.admin_router(admin))
        .merge(metrics.router())
        .layer(FlagsLayer::new(flags).user(CurrentUser::flag_context))
        .layer(middleware::from_fn(authenticate))
}

/// The new checkout, for the users `new_checkout_flow` selects.
#[feature_gated("new_checkout_flow", fallback = get_product_legacy)]
async fn get_product(Path(id): Path<String>) -> Json<Value> {
    Json(json!({ "data": { "product": { "id": id }, "checkout": "new" } }))
}

/// The checkout everyone else (and everyone, once the flag is killed) gets.
async fn get_product_legacy(Path(id): Path<String>) -> Json<Value> {
    Json(json!({ "data": { "product": { "id": id }, "checkout": "legacy" } }))
}

/// The extractor, for a decision inside a handler.
async fn recommendations(flags: FlagContext) -> Json<Value> {
    let kind = if flags.is_enabled("ai_recommendations") {
        "ai"
    } else {
        "legacy"
    };
    Json(json!({ "recommendations": kind }))
}

async fn search(flags: FlagContext) -> Json<Value> {
    let engine = if flags.is_enabled("beta_search") {
        "v2"
    } else {
        "v1"
    };
    Json(json!({ "search": engine }))
}

/// The old API answers only while its kill switch is on.
async fn legacy_api(flags: FlagContext, Path(id): Path<String>) -> Response {
    if flags.is_enabled("legacy_api") {
        Json(json!({ "product": id, "api": "v0" })).into_response()
    } else {
        (StatusCode::NOT_FOUND, "the v0 API is switched off").into_response()
    }
}

/// The A/B test: each arm has its own handler; `control` (and everyone, if
/// the experiment is killed) gets the fallback.
#[feature_gated("checkout_experiment", variants(blue = button_blue, green = button_green), fallback = button_control)]
async fn checkout_button() -> Json<Value> {
    Json(json!({ "button": "control" }))
}

async fn button_blue() -> Json<Value> {
    Json(json!({ "button": "blue" }))
}

async fn button_green() -> Json<Value> {
    Json(json!({ "button": "green" }))
}

async fn button_control() -> Json<Value> {
    Json(json!({ "button": "control" }))
}
