//! The layer's settings, shared by every request through one `Arc`.

use std::fmt;
use std::time::Duration;

use ipnet::IpNet;
use tracing::Level;

use super::error::LayerConfigError;
use super::resolver::Resolver;
use crate::metrics::Metrics;
use crate::Flags;

/// Everything [`FlagsLayer`](super::FlagsLayer)'s builder sets.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// The flags served: a request pins their snapshot the first time it
    /// asks (so a request that asks none never loads it).
    pub(crate) flags: Flags,
    /// Tried in order; the first that answers wins.
    pub(crate) resolvers: Vec<Resolver>,
    pub(crate) session: Option<SessionCookie>,
    pub(crate) trusted_proxies: Vec<IpNet>,
    pub(crate) environment: Option<std::sync::Arc<str>>,
    pub(crate) app_name: Option<std::sync::Arc<str>>,
    /// Where decisions are logged.
    pub(crate) decision_log: DecisionLog,
    /// `None`: no decision events.
    pub(crate) decision_level: Option<Level>,
    /// `None`: no request events.
    pub(crate) request_level: Option<Level>,
    pub(crate) ids: IdLogging,
    pub(crate) allow_overrides: bool,
    /// `None`: nothing counted.
    pub(crate) metrics: Option<Metrics>,
    /// Unknown flags and usage per flag and route (the hygiene hooks);
    /// `None`: not recorded.
    pub(crate) tracker: Option<crate::hygiene::Tracker>,
}

impl Config {
    pub(crate) fn new(flags: Flags, metrics: Option<Metrics>) -> Config {
        Config {
            flags,
            resolvers: Vec::new(),
            session: Some(SessionCookie::default()),
            trusted_proxies: Vec::new(),
            environment: None,
            app_name: None,
            decision_log: DecisionLog::default(),
            decision_level: Some(Level::INFO),
            request_level: Some(Level::INFO),
            ids: IdLogging::Plain,
            allow_overrides: false,
            metrics,
            tracker: None,
        }
    }
}

impl Config {
    /// Whether anything reads a request's latency (counters or the request
    /// event): if not, the clock is never read.
    pub(crate) fn needs_clock(&self) -> bool {
        self.metrics.is_some() || self.request_level.is_some()
    }

    /// Whether each decision gets an event of its own.
    pub(crate) fn per_decision(&self) -> bool {
        self.decision_log == DecisionLog::PerDecision && self.decision_level.is_some()
    }
}

/// Where a request's flag decisions are logged; see
/// [`FlagsLayer::decision_log`](super::FlagsLayer::decision_log).
///
/// ```
/// use flags_middleware::layer::DecisionLog;
/// use flags_middleware::{Flags, FlagsLayer};
///
/// assert_eq!(DecisionLog::default(), DecisionLog::PerRequest);
/// let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
/// // An event per decision too, as the seed logged them.
/// let layer = FlagsLayer::new(flags).decision_log(DecisionLog::PerDecision);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DecisionLog {
    /// In the one request event (target `flags::request`): the arm and the
    /// reason of every flag the request asked, its version, and which were
    /// forced, random or unknown. One log line per request however many
    /// flags it asks. The default.
    #[default]
    PerRequest,
    /// Also an event of its own per flag (target `flags::decision`, at the
    /// level of [`FlagsLayer::decision_events`](super::FlagsLayer::decision_events))
    /// the first time a request asks it, with every field of the decision,
    /// and the request event with the arms only.
    PerDecision,
}

/// The cookie that keeps anonymous visitors sticky.
///
/// When a request that evaluates flags has no user id and no valid session
/// cookie, the layer makes up a random session id, evaluates with it, and sets
/// this cookie on the response, so the visitor's next requests land in the
/// same rollout bucket and A/B arm.
///
/// Defaults: name `flags_sid`, `Path=/`, `Max-Age` one year, `HttpOnly`,
/// `SameSite=Lax`, and **not** `Secure`: the id is a bucketing key, not a
/// credential, and a `Secure` cookie is silently dropped on plain-HTTP origins,
/// which would un-stick rollouts without any error. Turn it on with
/// [`SessionCookie::secure`] when the site is HTTPS-only.
///
/// A visitor's first requests, if sent in parallel before any cookie is
/// stored, may each get a different id; the last cookie stored wins and the
/// visitor is sticky from then on.
///
/// ```
/// use std::time::Duration;
/// use flags_middleware::layer::SessionCookie;
/// use flags_middleware::{Flags, FlagsLayer};
///
/// let cookie = SessionCookie::new()
///     .name("visitor")
///     .unwrap()
///     .secure(true) // the site is HTTPS-only
///     .max_age(Duration::from_secs(90 * 24 * 3600));
/// let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
/// let layer = FlagsLayer::new(flags).session_cookie(cookie);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCookie {
    pub(crate) name: String,
    pub(crate) secure: bool,
    pub(crate) max_age: Duration,
    pub(crate) path: String,
}

