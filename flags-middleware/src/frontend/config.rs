//! [`FrontendConfig`]: tokens, CORS, which context fields a client may
//! supply, and how ids appear in decision events.

use std::fmt;

use crate::layer::IdLogging;
use crate::sdk::tokens::{nonempty, Tokens};

/// The headers the Unleash browser SDK sends, allowed in every preflight.
pub(crate) const SDK_HEADERS: [&str; 7] = [
    "authorization",
    "content-type",
    "if-none-match",
    "unleash-sdk",
    "unleash-appname",
    "unleash-connection-id",
    "accept",
];

/// How the [Frontend API](crate::frontend) is served; give it to
/// [`Flags::frontend_router`](crate::Flags::frontend_router).
///
/// ```
/// use flags_middleware::frontend::FrontendConfig;
///
/// let config = FrontendConfig::new(["a-frontend-token"])
///     .other_tokens(["the-admin-token"])           // 403 rather than 401
///     .cors_origins(["https://shop.example.com"])  // default: any origin
///     .client_fields(["userId", "sessionId", "appName", "plan"]);
/// # let _ = config;
/// ```
#[derive(Clone)]
pub struct FrontendConfig {
    pub(crate) tokens: Tokens,
    pub(crate) origins: Origins,
    pub(crate) extra_headers: Vec<String>,
    pub(crate) fields: ClientFields,
    pub(crate) ids: IdLogging,
}

/// Which origins may call the API from a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origins {
    /// `Access-Control-Allow-Origin: *` (no credentials), as Unleash's default.
    Any,
    /// These origins exactly (`https://shop.example.com`), with credentials.
    List(Vec<String>),
}

/// The context fields a client may supply. Standard fields by their
/// Unleash names; any other name is a property; `*` is every property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientFields {
    names: Vec<String>,
}

impl ClientFields {
    /// Whether the client may set top-level field `name` (`userId`...).
    pub(crate) fn field(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    /// Whether the client may set property `name`.
    pub(crate) fn property(&self, name: &str) -> bool {
        !is_standard(name) && self.names.iter().any(|n| n == name || n == "*")
    }
}

/// The fields of Unleash's context that are not properties.
pub(crate) fn is_standard(name: &str) -> bool {
    matches!(
        name,
        "userId" | "sessionId" | "remoteAddress" | "environment" | "appName" | "currentTime"
    )
}

impl FrontendConfig {
    /// The fields a client may supply unless told otherwise: its user id
    /// (used only when the app's own resolver knows no user), its session
    /// id and its app name. Properties, the remote address (taken from the
    /// connection), the environment and the current time are the server's.
    ///
    /// ```
    /// # use axum::{body::{to_bytes, Body}, http::Request, Router};
    /// # use tower::ServiceExt as _;
    /// use flags_middleware::{frontend::FrontendConfig, Flags};
    ///
    /// # async fn toggles(api: Router) -> Vec<String> {
    /// #     let request = Request::get("/?userId=u1&properties[plan]=pro").header("authorization", "a-frontend-token");
    /// #     let res = api.oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    /// #     let body: serde_json::Value = serde_json::from_slice(&to_bytes(res.into_body(), 4096).await.unwrap()).unwrap();
    /// #     let mut names: Vec<String> = body["toggles"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect();
    /// #     names.sort();
    /// #     names
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let toml = "[beta]\nusers = [\"u1\"]\n[pro_reports]\nwhen = { plan = \"pro\" }\n";
    /// let flags = Flags::from_toml_str(toml, "flags.toml").unwrap();
    /// // A browser asks as `?userId=u1&properties[plan]=pro`: by default its user id counts, its plan not.
    /// let by_default = FrontendConfig::new(["a-frontend-token"]);
    /// assert_eq!(toggles(flags.frontend_router(by_default)).await, ["beta"]);
    /// // The defaults and one property more.
    /// let fields = FrontendConfig::DEFAULT_CLIENT_FIELDS.into_iter().chain(["plan"]);
    /// let config = FrontendConfig::new(["a-frontend-token"]).client_fields(fields);
    /// assert_eq!(toggles(flags.frontend_router(config)).await, ["beta", "pro_reports"]);
    /// # }
    /// ```
    pub const DEFAULT_CLIENT_FIELDS: [&'static str; 3] = ["userId", "sessionId", "appName"];

    /// Accepts requests bearing one of `tokens` (frontend tokens: they can
    /// only read the flags' answers for a context, never definitions).
    ///
    /// ```
    /// # use axum::{body::Body, http::Request, Router};
    /// # use tower::ServiceExt as _;
    /// use flags_middleware::{frontend::FrontendConfig, Flags};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
    /// let api: Router = flags.frontend_router(FrontendConfig::new(["a-frontend-token"]));
    /// let ask = |token| Request::get("/").header("authorization", token).body(Body::empty()).unwrap();
    /// assert_eq!(api.clone().oneshot(ask("a-frontend-token")).await.unwrap().status(), 200);
    /// assert_eq!(api.oneshot(ask("a-guess")).await.unwrap().status(), 401);
    /// # }
    /// ```
    pub fn new<I, S>(tokens: I) -> FrontendConfig
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        FrontendConfig {
            tokens: Tokens::accepting(tokens),
            origins: Origins::Any,
            extra_headers: Vec::new(),
            fields: ClientFields {
                names: Self::DEFAULT_CLIENT_FIELDS.map(String::from).to_vec(),
            },
            ids: IdLogging::default(),
        }
    }

