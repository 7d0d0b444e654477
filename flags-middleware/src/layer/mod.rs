//! The request side: a tower layer that gives each request one version of the
//! flags, finds out who is asking, and logs and counts every decision.
//!
//! # Example
//!
//! ```
//! use axum::{routing::get, Extension, Router};
//! use flags_middleware::{Context, FlagContext, Flags, FlagsLayer};
//!
//! /// What the app's own auth middleware puts in the request extensions.
//! #[derive(Clone)]
//! struct CurrentUser {
//!     id: String,
//!     beta: bool,
//! }
//!
//! async fn product(flags: FlagContext) -> String {
//!     if flags.is_enabled("new_checkout_flow") {
//!         format!("new checkout (flags v{})", flags.version())
//!     } else {
//!         "legacy checkout".to_owned()
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let flags = Flags::from_unleash_json(r#"{"features": [
//!   {"name": "new_checkout_flow", "enabled": true, "strategies": [
//!     {"name": "flexibleRollout", "parameters": {"rollout": "20", "stickiness": "default"}}]}
//! ]}"#)?;
//!
//! let app: Router = Router::new()
//!     .route("/api/v1/products/{id}", get(product))
//!     .layer(
//!         FlagsLayer::new(flags.clone())
//!             .user(|u: &CurrentUser| {
//!                 Context::new().user_id(u.id.as_str()).property("beta", u.beta.to_string())
//!             })
//!             .trusted_proxies(["10.0.0.0/8"])?,
//!     )
//!     // Stands in for authentication: runs first, so the flags layer sees the user.
//!     .layer(Extension(CurrentUser { id: "user_123".into(), beta: true }));
//! # let _ = app;
//! # Ok(())
//! # }
//! ```
//!
//! # What happens to a request
//!
//! 1. On the way in, the layer only hands the request its settings (one
//!    `Arc` clone). Nothing else: no snapshot is loaded, nothing is put in
//!    the request extensions and nothing is allocated, so a request that
//!    never asks for a flag costs little more than that. While the layer
//!    polls the inner service, the request's flags are in reach of the
//!    extractor (a thread-local slot, since axum runs extractors inside that
//!    poll): extract [`FlagContext`] in the handler or in a middleware inside
//!    the layer, and pass it on (it is `Clone + Send + Sync`) to code that
//!    runs elsewhere.
//! 2. The first time the request asks for its [`FlagContext`], the layer
//!    pins the current [`Snapshot`](crate::Snapshot), the caller is resolved
//!    (see below) and the request's state is made (one allocation). Every
//!    answer comes from that pinned snapshot, even if the flags change
//!    meanwhile, and is memoized: a flag asked twice answers the same, even
//!    when it was bucketed at random.
//! 3. With [`DecisionLog::PerDecision`], each flag's first answer emits a
//!    decision event.
//! 4. When the response is ready, a request that asked for flags gets the
//!    anonymous session cookie if one was made up, its counters are updated
//!    per flag and arm ([`Flags::metrics`](crate::Flags::metrics)), and one
//!    request event records the status, latency and every decision. A panic
//!    in the handler counts as a 500 and keeps unwinding.
//!
//! # Who is asking
//!
//! Resolvers are tried in the order they were added; the first that answers
//! wins:
//! - [`FlagsLayer::user`]: a value of your type in the request extensions
//!   (put there by your auth middleware), mapped to a [`Context`](crate::Context);
//! - [`FlagsLayer::user_header`], [`FlagsLayer::user_cookie`]: a user id as is;
//! - [`FlagsLayer::resolve_with`]: any async function of the request parts.
//!
//! Then the layer fills in what the resolver left out: the remote address
//! (from `ConnectInfo`, or `X-Forwarded-For` behind
//! [trusted proxies](FlagsLayer::trusted_proxies)), the
//! [environment](FlagsLayer::environment), and, when there is neither a user
//! id nor a session id, a session id from the [`SessionCookie`] (made up and
//! set on the response when absent), so rollouts stay sticky for logged-out
//! visitors. [Without that cookie](FlagsLayer::without_session_cookie) such
//! requests are bucketed at random, as Unleash does, and their request event
//! names those flags in `feature_flag.random` (with
//! [`DecisionLog::PerDecision`], each decision event also says
//! `feature_flag.result.random=true`).
//!
//! # Events
//!
//! By default ([`DecisionLog::PerRequest`]) a request that asked for flags
//! logs one event (target [`flags::request`](REQUEST_TARGET), `INFO`, see
//! [`FlagsLayer::request_events`]) carrying `http.request.method`,
//! `http.route` (the route template, never the raw path),
//! `http.response.status_code`, `error` (5xx), `latency_ms`,
//! `feature_flag.context.id` (user id, else session id;
//! [plain, hashed or omitted](IdLogging)), `feature_flag.context.kind`,
//! `feature_flag.version`, and every decision: `feature_flag.decisions`
//! (`flag=arm,...`, the arm being the variant, or `on` / `off`),
//! `feature_flag.reasons` (`flag=reason,...`, OpenFeature's reasons), and,
//! only when there are some, `feature_flag.forced`, `feature_flag.random`
//! (`flag,...`) and `error.type` (`flag=flag_not_found,...`). One line per
//! request, however many flags it asks, so a JSON-logging service pays for
//! one line, not one per flag.
//!
//! With [`DecisionLog::PerDecision`] (the seed's behaviour), each flag's
//! first answer also emits a decision event (target
//! [`flags::decision`](DECISION_TARGET), `INFO` by default, see
//! [`FlagsLayer::decision_events`]) with `feature_flag.key`,
//! `feature_flag.result.variant`, `feature_flag.result.reason`,
//! `feature_flag.result.value`, `feature_flag.context.id`,
//! `feature_flag.context.kind`, `feature_flag.version`,
//! `http.request.method` and `http.route`, and the request event carries
//! the arms (`feature_flag.decisions`) only. With
//! `tracing_subscriber::fmt().json()`, the default mode writes:
//!
//! ```text
//! {"timestamp":"2026-05-02T10:14:07.193263Z","level":"INFO","fields":{"message":"request finished","http.request.method":"GET","http.route":"/api/v1/products/{id}","http.response.status_code":200,"error":false,"latency_ms":1.92,"feature_flag.context.id":"user_123","feature_flag.context.kind":"user","feature_flag.version":7,"feature_flag.decisions":"new_checkout_flow=on","feature_flag.reasons":"new_checkout_flow=split"},"target":"flags::request"}
//! ```
//!
//! and the per-decision mode, before that line (then without
//! `feature_flag.reasons`):
//!
//! ```text
//! {"timestamp":"2026-05-02T10:14:07.191342Z","level":"INFO","fields":{"message":"flag decision","feature_flag.key":"new_checkout_flow","feature_flag.result.variant":"on","feature_flag.result.reason":"split","feature_flag.result.value":true,"feature_flag.context.id":"user_123","feature_flag.context.kind":"user","feature_flag.version":7,"http.request.method":"GET","http.route":"/api/v1/products/{id}"},"target":"flags::decision"}
//! ```

// Each module uses only the ones above it in this list (no import circles):
mod builder;
mod config;
mod counting;
mod error;
mod events;
mod extract;
mod force;
mod future;
mod memo;
mod request;
mod resolve;
mod resolver;
mod service;
mod session;
mod slot;

pub use builder::FlagsLayer;
pub use config::{DecisionLog, IdHashKey, IdLogging, SessionCookie};
pub use error::LayerConfigError;
pub use events::{DECISION_TARGET, REJECTION_TARGET, REQUEST_TARGET};
// For the Frontend API's decision events, which carry the same fields.
pub(crate) use events::{id_kind, logged_id};
pub use extract::{FlagContext, FlagContextRejection};
pub use force::{ForceFlags, FORCE_HEADER};
pub use future::ResponseFuture;
pub(crate) use request::arm;
pub use service::FlagsService;
