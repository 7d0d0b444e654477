//! [`FlagsLayer`] and its builder methods.

use std::future::Future;
use std::sync::Arc;

use http::request::Parts;
use http::HeaderName;
use tower_layer::Layer;
use tracing::Level;

use super::config::{is_token, Config, DecisionLog, IdLogging, SessionCookie};
use super::error::LayerConfigError;
use super::resolve::parse_nets;
use super::resolver::Resolver;
use super::service::FlagsService;
use crate::{Context, Flags};

/// A tower [`Layer`] that gives every request one pinned version of the
/// flags, resolves who is asking, and logs and counts decisions.
///
/// See the [module docs](crate::layer) for an example and the defaults.
///
/// ```
/// use axum::{routing::get, Router};
/// use flags_middleware::{FlagContext, Flags, FlagsLayer};
///
/// async fn checkout(flags: FlagContext) -> &'static str {
///     if flags.is_enabled("new_checkout_flow") { "new" } else { "legacy" }
/// }
///
/// let flags = Flags::from_toml_str("[new_checkout_flow]\nrollout = 20\n", "flags.toml").unwrap();
/// let app: Router = Router::new()
///     .route("/checkout", get(checkout))
///     .layer(FlagsLayer::new(flags).user_header("x-user-id").unwrap());
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct FlagsLayer {
    config: Arc<Config>,
}

impl FlagsLayer {
    /// A layer serving `flags`, with the defaults: no user resolver (every
    /// visitor is anonymous and gets the `flags_sid` session cookie),
    /// decisions logged in one request event per request at `INFO`
    /// ([`DecisionLog::PerRequest`]), user ids logged as they are,
    /// counters on, overrides refused.
    ///
    /// ```
    /// use axum::{body::{to_bytes, Body}, http::Request, routing::get, Router};
    /// use flags_middleware::{FlagContext, Flags, FlagsLayer};
    /// use tower::ServiceExt as _;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\nrollout = 50\n", "flags.toml").unwrap();
    /// let app = Router::new()
    ///     .route("/", get(|f: FlagContext| async move { f.is_enabled("new_checkout_flow").to_string() }))
    ///     .layer(FlagsLayer::new(flags.clone()));
    /// let res = app.clone().oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
    /// // An anonymous visitor gets a session cookie, and with it the same half of the rollout.
    /// let cookie = res.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    /// assert!(cookie.starts_with("flags_sid="));
    /// let first = to_bytes(res.into_body(), 16).await.unwrap();
    /// for _ in 0..5 {
    ///     let again = Request::get("/").header("cookie", &cookie).body(Body::empty()).unwrap();
    ///     let res = app.clone().oneshot(again).await.unwrap();
    ///     assert_eq!(to_bytes(res.into_body(), 16).await.unwrap(), first);
    /// }
    /// // Every request was counted, under the arm it got.
    /// let stats = flags.metrics().snapshot();
    /// let arms = &stats.flag("new_checkout_flow").unwrap().arms;
    /// assert_eq!(arms.iter().map(|a| a.requests).sum::<u64>(), 6);
    /// # }
    /// ```
    pub fn new(flags: Flags) -> Self {
        let metrics = Some(flags.metrics().clone());
        let tracker = flags.tracker().clone();
        // Building the layer is startup too: flags the code asks for but
        // the handle lacks are said once per handle.
        tracker.warn_undefined_once(&flags.snapshot());
        let mut config = Config::new(flags, metrics);
        config.tracker = Some(tracker);
        FlagsLayer {
            config: Arc::new(config),
        }
    }

    fn with(mut self, edit: impl FnOnce(&mut Config)) -> Self {
        edit(Arc::make_mut(&mut self.config));
        self
    }