    /// Tokens of other kinds (admin, client API) the app also issues: a
    /// request bearing one is answered 403, as Unleash does, not 401.
    ///
    /// ```
    /// # use axum::{body::Body, http::Request, Router};
    /// # use tower::ServiceExt as _;
    /// use flags_middleware::{frontend::FrontendConfig, Flags};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
    /// let config = FrontendConfig::new(["a-frontend-token"]).other_tokens(["the-admin-token"]);
    /// let api: Router = flags.frontend_router(config);
    /// let ask = |token| Request::get("/").header("authorization", token).body(Body::empty()).unwrap();
    /// // A known token of the wrong kind: the caller learns to use another.
    /// assert_eq!(api.clone().oneshot(ask("the-admin-token")).await.unwrap().status(), 403);
    /// assert_eq!(api.oneshot(ask("a-guess")).await.unwrap().status(), 401);
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

    /// Only these origins (`https://shop.example.com`, exactly as the
    /// browser sends `Origin`) may call the API from a browser; they get
    /// `Access-Control-Allow-Credentials: true`. By default any origin may
    /// (`*`, without credentials), as Unleash allows.
    ///
    /// ```
    /// # use axum::{body::Body, http::Request, Router};
    /// # use tower::ServiceExt as _;
    /// use flags_middleware::{frontend::FrontendConfig, Flags};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
    /// let config = FrontendConfig::new(["a-frontend-token"]).cors_origins(["https://shop.example.com"]);
    /// let api: Router = flags.frontend_router(config);
    /// let from = |origin| {
    ///     let request = Request::get("/").header("authorization", "a-frontend-token").header("origin", origin);
    ///     request.body(Body::empty()).unwrap()
    /// };
    /// let res = api.clone().oneshot(from("https://shop.example.com")).await.unwrap();
    /// assert_eq!(res.headers()["access-control-allow-origin"], "https://shop.example.com");
    /// assert_eq!(res.headers()["access-control-allow-credentials"], "true");
    /// let res = api.oneshot(from("https://elsewhere.example")).await.unwrap();
    /// assert!(res.headers().get("access-control-allow-origin").is_none()); // the browser blocks it
    /// # }
    /// ```
    #[must_use]
    pub fn cors_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.origins = Origins::List(nonempty(origins));
        self
    }

    /// More request headers allowed in preflights, besides the SDK's own
    /// (`authorization`, `content-type`, `if-none-match`, `unleash-sdk`,
    /// `unleash-appname`, `unleash-connection-id`): the app's own headers
    /// given to the SDK as `customHeaders`.
    ///
    /// ```
    /// # use axum::{body::Body, http::Request, Router};
    /// # use tower::ServiceExt as _;
    /// use flags_middleware::{frontend::FrontendConfig, Flags};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
    /// let api: Router = flags.frontend_router(FrontendConfig::new(["a-frontend-token"]).cors_allow_headers(["X-Tenant"]));
    /// let preflight = Request::options("/")
    ///     .header("origin", "https://shop.example.com")
    ///     .header("access-control-request-method", "GET")
    ///     .header("access-control-request-headers", "authorization, x-tenant");
    /// let res = api.oneshot(preflight.body(Body::empty()).unwrap()).await.unwrap();
    /// assert_eq!(res.status(), 204);
    /// let allowed = res.headers()["access-control-allow-headers"].to_str().unwrap();
    /// assert!(allowed.contains("authorization") && allowed.ends_with("x-tenant"), "{allowed}");
    /// # }
    /// ```
    #[must_use]
    pub fn cors_allow_headers<I, S>(mut self, headers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.extra_headers.extend(
            nonempty(headers)
                .into_iter()
                .map(|h| h.to_ascii_lowercase()),
        );
        self
    }

