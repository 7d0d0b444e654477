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
    pub const DEFAULT_CLIENT_FIELDS: [&'static str; 3] = ["userId", "sessionId", "appName"];

    /// Accepts requests bearing one of `tokens` (frontend tokens: they can
    /// only read the flags' answers for a context, never definitions).
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