    /// Resolves the user from a value of type `U` that an earlier middleware
    /// (your authentication) put in the request extensions; `f` maps it to a
    /// [`Context`] (or `None` to try the next resolver).
    ///
    /// Resolvers are tried in the order they are added; the first that
    /// answers wins.
    ///
    /// ```
    /// # use axum::{body::{to_bytes, Body}, http::Request, routing::get, Router};
    /// # use tower::ServiceExt as _;
    /// use axum::Extension;
    /// use flags_middleware::{Context, FlagContext, Flags, FlagsLayer};
    ///
    /// #[derive(Clone)]
    /// struct CurrentUser { id: String, beta: bool } // what your auth middleware stores
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[beta_search]\nwhen = { beta = true }\n", "flags.toml").unwrap();
    /// let layer = FlagsLayer::new(flags).user(|u: &CurrentUser| {
    ///     Context::new().user_id(u.id.as_str()).property("beta", u.beta.to_string())
    /// });
    /// let app = Router::new()
    ///     .route("/", get(|f: FlagContext| async move { f.is_enabled("beta_search").to_string() }))
    ///     .layer(layer)
    ///     .layer(Extension(CurrentUser { id: "user_123".into(), beta: true })); // runs first
    /// let res = app.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
    /// assert_eq!(to_bytes(res.into_body(), 64).await.unwrap(), "true");
    /// # }
    /// ```
    pub fn user<U, F, R>(self, f: F) -> Self
    where
        U: Send + Sync + 'static,
        F: Fn(&U) -> R + Send + Sync + 'static,
        R: Into<Option<Context>>,
    {
        self.with(|c| c.resolvers.push(Resolver::extension(f)))
    }

    /// Resolves the user id from a request header (e.g. `x-user-id`, set by
    /// a gateway you trust).
    ///
    /// ```
    /// # use axum::{body::{to_bytes, Body}, http::Request, routing::get, Router};
    /// # use tower::ServiceExt as _;
    /// use flags_middleware::{FlagContext, Flags, FlagsLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\nusers = [\"user_123\"]\n", "flags.toml").unwrap();
    /// assert!(FlagsLayer::new(flags.clone()).user_header("x user").is_err());
    /// let app = Router::new()
    ///     .route("/", get(|f: FlagContext| async move { f.is_enabled("new_checkout_flow").to_string() }))
    ///     .layer(FlagsLayer::new(flags).user_header("x-user-id").unwrap());
    /// let request = Request::get("/").header("x-user-id", "user_123").body(Body::empty()).unwrap();
    /// let res = app.oneshot(request).await.unwrap();
    /// assert_eq!(to_bytes(res.into_body(), 64).await.unwrap(), "true");
    /// # }
    /// ```
    ///
    /// # Errors
    /// When `name` is not a valid header name.
    pub fn user_header(self, name: &str) -> Result<Self, LayerConfigError> {
        let name = HeaderName::try_from(name)
            .map_err(|_| LayerConfigError::new(format!("`{name}` is not a valid header name")))?;
        Ok(self.with(|c| c.resolvers.push(Resolver::header(name))))
    }

    /// Resolves the user id from a cookie.
    ///
    /// ```
    /// # use axum::{body::{to_bytes, Body}, http::Request, routing::get, Router};
    /// # use tower::ServiceExt as _;
    /// use flags_middleware::{FlagContext, Flags, FlagsLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
    /// let app = Router::new()
    ///     .route("/", get(|f: FlagContext| async move { f.context().get_user_id().unwrap().to_owned() }))
    ///     .layer(FlagsLayer::new(flags).user_cookie("uid").unwrap());
    /// let request = Request::get("/").header("cookie", "theme=dark; uid=user_123");
    /// let res = app.oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    /// assert_eq!(to_bytes(res.into_body(), 64).await.unwrap(), "user_123");
    /// # }
    /// ```
    ///
    /// # Errors
    /// When `name` is not a valid cookie name.
    pub fn user_cookie(self, name: &str) -> Result<Self, LayerConfigError> {
        if !is_token(name) {
            return Err(LayerConfigError::new(format!(
                "`{name}` is not a valid cookie name"
            )));
        }
        let name = name.to_owned();
        Ok(self.with(|c| c.resolvers.push(Resolver::cookie(name))))
    }