impl Default for SessionCookie {
    fn default() -> Self {
        SessionCookie {
            name: "flags_sid".to_owned(),
            secure: false,
            max_age: Duration::from_secs(365 * 24 * 3600),
            path: "/".to_owned(),
        }
    }
}

impl SessionCookie {
    /// The default cookie (`flags_sid`).
    ///
    /// ```
    /// # use axum::{body::Body, http::Request, routing::get, Router};
    /// # use tower::ServiceExt as _;
    /// use flags_middleware::layer::SessionCookie;
    /// use flags_middleware::{Flags, FlagsLayer};
    /// # use flags_middleware::FlagContext;
    /// # async fn set_cookie_of(layer: FlagsLayer) -> String {
    /// #     let app = Router::new()
    /// #         .route("/", get(|f: FlagContext| async move { f.is_enabled("new_checkout_flow").to_string() }))
    /// #         .layer(layer);
    /// #     let res = app.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
    /// #     res.headers()["set-cookie"].to_str().unwrap().to_owned()
    /// # }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\nrollout = 50\n", "flags.toml").unwrap();
    /// let layer = FlagsLayer::new(flags).session_cookie(SessionCookie::new());
    /// // What an anonymous visitor gets on its first response:
    /// let header = set_cookie_of(layer).await;
    /// assert!(header.starts_with("flags_sid="));
    /// assert!(header.ends_with("; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax"));
    /// # }
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Renames the cookie.
    ///
    /// ```
    /// # use axum::{body::Body, http::Request, routing::get, Router};
    /// # use tower::ServiceExt as _;
    /// use flags_middleware::layer::SessionCookie;
    /// use flags_middleware::{Flags, FlagsLayer};
    /// # use flags_middleware::FlagContext;
    /// # async fn set_cookie_of(layer: FlagsLayer) -> String {
    /// #     let app = Router::new()
    /// #         .route("/", get(|f: FlagContext| async move { f.is_enabled("new_checkout_flow").to_string() }))
    /// #         .layer(layer);
    /// #     let res = app.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
    /// #     res.headers()["set-cookie"].to_str().unwrap().to_owned()
    /// # }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\nrollout = 50\n", "flags.toml").unwrap();
    /// assert!(SessionCookie::new().name("visitor id").is_err()); // no spaces in a cookie name
    /// let cookie = SessionCookie::new().name("visitor").unwrap();
    /// assert!(set_cookie_of(FlagsLayer::new(flags).session_cookie(cookie)).await.starts_with("visitor="));
    /// # }
    /// ```
    ///
    /// # Errors
    /// When `name` is not a valid cookie name (an RFC 6265 token).
    pub fn name(mut self, name: impl Into<String>) -> Result<Self, LayerConfigError> {
        let name = name.into();
        if !is_token(&name) {
            return Err(LayerConfigError::new(format!(
                "`{name}` is not a valid cookie name (letters, digits and !#$%&'*+-.^_`|~ only)"
            )));
        }
        self.name = name;
        Ok(self)
    }