    /// The context fields a client may supply, replacing
    /// [`DEFAULT_CLIENT_FIELDS`](Self::DEFAULT_CLIENT_FIELDS): Unleash's
    /// field names (`userId`, `sessionId`, `remoteAddress`, `environment`,
    /// `appName`, `currentTime`), property names (`plan`), or `*` for every
    /// property. Whatever else a client sends is ignored. Behind
    /// [`FlagsLayer`](crate::FlagsLayer), what the app's resolver found wins
    /// over any of them.
    ///
    /// ```
    /// # use axum::{body::{to_bytes, Body}, http::Request, Router};
    /// # use tower::ServiceExt as _;
    /// use flags_middleware::{frontend::FrontendConfig, Flags};
    ///
    /// # async fn toggles(api: Router) -> Vec<serde_json::Value> {
    /// #     let request = Request::get("/?userId=u1&properties[plan]=pro").header("authorization", "a-frontend-token");
    /// #     let res = api.oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    /// #     let body: serde_json::Value = serde_json::from_slice(&to_bytes(res.into_body(), 4096).await.unwrap()).unwrap();
    /// #     body["toggles"].as_array().unwrap().clone()
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[pro_reports]\nwhen = { plan = \"pro\" }\n", "flags.toml").unwrap();
    /// // A browser asks as `?userId=u1&properties[plan]=pro`:
    /// let by_default = flags.frontend_router(FrontendConfig::new(["a-frontend-token"]));
    /// assert!(toggles(by_default).await.is_empty(), "the plan is the server's to say");
    /// let config = FrontendConfig::new(["a-frontend-token"]).client_fields(["userId", "plan"]);
    /// assert_eq!(toggles(flags.frontend_router(config)).await[0]["name"], "pro_reports");
    /// # }
    /// ```
    #[must_use]
    pub fn client_fields<I, S>(mut self, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.fields = ClientFields {
            names: nonempty(fields),
        };
        self
    }

    /// How user and session ids appear in the decision events (as the
    /// layer's [`FlagsLayer::log_ids`](crate::FlagsLayer::log_ids)).
    ///
    /// ```
    /// # use axum::{body::Body, http::Request, Router};
    /// # use tower::ServiceExt as _;
    /// use flags_middleware::layer::{IdHashKey, IdLogging};
    /// use flags_middleware::{frontend::FrontendConfig, Flags};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let log = tempfile::NamedTempFile::new().unwrap();
    /// # let subscriber = tracing_subscriber::fmt().with_writer(log.reopen().unwrap()).with_ansi(false).finish();
    /// # let _guard = tracing::subscriber::set_default(subscriber);
    /// # let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
    /// let key = IdHashKey::new(*b"not-a-real-key!!"); // in production, from your secret store
    /// let config = FrontendConfig::new(["a-frontend-token"]).log_ids(IdLogging::Hashed(key.clone()));
    /// let api: Router = flags.frontend_router(config);
    /// let request = Request::get("/?userId=user_123").header("authorization", "a-frontend-token");
    /// api.oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    /// let events = std::fs::read_to_string(log.path()).unwrap();
    /// assert!(events.contains(&key.hash("user_123")) && !events.contains("user_123"));
    /// # }
    /// ```
    #[must_use]
    pub fn log_ids(mut self, ids: IdLogging) -> Self {
        self.ids = ids;
        self
    }
}

/// Never shows a token.
impl fmt::Debug for FrontendConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrontendConfig")
            .field("tokens", &self.tokens)
            .field("origins", &self.origins)
            .field("client_fields", &self.fields.names)
            .finish_non_exhaustive()
    }
}