    /// Resolves the user with any async function of the request parts (a
    /// database or cache lookup). Take what you need from the parts before
    /// the `async move` block, as the future must not borrow them:
    ///
    /// ```
    /// # use flags_middleware::{Context, Flags, FlagsLayer};
    /// # async fn is_beta(token: Option<String>) -> bool { token.is_some() }
    /// # let flags = Flags::from_unleash_json(r#"{"features": []}"#).unwrap();
    /// let layer = FlagsLayer::new(flags).resolve_with(|parts: &http::request::Parts| {
    ///     let token = parts.headers.get("authorization")
    ///         .and_then(|v| v.to_str().ok())
    ///         .map(str::to_owned);
    ///     async move {
    ///         let beta = is_beta(token).await;
    ///         Context::new().user_id("u1").property("beta", beta.to_string())
    ///     }
    /// });
    /// ```
    ///
    /// The function may return a [`Context`] or an `Option<Context>` (`None`:
    /// try the next resolver).
    pub fn resolve_with<F, Fut, R>(self, f: F) -> Self
    where
        F: Fn(&Parts) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: Into<Option<Context>>,
    {
        self.with(|c| c.resolvers.push(Resolver::with_fn(f)))
    }

    /// Proxies (addresses or networks) whose `X-Forwarded-For` is believed.
    ///
    /// The remote address comes from axum's `ConnectInfo<SocketAddr>` (serve
    /// with `into_make_service_with_connect_info`); when that peer is one of
    /// these proxies, the address is the rightmost `X-Forwarded-For` entry
    /// that is not. Default: none, so the header is ignored.
    ///
    /// ```
    /// # use axum::{body::{to_bytes, Body}, http::Request, routing::get, Router};
    /// # use tower::ServiceExt as _;
    /// use std::net::SocketAddr;
    /// use axum::extract::ConnectInfo;
    /// use flags_middleware::{FlagContext, Flags, FlagsLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let flags = Flags::from_toml_str("[office]\n", "flags.toml").unwrap();
    /// let ip = |f: FlagContext| async move { f.context().get_remote_address().unwrap().to_owned() };
    /// let app = Router::new()
    ///     .route("/", get(ip))
    ///     .layer(FlagsLayer::new(flags).trusted_proxies(["10.0.0.0/8"]).unwrap());
    /// let from = |peer: [u8; 4]| {
    ///     Request::get("/")
    ///         .extension(ConnectInfo(SocketAddr::from((peer, 443))))
    ///         .header("x-forwarded-for", "198.51.100.1, 203.0.113.9, 10.0.0.7")
    ///         .body(Body::empty())
    ///         .unwrap()
    /// };
    /// // Through the load balancer: the rightmost hop it does not trust.
    /// let res = app.clone().oneshot(from([10, 0, 0, 5])).await.unwrap();
    /// assert_eq!(to_bytes(res.into_body(), 64).await.unwrap(), "203.0.113.9");
    /// // Straight from the internet: the header is the caller's own say-so.
    /// let res = app.oneshot(from([192, 0, 2, 1])).await.unwrap();
    /// assert_eq!(to_bytes(res.into_body(), 64).await.unwrap(), "192.0.2.1");
    /// # }
    /// ```
    ///
    /// # Errors
    /// When an entry is neither an IP address nor a network.
    pub fn trusted_proxies<I, S>(self, proxies: I) -> Result<Self, LayerConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let nets = parse_nets(proxies)?;
        Ok(self.with(|c| c.trusted_proxies = nets))
    }

    /// The anonymous-visitor cookie (default: [`SessionCookie::default`]).
    ///
    /// ```
    /// # use axum::{body::{to_bytes, Body}, http::Request, routing::get, Router};
    /// # use tower::ServiceExt as _;
    /// use flags_middleware::layer::SessionCookie;
    /// use flags_middleware::{FlagContext, Flags, FlagsLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let flags = Flags::from_toml_str("[new_checkout_flow]\nrollout = 50\n", "flags.toml").unwrap();
    /// let cookie = SessionCookie::new().name("visitor").unwrap().secure(true);
    /// let app = Router::new()
    ///     .route("/", get(|f: FlagContext| async move { f.is_enabled("new_checkout_flow").to_string() }))
    ///     .layer(FlagsLayer::new(flags).session_cookie(cookie));
    /// let res = app.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
    /// let set_cookie = res.headers()["set-cookie"].to_str().unwrap();
    /// assert!(set_cookie.starts_with("visitor=") && set_cookie.contains("; Secure"));
    /// # }
    /// ```
    pub fn session_cookie(self, cookie: SessionCookie) -> Self {
        self.with(|c| c.session = Some(cookie))
    }

    /// No anonymous-visitor cookie: a request with no user id and no
    /// session id is bucketed at random, as Unleash does (the request event
    /// then names those flags in `feature_flag.random`, and per-decision
    /// events carry `feature_flag.result.random = true`).
    ///
    /// ```
    /// # use axum::{body::{to_bytes, Body}, http::Request, routing::get, Router};
    /// # use tower::ServiceExt as _;
    /// use flags_middleware::{FlagContext, Flags, FlagsLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let flags = Flags::from_toml_str("[new_checkout_flow]\nrollout = 50\n", "flags.toml").unwrap();
    /// let app = Router::new()
    ///     .route("/", get(|f: FlagContext| async move { f.details("new_checkout_flow").random.to_string() }))
    ///     .layer(FlagsLayer::new(flags).without_session_cookie());
    /// let res = app.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
    /// assert!(res.headers().get("set-cookie").is_none());
    /// assert_eq!(to_bytes(res.into_body(), 64).await.unwrap(), "true"); // bucketed at random
    /// # }
    /// ```
    pub fn without_session_cookie(self) -> Self {
        self.with(|c| c.session = None)
    }

    /// The `environment` of every context the resolvers leave it unset in.
    ///
    /// ```
    /// # use axum::{body::{to_bytes, Body}, http::Request, routing::get, Router};
    /// # use tower::ServiceExt as _;
    /// use flags_middleware::{FlagContext, Flags, FlagsLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let toml = "[new_checkout_flow]\nwhen = { environment = \"staging\" }\n";
    /// let flags = Flags::from_toml_str(toml, "flags.toml").unwrap();
    /// let app = Router::new()
    ///     .route("/", get(|f: FlagContext| async move { f.is_enabled("new_checkout_flow").to_string() }))
    ///     .layer(FlagsLayer::new(flags).environment("staging"));
    /// let res = app.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
    /// assert_eq!(to_bytes(res.into_body(), 64).await.unwrap(), "true");
    /// # }
    /// ```
    pub fn environment(self, env: impl Into<Arc<str>>) -> Self {
        let env = env.into();
        self.with(|c| c.environment = Some(env))
    }

    /// The `appName` of every context the resolvers leave it unset in.
    ///
    /// ```
    /// # use axum::{body::{to_bytes, Body}, http::Request, routing::get, Router};
    /// # use tower::ServiceExt as _;
    /// use flags_middleware::{FlagContext, Flags, FlagsLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let toml = "[new_checkout_flow]\nwhen = { appName = [\"checkout\", \"cart\"] }\n";
    /// let flags = Flags::from_toml_str(toml, "flags.toml").unwrap();
    /// let app = Router::new()
    ///     .route("/", get(|f: FlagContext| async move { f.is_enabled("new_checkout_flow").to_string() }))
    ///     .layer(FlagsLayer::new(flags).app_name("checkout"));
    /// let res = app.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
    /// assert_eq!(to_bytes(res.into_body(), 64).await.unwrap(), "true");
    /// # }
    /// ```
    pub fn app_name(self, name: impl Into<Arc<str>>) -> Self {
        let name = name.into();
        self.with(|c| c.app_name = Some(name))
    }

    /// Where decisions are logged: all of a request's in its one request
    /// event ([`DecisionLog::PerRequest`], the default), or also one event
    /// per decision ([`DecisionLog::PerDecision`]).
    ///
    /// ```
    /// use flags_middleware::layer::DecisionLog;
    /// # use flags_middleware::{Flags, FlagsLayer};
    /// # let flags = Flags::from_unleash_json(r#"{"features": []}"#).unwrap();
    /// let layer = FlagsLayer::new(flags).decision_log(DecisionLog::PerDecision);
    /// ```
    pub fn decision_log(self, log: DecisionLog) -> Self {
        self.with(|c| c.decision_log = log)
    }

    /// The level of decision events (target `flags::decision`, emitted with
    /// [`DecisionLog::PerDecision`]), or `None` for none. Default `INFO`.
    ///
    /// ```
    /// # use axum::{body::{to_bytes, Body}, http::Request, routing::get, Router};
    /// # use tower::ServiceExt as _;
    /// use flags_middleware::{layer::DecisionLog, FlagContext, Flags, FlagsLayer};
    /// use tracing::Level;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let log = tempfile::NamedTempFile::new().unwrap();
    /// # let subscriber = tracing_subscriber::fmt().with_writer(log.reopen().unwrap())
    /// #     .with_ansi(false).with_max_level(tracing::Level::DEBUG).finish();
    /// # let _guard = tracing::subscriber::set_default(subscriber);
    /// # let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
    /// let layer = FlagsLayer::new(flags).decision_log(DecisionLog::PerDecision).decision_events(Level::DEBUG);
    /// let app = Router::new()
    ///     .route("/", get(|f: FlagContext| async move { f.is_enabled("new_checkout_flow").to_string() }))
    ///     .layer(layer);
    /// app.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
    /// let events = std::fs::read_to_string(log.path()).unwrap();
    /// let decision = events.lines().find(|l| l.contains("flags::decision")).unwrap();
    /// assert!(decision.contains("DEBUG") && decision.contains("new_checkout_flow"));
    /// # }
    /// ```
    pub fn decision_events(self, level: impl Into<Option<Level>>) -> Self {
        let level = level.into();
        self.with(|c| c.decision_level = level)
    }

    /// The level of request events (target `flags::request`), or `None` for
    /// none. Default `INFO`.
    ///
    /// ```
    /// # use axum::{body::{to_bytes, Body}, http::Request, routing::get, Router};
    /// # use tower::ServiceExt as _;
    /// use flags_middleware::{FlagContext, Flags, FlagsLayer};
    /// use tracing::Level;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let log = tempfile::NamedTempFile::new().unwrap();
    /// # let subscriber = tracing_subscriber::fmt().with_writer(log.reopen().unwrap())
    /// #     .with_ansi(false).with_max_level(tracing::Level::DEBUG).finish();
    /// # let _guard = tracing::subscriber::set_default(subscriber);
    /// # let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
    /// let app = Router::new()
    ///     .route("/", get(|f: FlagContext| async move { f.is_enabled("new_checkout_flow").to_string() }))
    ///     .layer(FlagsLayer::new(flags).request_events(Level::WARN));
    /// app.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
    /// let events = std::fs::read_to_string(log.path()).unwrap();
    /// let request = events.lines().find(|l| l.contains("flags::request")).unwrap();
    /// assert!(request.contains("WARN") && request.contains("new_checkout_flow=on"));
    /// # }
    /// ```
    pub fn request_events(self, level: impl Into<Option<Level>>) -> Self {
        let level = level.into();
        self.with(|c| c.request_level = level)
    }

    /// How user and session ids appear in events. Default
    /// [`IdLogging::Plain`].
    ///
    /// ```
    /// # use axum::{body::{to_bytes, Body}, http::Request, routing::get, Router};
    /// # use tower::ServiceExt as _;
    /// use flags_middleware::layer::{IdHashKey, IdLogging};
    /// use flags_middleware::{FlagContext, Flags, FlagsLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let log = tempfile::NamedTempFile::new().unwrap();
    /// # let subscriber = tracing_subscriber::fmt().with_writer(log.reopen().unwrap())
    /// #     .with_ansi(false).with_max_level(tracing::Level::DEBUG).finish();
    /// # let _guard = tracing::subscriber::set_default(subscriber);
    /// # let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
    /// let key = IdHashKey::new(*b"not-a-real-key!!"); // in production, from your secret store
    /// let layer = FlagsLayer::new(flags).user_header("x-user-id").unwrap().log_ids(IdLogging::Hashed(key.clone()));
    /// let app = Router::new()
    ///     .route("/", get(|f: FlagContext| async move { f.is_enabled("new_checkout_flow").to_string() }))
    ///     .layer(layer);
    /// let request = Request::get("/").header("x-user-id", "user_123").body(Body::empty()).unwrap();
    /// app.oneshot(request).await.unwrap();
    /// let events = std::fs::read_to_string(log.path()).unwrap();
    /// assert!(events.contains(&key.hash("user_123")) && !events.contains("user_123"));
    /// # }
    /// ```
    pub fn log_ids(self, ids: IdLogging) -> Self {
        self.with(|c| c.ids = ids)
    }

    /// Whether to count requests per flag and arm in
    /// [`Flags::metrics`](crate::Flags::metrics). Default on.
    ///
    /// ```
    /// # use axum::{body::{to_bytes, Body}, http::Request, routing::get, Router};
    /// # use tower::ServiceExt as _;
    /// use flags_middleware::{FlagContext, Flags, FlagsLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
    /// let ask = get(|f: FlagContext| async move { f.is_enabled("new_checkout_flow").to_string() });
    /// let public = Router::new().route("/", ask.clone()).layer(FlagsLayer::new(flags.clone()));
    /// // Health checks and internal tools: served, but not counted.
    /// let internal = Router::new().route("/", ask).layer(FlagsLayer::new(flags.clone()).metrics(false));
    /// for app in [public, internal] {
    ///     app.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
    /// }
    /// assert_eq!(flags.metrics().snapshot().arm("new_checkout_flow", "on").unwrap().requests, 1);
    /// # }
    /// ```
    pub fn metrics(self, on: bool) -> Self {
        let metrics = on.then(|| self.config.flags.metrics().clone());
        self.with(|c| c.metrics = metrics)
    }

    /// Whether requests may force flags, with a
    /// [`ForceFlags`](crate::testing::ForceFlags) extension or the
    /// [`FORCE_HEADER`](crate::testing::FORCE_HEADER) header. Default off:
    /// turn it on in tests and internal environments only, since the
    /// header lets any client choose its arms.
    ///
    /// ```
    /// # use axum::{body::{to_bytes, Body}, http::Request, routing::get, Router};
    /// # use tower::ServiceExt as _;
    /// use flags_middleware::{testing::FORCE_HEADER, FlagContext, Flags, FlagsLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\nenabled = false\n", "flags.toml").unwrap();
    /// let app = Router::new()
    ///     .route("/", get(|f: FlagContext| async move { f.is_enabled("new_checkout_flow").to_string() }))
    ///     .layer(FlagsLayer::new(flags).allow_overrides(true)); // a test or staging server
    /// let request = Request::get("/").header(FORCE_HEADER, "new_checkout_flow=on");
    /// let res = app.oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    /// assert_eq!(to_bytes(res.into_body(), 64).await.unwrap(), "true");
    /// # }
    /// ```
    pub fn allow_overrides(self, allow: bool) -> Self {
        self.with(|c| c.allow_overrides = allow)
    }
}

impl<S> Layer<S> for FlagsLayer {
    type Service = FlagsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        FlagsService {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}