    /// Adds `Secure` (send over HTTPS only).
    ///
    /// ```
    /// # use axum::{body::Body, http::Request, routing::get, Router};
    /// # use tower::ServiceExt as _;
    /// use flags_middleware::layer::SessionCookie;
    /// use flags_middleware::{Flags, FlagsLayer};
    /// # use flags_middleware::FlagContext;
    /// # async fn set_cookie_of(layer: FlagsLayer) -> String {
    /// #     let app = Router::new()
    /// #         .route("/", get(|f: FlagContext| async move { f.is_enabled("new_checkout_flow").to_string() }))
    /// #         .layer(layer);
    /// #     let res = app.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
    /// #     res.headers()["set-cookie"].to_str().unwrap().to_owned()
    /// # }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\nrollout = 50\n", "flags.toml").unwrap();
    /// let layer = FlagsLayer::new(flags).session_cookie(SessionCookie::new().secure(true));
    /// assert!(set_cookie_of(layer).await.ends_with("; SameSite=Lax; Secure"));
    /// # }
    /// ```
    #[must_use]
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// How long the browser keeps the cookie (default one year).
    ///
    /// ```
    /// use std::time::Duration;
    /// # use axum::{body::Body, http::Request, routing::get, Router};
    /// # use tower::ServiceExt as _;
    /// use flags_middleware::layer::SessionCookie;
    /// use flags_middleware::{Flags, FlagsLayer};
    /// # use flags_middleware::FlagContext;
    /// # async fn set_cookie_of(layer: FlagsLayer) -> String {
    /// #     let app = Router::new()
    /// #         .route("/", get(|f: FlagContext| async move { f.is_enabled("new_checkout_flow").to_string() }))
    /// #         .layer(layer);
    /// #     let res = app.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
    /// #     res.headers()["set-cookie"].to_str().unwrap().to_owned()
    /// # }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\nrollout = 50\n", "flags.toml").unwrap();
    /// let cookie = SessionCookie::new().max_age(Duration::from_secs(30 * 24 * 3600));
    /// let header = set_cookie_of(FlagsLayer::new(flags).session_cookie(cookie)).await;
    /// assert!(header.contains("; Max-Age=2592000;"), "{header}");
    /// # }
    /// ```
    #[must_use]
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// The cookie's `Path` (default `/`).
    ///
    /// ```
    /// # use axum::{body::Body, http::Request, routing::get, Router};
    /// # use tower::ServiceExt as _;
    /// use flags_middleware::layer::SessionCookie;
    /// use flags_middleware::{Flags, FlagsLayer};
    /// # use flags_middleware::FlagContext;
    /// # async fn set_cookie_of(layer: FlagsLayer) -> String {
    /// #     let app = Router::new()
    /// #         .route("/", get(|f: FlagContext| async move { f.is_enabled("new_checkout_flow").to_string() }))
    /// #         .layer(layer);
    /// #     let res = app.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
    /// #     res.headers()["set-cookie"].to_str().unwrap().to_owned()
    /// # }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\nrollout = 50\n", "flags.toml").unwrap();
    /// assert!(SessionCookie::new().path("/shop; Domain=evil.example").is_err());
    /// let cookie = SessionCookie::new().path("/shop").unwrap();
    /// let header = set_cookie_of(FlagsLayer::new(flags).session_cookie(cookie)).await;
    /// assert!(header.contains("; Path=/shop;"), "{header}");
    /// # }
    /// ```
    ///
    /// # Errors
    /// When `path` holds a control character or `;`.
    pub fn path(mut self, path: impl Into<String>) -> Result<Self, LayerConfigError> {
        let path = path.into();
        if path.chars().any(|c| c.is_control() || c == ';') {
            return Err(LayerConfigError::new(format!(
                "cookie path `{}` holds `;` or a control character",
                path.escape_debug()
            )));
        }
        self.path = path;
        Ok(self)
    }

    /// The `Set-Cookie` value carrying `id`.
    pub(crate) fn set_cookie(&self, id: &str) -> String {
        format!(
            "{}={}; Path={}; Max-Age={}; HttpOnly; SameSite=Lax{}",
            self.name,
            id,
            self.path,
            self.max_age.as_secs(),
            if self.secure { "; Secure" } else { "" }
        )
    }
}

/// RFC 6265 / RFC 7230 token characters.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// How user and session ids appear in events (`feature_flag.context.id`).
///
/// Flag evaluation always sees the real id; this only changes what is logged.
///
/// ```
/// use flags_middleware::layer::{IdHashKey, IdLogging};
/// use flags_middleware::{Flags, FlagsLayer};
///
/// // In production, 16 secret bytes from your secret store.
/// let key = IdHashKey::new(*b"not-a-real-key!!");
/// let hashed = key.hash("user_123");
/// assert_eq!(hashed.len(), 16);
/// assert_eq!(hashed, IdHashKey::new(*b"not-a-real-key!!").hash("user_123"));
/// let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
/// let layer = FlagsLayer::new(flags).log_ids(IdLogging::Hashed(key));
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum IdLogging {
    /// As they are (the default).
    #[default]
    Plain,
    /// Replaced by a keyed hash (SipHash-2-4, 16 hex digits): stable across
    /// processes and restarts for the same key, so `COUNT(DISTINCT ...)` and
    /// joins still work, but not reversible without the key.
    Hashed(IdHashKey),
    /// Left out.
    Omitted,
}

