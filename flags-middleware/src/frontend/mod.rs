//! Unleash's Frontend API, served by the app: the browser SDK
//! (`unleash-proxy-client`) and the mobile SDKs ask it which flags are on
//! for their user, and get the same answers as the app's own handlers.
//!
//! ```
//! use axum::Router;
//! use flags_middleware::{frontend::FrontendConfig, Flags, FlagsLayer};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let flags = Flags::from_toml_str("[new_checkout_flow]\nrollout = 20\n", "flags.toml").unwrap();
//! let app: Router = Router::new()
//!     .nest_service("/api/frontend", flags.frontend_router(FrontendConfig::new(["a-frontend-token"])))
//!     // The app's own resolver: behind it, the browser sees the user the server sees.
//!     .layer(FlagsLayer::new(flags.clone()).user_header("x-user-id")?);
//! # let _ = app;
//! # Ok(()) }
//! ```
//!
//! # Endpoints
//!
//! Paths are relative to where the router is nested (`/api/frontend` in
//! the example app, which is where Unleash serves it).
//!
//! | method and path | does |
//! |---|---|
//! | `GET /?userId=..&properties[plan]=pro` | the flags that are on for that context: `{"toggles": [{"name", "enabled": true, "variant": {"name", "enabled", "payload"?, "feature_enabled", "featureEnabled"}, "impressionData"}]}` |
//! | `POST /` | the same, for `{"context": {..}}` |
//! | `POST /client/metrics` | the SDK's report (`bucket.toggles`: `yes`, `no`, `variants`), added to [`Flags::client_exposures`](crate::Flags::client_exposures) |
//! | `POST /client/register` | accepted, nothing kept |
//!
//! Answers carry `Cache-Control: no-cache` and a weak `ETag` (a hash of
//! the flag definitions and the caller's answers, so a 304 is decided
//! without writing the body); a request whose `If-None-Match` names it gets **304**.
//! Flags that are off are left out; a flag without variants has the
//! `disabled` variant, as Unleash answers.
//!
//! Every request needs a frontend token in `authorization` (raw, as the
//! SDK sends it, or after `Bearer `): **401** without one or with an
//! unknown one, **403** with a token of another kind named in
//! [`FrontendConfig::other_tokens`] (an admin token, a client-API token).
//! A frontend token reads answers only: it cannot see definitions or
//! change anything.
//!
//! # Who is asking
//!
//! The client's context is narrowed to the fields it may supply
//! ([`FrontendConfig::client_fields`]; by default its user id, session id
//! and app name, never properties, the remote address, the environment or
//! the time). When the router sits behind [`FlagsLayer`](crate::FlagsLayer),
//! what the app's own resolver found wins over the client's claims: the
//! user id, every property, the remote address and the environment. A
//! browser cannot put itself in a beta by sending `properties[beta]=true`
//! when the server knows the user. Without the layer, the remote address is
//! the connection's peer (serve with `into_make_service_with_connect_info`).
//!
//! # CORS
//!
//! Any origin may call by default (`Access-Control-Allow-Origin: *`);
//! [`FrontendConfig::cors_origins`] narrows it. Preflights allow the SDK's
//! headers and `ETag` is exposed.
//!
//! # Events
//!
//! Every decision emits a `flags::decision` event at `INFO`, with the
//! fields of the layer's (less `http.request.method`, `feature_flag.forced`
//! and `error.type`) and `feature_flag.served_to = "client"`.

mod config;
mod context;
mod cors;
mod events;
mod toggles;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG};
use http::{HeaderValue, Method, StatusCode};
use serde_json::Value;

pub use config::FrontendConfig;

use crate::sdk::body::{bad_request, read_bytes};
use crate::sdk::{etag, report};
use crate::{FlagContext, Flags};
use context::Claims;
use toggles::CatalogCache;

#[derive(Clone)]
struct Frontend {
    flags: Flags,
    config: Arc<FrontendConfig>,
    catalog: Arc<CatalogCache>,
}

