//! Unleash's client API, served by the app: Unleash's server SDKs (Node,
//! Python, Java, Go...) in the services next to this one poll it for the
//! flag definitions and evaluate them themselves, with the same answers.
//!
//! ```
//! use axum::Router;
//! use flags_middleware::{client_api::ClientApiConfig, Flags};
//!
//! let flags = Flags::from_toml_str("[new_checkout_flow]\nrollout = 20\n", "flags.toml").unwrap();
//! let app: Router = Router::new()
//!     .nest_service("/api/client", flags.client_router(ClientApiConfig::new(["a-client-token"])));
//! // An SDK is pointed at `http://host:port/api/` with the token in `Authorization`.
//! # let _ = app;
//! ```
//!
//! # Endpoints
//!
//! Paths are relative to where the router is nested (`/api/client`, where
//! Unleash serves it and where the SDKs look, under the URL they are given).
//!
//! | method and path | does |
//! |---|---|
//! | `GET /features` | `{"version": 2, "features": [..], "segments": [..], "meta": {..}}`: the app's own flags, as an Unleash server sends them |
//! | `POST /register` | **202**, nothing kept |
//! | `POST /metrics` | **202**; the report's `bucket.toggles` are added to [`Flags::client_exposures`](crate::Flags::client_exposures) |
//!
//! `segments` is sent only to SDKs that announce `Unleash-Client-Spec`
//! 4.2.0 or newer; older ones get each segment's constraints inlined into
//! the strategies that use it. What only this project knows (the rollout
//! guard's `guard` and `plan`) is left out. Answers carry a weak `ETag` (a
//! hash of the definitions, not of `meta`), and a poll naming it in `If-None-Match` gets **304**:
//! the definitions are serialized once per flag-set version, so an idle
//! poll costs a hash comparison. A change through the admin API (or the
//! file, or PostgreSQL) reaches the SDKs on their next poll.
//!
//! Every request needs a client token in `authorization` (raw or after
//! `Bearer `): **401** without or with an unknown one, **403** with a
//! token of another kind named in [`ClientApiConfig::other_tokens`].

mod features;

use std::fmt;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use http::{Method, StatusCode};

use crate::sdk::body::{bad_request, read_bytes};
use crate::sdk::report;
use crate::sdk::tokens::Tokens;
use crate::Flags;

/// How the [client API](crate::client_api) is served; give it to
/// [`Flags::client_router`].
///
/// ```
/// use flags_middleware::client_api::ClientApiConfig;
///
/// let config = ClientApiConfig::new(["a-client-token"]).other_tokens(["a-frontend-token"]);
/// # let _ = config;
/// ```
#[derive(Clone)]
pub struct ClientApiConfig {
    tokens: Tokens,
}

impl ClientApiConfig {
    /// Accepts requests bearing one of `tokens` (client tokens: they read
    /// the flag definitions, and cannot change them).
    ///
    /// ```
    /// # use axum::{body::Body, http::Request, Router};
    /// # use tower::ServiceExt as _;
    /// use flags_middleware::{client_api::ClientApiConfig, Flags};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
    /// let api: Router = flags.client_router(ClientApiConfig::new(["a-client-token"]));
    /// let poll = |token| Request::get("/features").header("authorization", token).body(Body::empty()).unwrap();
    /// assert_eq!(api.clone().oneshot(poll("a-client-token")).await.unwrap().status(), 200);
    /// assert_eq!(api.oneshot(poll("a-guess")).await.unwrap().status(), 401);
    /// # }
    /// ```
    pub fn new<I, S>(tokens: I) -> ClientApiConfig
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ClientApiConfig {
            tokens: Tokens::accepting(tokens),
        }
    }

    /// Tokens of other kinds (admin, frontend): answered 403, not 401.
    ///
    /// ```
    /// # use axum::{body::Body, http::Request, Router};
    /// # use tower::ServiceExt as _;
    /// use flags_middleware::{client_api::ClientApiConfig, Flags};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
    /// let config = ClientApiConfig::new(["a-client-token"]).other_tokens(["a-frontend-token"]);
    /// let api: Router = flags.client_router(config);
    /// let poll = |token| Request::get("/features").header("authorization", token).body(Body::empty()).unwrap();
    /// // A frontend token may not read definitions: 403 says it is the wrong kind.
    /// assert_eq!(api.clone().oneshot(poll("a-frontend-token")).await.unwrap().status(), 403);
    /// assert_eq!(api.oneshot(poll("a-guess")).await.unwrap().status(), 401);
    /// # }
    /// ```
    #[must_use]
    pub fn other_tokens<I, S>(mut self, tokens: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tokens.add_other_kinds(tokens);
        self
    }
}

/// Never shows a token.
impl fmt::Debug for ClientApiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientApiConfig")
            .field("tokens", &self.tokens)
            .finish()
    }
}

#[derive(Clone)]
struct ClientApi {
    flags: Flags,
    config: Arc<ClientApiConfig>,
    bodies: Arc<features::BodyCache>,
}

impl Flags {
    /// Unleash's client API for these flags, to nest at `/api/client`
    /// (where Unleash's server SDKs look); see [`crate::client_api`].
    ///
    /// ```
    /// use axum::{body::{to_bytes, Body}, http::Request, Router};
    /// use flags_middleware::{client_api::ClientApiConfig, Flags};
    /// use tower::ServiceExt as _;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\nrollout = 20\n", "flags.toml").unwrap();
    /// let app: Router = Router::new()
    ///     .nest_service("/api/client", flags.client_router(ClientApiConfig::new(["a-client-token"])));
    /// // What a Node or Go service's Unleash SDK polls:
    /// let request = Request::get("/api/client/features").header("authorization", "a-client-token");
    /// let res = app.oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    /// assert_eq!(res.status(), 200);
    /// let body: serde_json::Value = serde_json::from_slice(&to_bytes(res.into_body(), 8192).await.unwrap()).unwrap();
    /// assert_eq!(body["features"][0]["name"], "new_checkout_flow");
    /// assert_eq!(body["features"][0]["strategies"][0]["parameters"]["rollout"], "20");
    /// # }
    /// ```
    pub fn client_router<S>(&self, config: ClientApiConfig) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        if config.tokens.accepted.is_empty() {
            tracing::error!(
                target: "flags::client_api",
                "the client API has no tokens configured: every request will be refused"
            );
        }
        let state = ClientApi {
            flags: self.clone(),
            config: Arc::new(config),
            bodies: Arc::default(),
        };
        Router::new()
            .route("/features", get(features::features))
            .route("/register", post(register))
            .route("/metrics", post(metrics))
            .layer(from_fn_with_state(state.clone(), auth))
            .with_state(state)
    }
}

async fn auth(State(s): State<ClientApi>, req: Request, next: Next) -> Response {
    if req.method() == Method::OPTIONS {
        return next.run(req).await;
    }
    match s.config.tokens.check(req.headers(), "client") {
        Ok(()) => next.run(req).await,
        Err(refusal) => refusal.into_response(),
    }
}

async fn register(body: Body) -> Response {
    match read_bytes(body).await {
        Ok(_) => StatusCode::ACCEPTED.into_response(),
        Err(res) => res,
    }
}

async fn metrics(State(s): State<ClientApi>, body: Body) -> Response {
    let bytes = match read_bytes(body).await {
        Ok(b) => b,
        Err(res) => return res,
    };
    match report::count(&bytes, s.flags.client_exposures()) {
        Ok(_) => StatusCode::ACCEPTED.into_response(),
        Err(message) => bad_request(message),
    }
}