impl fmt::Debug for IdLogging {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdLogging::Plain => f.write_str("Plain"),
            IdLogging::Hashed(_) => f.write_str("Hashed(..)"),
            IdLogging::Omitted => f.write_str("Omitted"),
        }
    }
}

/// The secret key of [`IdLogging::Hashed`]; its `Debug` output hides it.
///
/// ```
/// use flags_middleware::layer::IdHashKey;
///
/// // SipHash-2-4's reference vector: key 00..0f, empty input.
/// let key = IdHashKey::new(std::array::from_fn(|i| i as u8));
/// assert_eq!(key.hash(""), "726fdb47dd0e0e31");
/// // Another key, another hash: the ids cannot be matched without it.
/// assert_ne!(IdHashKey::new([7; 16]).hash("user_123"), key.hash("user_123"));
/// assert_eq!(format!("{key:?}"), "IdHashKey(..)");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct IdHashKey([u8; 16]);

impl IdHashKey {
    /// A key from 16 secret bytes (keep them out of the logs and the code).
    ///
    /// ```
    /// use flags_middleware::layer::IdHashKey;
    ///
    /// let key = IdHashKey::new(*b"0123456789abcdef"); // in production, from your secret store
    /// assert_eq!(format!("{key:?}"), "IdHashKey(..)"); // the bytes are never printed
    /// ```
    pub fn new(key: [u8; 16]) -> Self {
        IdHashKey(key)
    }

    /// The hash of `id` under this key, as 16 lowercase hex digits.
    ///
    /// ```
    /// use flags_middleware::layer::IdHashKey;
    ///
    /// let key = IdHashKey::new([7; 16]);
    /// let hashed = key.hash("user_123");
    /// assert!(hashed.len() == 16 && hashed.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
    /// assert_eq!(hashed, key.hash("user_123")); // the same id, the same hash: joins still work
    /// assert_ne!(hashed, key.hash("user_456"));
    /// ```
    pub fn hash(&self, id: &str) -> String {
        use std::hash::Hasher;
        let mut h = siphasher::sip::SipHasher24::new_with_key(&self.0);
        h.write(id.as_bytes());
        format!("{:016x}", h.finish())
    }
}

impl fmt::Debug for IdHashKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdHashKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_attributes() {
        let c = SessionCookie::new();
        assert_eq!(
            c.set_cookie("abc"),
            "flags_sid=abc; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax"
        );
        let c = c
            .secure(true)
            .name("sid")
            .unwrap()
            .max_age(Duration::from_secs(60));
        assert_eq!(
            c.set_cookie("x"),
            "sid=x; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure"
        );
    }

    #[test]
    fn bad_cookie_settings_are_errors() {
        let err = SessionCookie::new().name("a b").unwrap_err();
        assert!(
            err.to_string().contains("`a b` is not a valid cookie name"),
            "{err}"
        );
        assert!(SessionCookie::new().name("").is_err());
        assert!(SessionCookie::new().path("/a;b").is_err());
    }

    #[test]
    fn hashed_ids_are_siphash_2_4() {
        // The reference vector of the SipHash paper: key 00..0f, empty input.
        let key = IdHashKey::new(std::array::from_fn(|i| i as u8));
        assert_eq!(key.hash(""), "726fdb47dd0e0e31");
    }

    #[test]
    fn hashed_ids_are_keyed_and_stable() {
        let k1 = IdHashKey::new([1; 16]);
        let k2 = IdHashKey::new([2; 16]);
        assert_eq!(k1.hash("user_123"), k1.hash("user_123"));
        assert_ne!(k1.hash("user_123"), k1.hash("user_456"));
        assert_ne!(k1.hash("user_123"), k2.hash("user_123"));
        assert_eq!(k1.hash("user_123").len(), 16);
        assert_eq!(format!("{k1:?}"), "IdHashKey(..)");
    }
}