impl Flags {
    /// Unleash's Frontend API for these flags, to nest where the app likes
    /// (`/api/frontend` is where Unleash serves it); see
    /// [`crate::frontend`].
    ///
    /// ```
    /// use axum::{body::{to_bytes, Body}, http::Request, Router};
    /// use flags_middleware::{frontend::FrontendConfig, Flags};
    /// use tower::ServiceExt as _;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\nusers = [\"user_123\"]\n", "flags.toml").unwrap();
    /// let app: Router = Router::new()
    ///     .nest_service("/api/frontend", flags.frontend_router(FrontendConfig::new(["a-frontend-token"])));
    /// // What the browser SDK asks for its user:
    /// let request = Request::get("/api/frontend?userId=user_123").header("authorization", "a-frontend-token");
    /// let res = app.oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    /// assert_eq!(res.status(), 200);
    /// let body: serde_json::Value = serde_json::from_slice(&to_bytes(res.into_body(), 4096).await.unwrap()).unwrap();
    /// assert_eq!(body["toggles"][0]["name"], "new_checkout_flow");
    /// assert_eq!(body["toggles"][0]["enabled"], true);
    /// # }
    /// ```
    pub fn frontend_router<S>(&self, config: FrontendConfig) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        if config.tokens.accepted.is_empty() {
            tracing::error!(
                target: "flags::frontend",
                "the Frontend API has no tokens configured: every request will be refused"
            );
        }
        let config = Arc::new(config);
        let state = Frontend {
            flags: self.clone(),
            config: Arc::clone(&config),
            catalog: Arc::default(),
        };
        Router::new()
            .route("/", get(get_toggles).post(post_toggles).options(no_content))
            .route("/client/metrics", post(metrics).options(no_content))
            .route("/client/register", post(register).options(no_content))
            .layer(from_fn_with_state(state.clone(), auth))
            .layer(from_fn_with_state(config, cors::cors))
            .with_state(state)
    }
}

async fn no_content() -> StatusCode {
    StatusCode::NO_CONTENT
}

async fn auth(State(s): State<Frontend>, req: Request, next: Next) -> Response {
    if req.method() == Method::OPTIONS {
        return next.run(req).await;
    }
    match s.config.tokens.check(req.headers(), "frontend") {
        Ok(()) => next.run(req).await,
        Err(refusal) => refusal.into_response(),
    }
}

async fn get_toggles(
    State(s): State<Frontend>,
    layer: Option<FlagContext>,
    req: Request,
) -> Response {
    let claims = Claims::from_query(req.uri().query().unwrap_or(""));
    answer(&s, &claims, layer.as_ref(), &req)
}

async fn post_toggles(
    State(s): State<Frontend>,
    layer: Option<FlagContext>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let body = match read_json(body).await {
        Ok(v) => v,
        Err(res) => return res,
    };
    let claims = Claims::from_json(body.get("context").unwrap_or(&Value::Null));
    answer(
        &s,
        &claims,
        layer.as_ref(),
        &Request::from_parts(parts, Body::empty()),
    )
}

/// Evaluates every flag for the effective context and answers, or 304.
fn answer(s: &Frontend, claims: &Claims, layer: Option<&FlagContext>, req: &Request) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip());
    let ctx = context::effective(claims, &s.config.fields, layer, peer);
    // Behind the layer, the request's pinned version, as its handlers see.
    let snapshot = match layer {
        Some(l) => Arc::clone(l.snapshot()),
        None => s.flags.snapshot(),
    };
    let catalog = s.catalog.get(&snapshot);
    let log = events::wanted();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| req.uri().path(), MatchedPath::as_str);
    let answer = toggles::answer(&snapshot, &catalog, &ctx, |eval| {
        if log {
            events::decision(eval, &ctx, &s.config.ids, route);
        }
    });
    let tag = answer.etag().to_owned();
    let tag_value = HeaderValue::from_str(&tag).unwrap_or(HeaderValue::from_static("W/\"0\""));
    let no_cache = HeaderValue::from_static("no-cache");
    if etag::matches(req.headers(), &tag) {
        return (
            StatusCode::NOT_MODIFIED,
            [(ETAG, tag_value), (CACHE_CONTROL, no_cache)],
        )
            .into_response();
    }
    (
        StatusCode::OK,
        [
            (CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (ETAG, tag_value),
            (CACHE_CONTROL, no_cache),
        ],
        answer.body(),
    )
        .into_response()
}

async fn metrics(State(s): State<Frontend>, body: Body) -> Response {
    let bytes = match read_bytes(body).await {
        Ok(b) => b,
        Err(res) => return res,
    };
    match report::count(&bytes, s.flags.client_exposures()) {
        Ok(_) => StatusCode::OK.into_response(),
        Err(message) => bad_request(message),
    }
}

async fn register(body: Body) -> Response {
    match read_bytes(body).await {
        Ok(_) => StatusCode::OK.into_response(),
        Err(res) => res,
    }
}

async fn read_json(body: Body) -> Result<Value, Response> {
    let bytes = read_bytes(body).await?;
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| bad_request(format!("body: {e} (expected {{\"context\": {{..}}}})")))
}
