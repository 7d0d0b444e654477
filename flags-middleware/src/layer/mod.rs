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
//! 1. On the way in, the layer pins the current [`Snapshot`](crate::Snapshot)
//!    (one `Arc` clone) and stores it in the request extensions. Nothing else:
//!    a request that never asks for a flag costs a small allocation.
//! 2. The first time the request asks for its [`FlagContext`],
//!    the caller is resolved (see below). Every answer comes from the pinned
//!    snapshot, even if the flags change meanwhile, and is memoized: a flag
//!    asked twice answers the same, even when it was bucketed at random.
//! 3. Each flag's first answer emits a decision event.
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
//! requests are bucketed at random, as Unleash does, and their decision events
//! say `feature_flag.result.random=true`.
//!
//! # Events
//!
//! Decision events (target [`flags::decision`](DECISION_TARGET), `INFO` by
//! default, see [`FlagsLayer::decision_events`]) carry `feature_flag.key`,
//! `feature_flag.result.variant` (the arm: the variant, or `on` / `off`),
//! `feature_flag.result.reason` (OpenFeature's reasons),
//! `feature_flag.result.value`, `feature_flag.context.id` (user id, else
//! session id; [plain, hashed or omitted](IdLogging)),
//! `feature_flag.context.kind`, `feature_flag.version`,
//! `http.request.method` and `http.route` (the route template, never the raw
//! path). Request events (target [`flags::request`](REQUEST_TARGET)) carry
//! `http.response.status_code`, `error` (5xx), `latency_ms` and
//! `feature_flag.decisions`. With `tracing_subscriber::fmt().json()`:
//!
//! ```text
//! {"timestamp":"2026-05-02T10:14:07.191342Z","level":"INFO","fields":{"message":"flag decision","feature_flag.key":"new_checkout_flow","feature_flag.result.variant":"on","feature_flag.result.reason":"split","feature_flag.result.value":true,"feature_flag.context.id":"user_123","feature_flag.context.kind":"user","feature_flag.version":7,"http.request.method":"GET","http.route":"/api/v1/products/{id}"},"target":"flags::decision"}
//! {"timestamp":"2026-05-02T10:14:07.193263Z","level":"INFO","fields":{"message":"request finished","http.request.method":"GET","http.route":"/api/v1/products/{id}","http.response.status_code":200,"error":false,"latency_ms":1.92,"feature_flag.context.id":"user_123","feature_flag.context.kind":"user","feature_flag.version":7,"feature_flag.decisions":"new_checkout_flow=on"},"target":"flags::request"}
//! ```

// Each module uses only the ones above it in this list (no import circles):
mod builder;
mod config;
mod error;
mod events;
mod extract;
mod force;
mod future;
mod request;
mod resolve;
mod resolver;
mod service;
mod session;

pub use builder::FlagsLayer;
pub use config::{IdHashKey, IdLogging, SessionCookie};
pub use error::LayerConfigError;
pub use events::{DECISION_TARGET, REJECTION_TARGET, REQUEST_TARGET};
pub use extract::{FlagContext, FlagContextRejection};
pub use force::{ForceFlags, FORCE_HEADER};
pub use future::ResponseFuture;
pub use service::FlagsService;
