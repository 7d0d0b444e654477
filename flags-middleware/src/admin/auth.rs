//! Bearer tokens with a name and a role, checked in constant time.

use std::fmt;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{header, Method};
use subtle::{Choice, ConstantTimeEq};

use super::error::AdminError;
use crate::audit::actors;

/// What a token may do.
///
/// ```
/// use flags_middleware::admin::{AdminConfig, Role};
///
/// assert!(Role::Write > Role::Read, "write may do all read may");
/// let config = AdminConfig::new().token("dashboard", "s3cret-read-token", Role::Read);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// List flags, read definitions, status and the audit log.
    Read,
    /// Everything `Read` may, plus every change.
    Write,
}

/// Who may use the admin API: bearer tokens, each with a name (recorded in
/// the audit log) and a [`Role`].
///
/// The API is never open by accident: with no tokens it answers 503 to
/// every API request, unless the app calls [`AdminConfig::allow_without_auth`].
///
/// ```
/// use flags_middleware::admin::{AdminConfig, Role};
///
/// let config = AdminConfig::new()
///     .token("ops", "s3cret-write-token", Role::Write)
///     .token("dashboard", "s3cret-read-token", Role::Read);
/// ```
#[derive(Clone, Default)]
pub struct AdminConfig {
    tokens: Vec<Token>,
    open: bool,
    pub(crate) guard: Option<crate::guard::Guard>,
}

#[derive(Clone)]
struct Token {
    name: String,
    secret: Vec<u8>,
    role: Role,
}

/// A token definition that could not be read (see [`AdminConfig::from_env`]).
///
/// ```
/// use flags_middleware::admin::AdminConfig;
///
/// let e = AdminConfig::from_env("NO_SUCH_VARIABLE_FOR_THIS_DOCTEST").unwrap_err();
/// assert!(e.to_string().contains("NO_SUCH_VARIABLE_FOR_THIS_DOCTEST"), "{e}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminConfigError(String);

impl fmt::Display for AdminConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AdminConfigError {}

impl fmt::Debug for AdminConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print secrets.
        let tokens: Vec<(&str, Role)> = self
            .tokens
            .iter()
            .map(|t| (t.name.as_str(), t.role))
            .collect();
        f.debug_struct("AdminConfig")
            .field("tokens", &tokens)
            .field("open", &self.open)
            .field("guard", &self.guard.is_some())
            .finish()
    }
}

impl AdminConfig {
    /// No tokens yet: add some with [`AdminConfig::token`].
    ///
    /// ```
    /// # use axum::{body::{to_bytes, Body}, http::Request, Router};
    /// # use tower::ServiceExt as _;
    /// # async fn call(api: &Router, method: &str, path: &str, token: Option<&str>) -> (u16, String) {
    /// #     let mut request = Request::builder().method(method).uri(path);
    /// #     if let Some(token) = token { request = request.header("authorization", format!("Bearer {token}")); }
    /// #     let res = api.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    /// #     (res.status().as_u16(), String::from_utf8(to_bytes(res.into_body(), 4096).await.unwrap().to_vec()).unwrap())
    /// # }
    /// use flags_middleware::{admin::AdminConfig, Flags};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
    /// let api: Router = flags.admin_router(AdminConfig::new());
    /// // Never open by accident: without tokens, every API request is refused.
    /// assert_eq!(call(&api, "GET", "/_status", None).await.0, 503);
    /// # }
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a token: requests bearing `secret` act as `name` with `role`.
    ///
    /// ```
    /// # use axum::{body::{to_bytes, Body}, http::Request, Router};
    /// # use tower::ServiceExt as _;
    /// # async fn call(api: &Router, method: &str, path: &str, token: Option<&str>) -> (u16, String) {
    /// #     let mut request = Request::builder().method(method).uri(path);
    /// #     if let Some(token) = token { request = request.header("authorization", format!("Bearer {token}")); }
    /// #     let res = api.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    /// #     (res.status().as_u16(), String::from_utf8(to_bytes(res.into_body(), 4096).await.unwrap().to_vec()).unwrap())
    /// # }
    /// use flags_middleware::{admin::{AdminConfig, Role}, Flags};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
    /// let config = AdminConfig::new()
    ///     .token("ops", "s3cret-write-token", Role::Write)
    ///     .token("dashboard", "s3cret-read-token", Role::Read);
    /// let api: Router = flags.admin_router(config);
    /// let whoami = call(&api, "GET", "/_whoami", Some("s3cret-read-token")).await;
    /// assert_eq!(whoami, (200, r#"{"name":"dashboard","role":"read"}"#.to_owned()));
    /// assert_eq!(call(&api, "POST", "/new_checkout_flow/kill", Some("s3cret-read-token")).await.0, 403);
    /// assert_eq!(call(&api, "POST", "/new_checkout_flow/kill", Some("s3cret-write-token")).await.0, 200);
    /// # }
    /// ```
    #[must_use]
    pub fn token(mut self, name: impl Into<String>, secret: impl AsRef<[u8]>, role: Role) -> Self {
        self.tokens.push(Token {
            name: name.into(),
            secret: secret.as_ref().to_vec(),
            role,
        });
        self
    }

    /// Tokens from an environment variable holding `name:role:secret`
    /// entries separated by commas (`ops:write:abc,grafana:read:def`).
    ///
    /// # Errors
    /// When the variable is missing or not UTF-8, an entry is malformed, a
    /// role is other than `read` or `write`, or a secret is shorter than 16
    /// characters.
    ///
    /// ```
    /// # use axum::{body::{to_bytes, Body}, http::Request, Router};
    /// # use tower::ServiceExt as _;
    /// # async fn call(api: &Router, method: &str, path: &str, token: Option<&str>) -> (u16, String) {
    /// #     let mut request = Request::builder().method(method).uri(path);
    /// #     if let Some(token) = token { request = request.header("authorization", format!("Bearer {token}")); }
    /// #     let res = api.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    /// #     (res.status().as_u16(), String::from_utf8(to_bytes(res.into_body(), 4096).await.unwrap().to_vec()).unwrap())
    /// # }
    /// use flags_middleware::{admin::AdminConfig, Flags};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # std::env::set_var("FLAGS_ADMIN_TOKENS", "ops:write:0123456789abcdef,grafana:read:fedcba9876543210");
    /// // FLAGS_ADMIN_TOKENS=ops:write:0123456789abcdef,grafana:read:fedcba9876543210
    /// let config = AdminConfig::from_env("FLAGS_ADMIN_TOKENS").unwrap();
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
    /// let api: Router = flags.admin_router(config);
    /// let whoami = call(&api, "GET", "/_whoami", Some("fedcba9876543210")).await;
    /// assert_eq!(whoami, (200, r#"{"name":"grafana","role":"read"}"#.to_owned()));
    /// # }
    /// ```
    pub fn from_env(var: &str) -> Result<Self, AdminConfigError> {
        let text = std::env::var(var).map_err(|e| AdminConfigError(format!("{var}: {e}")))?;
        Self::parse(&text).map_err(|e| AdminConfigError(format!("{var}: {}", e.0)))
    }

    fn parse(text: &str) -> Result<Self, AdminConfigError> {
        let mut config = AdminConfig::new();
        // A malformed entry is named by its position only: a bare or
        // misordered one would put its secret in the message, which startup
        // code prints.
        let entries = text.split(',').map(str::trim).filter(|e| !e.is_empty());
        for (n, entry) in entries.enumerate().map(|(i, e)| (i + 1, e)) {
            let mut parts = entry.splitn(3, ':');
            let (Some(name), Some(role), Some(secret)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(AdminConfigError(format!(
                    "token entry {n} is not name:role:secret"
                )));
            };
            let role = match role {
                "read" => Role::Read,
                "write" => Role::Write,
                _ => {
                    return Err(AdminConfigError(format!(
                        "token entry {n}: the role, between the name and the secret, is `read` or `write` (entries are name:role:secret)"
                    )))
                }
            };
            if secret.len() < 16 {
                return Err(AdminConfigError(format!(
                    "token entry {n}: a secret needs at least 16 characters"
                )));
            }
            config = config.token(name, secret, role);
        }
        Ok(config)
    }

    /// Whether no request can ever pass (no tokens, no opt-out).
    pub(crate) fn refuses_everyone(&self) -> bool {
        self.tokens.is_empty() && !self.open
    }

    /// Serves the admin API without authentication: every request acts as
    /// `anonymous` with [`Role::Write`]. Only for a listener nobody else can
    /// reach (a unix socket, a sidecar); the app must ask for it by name.
    /// A browser is such a client too, for any page it opens: so a change
    /// a browser says comes from another origin (`Sec-Fetch-Site`, or an
    /// `Origin` other than the host asked) is refused (403 `cross_site`).
    ///
    /// ```
    /// # use axum::{body::{to_bytes, Body}, http::Request, Router};
    /// # use tower::ServiceExt as _;
    /// # async fn call(api: &Router, method: &str, path: &str, token: Option<&str>) -> (u16, String) {
    /// #     let mut request = Request::builder().method(method).uri(path);
    /// #     if let Some(token) = token { request = request.header("authorization", format!("Bearer {token}")); }
    /// #     let res = api.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    /// #     (res.status().as_u16(), String::from_utf8(to_bytes(res.into_body(), 4096).await.unwrap().to_vec()).unwrap())
    /// # }
    /// use flags_middleware::{admin::AdminConfig, Flags};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
    /// // Served on a unix socket only the sidecar can reach.
    /// let api: Router = flags.admin_router(AdminConfig::new().allow_without_auth());
    /// let whoami = call(&api, "GET", "/_whoami", None).await;
    /// assert_eq!(whoami, (200, r#"{"name":"anonymous","role":"write"}"#.to_owned()));
    /// # }
    /// ```
    #[must_use]
    pub fn allow_without_auth(mut self) -> Self {
        self.open = true;
        self
    }

    /// Serves `guard`'s state (`GET /_guard`) and plan control
    /// (`POST /{name}/plan/{pause|resume|restart|abandon}`, write role).
    /// Without it those endpoints answer 404 (`no_guard`).
    ///
    /// ```
    /// use flags_middleware::admin::{AdminConfig, Role};
    /// use flags_middleware::guard::{Guard, GuardConfig};
    /// use flags_middleware::Flags;
    ///
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\nrollout = 5\n", "flags.toml").unwrap();
    /// let guard = Guard::for_flags(&flags)
    ///     .watch("new_checkout_flow", GuardConfig::new())
    ///     .build();
    /// let admin: axum::Router = flags.admin_router(
    ///     AdminConfig::new()
    ///         .token("ops", "a-long-random-secret", Role::Write)
    ///         .guard(guard.clone()),
    /// );
    /// ```
    #[must_use]
    pub fn guard(mut self, guard: crate::guard::Guard) -> Self {
        self.guard = Some(guard);
        self
    }

    /// The guard given with [`AdminConfig::guard`], if any (to show its
    /// verdicts elsewhere too, as [`Prometheus`](crate::export::Prometheus) does).
    ///
    /// ```
    /// use flags_middleware::admin::AdminConfig;
    /// use flags_middleware::guard::{Guard, GuardConfig};
    /// use flags_middleware::Flags;
    ///
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\nrollout = 5\n", "flags.toml").unwrap();
    /// let guard = Guard::for_flags(&flags).watch("new_checkout_flow", GuardConfig::new()).build();
    /// assert!(AdminConfig::new().attached_guard().is_none());
    /// let config = AdminConfig::new().guard(guard);
    /// assert!(config.attached_guard().is_some_and(|g| g.snapshot().flag("new_checkout_flow").is_some()));
    /// ```
    pub fn attached_guard(&self) -> Option<&crate::guard::Guard> {
        self.guard.as_ref()
    }
}

/// The caller, as the auth check found it; handlers read it from the
/// request's extensions.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub(crate) name: String,
    /// What the token may do (`Write` without authentication).
    pub(crate) role: Role,
}

impl Caller {
    /// The name this caller's changes are made and audited under. A token
    /// named as one of the library's own [`actors`] writes as
    /// `<name> (admin token)`, so nothing it does passes for the rollout
    /// guard (whose kill a read-only store such as Unleash's still takes) or
    /// for an outside change, in the store or in the audit log.
    pub(crate) fn actor(&self) -> std::borrow::Cow<'_, str> {
        if actors::ALL.contains(&self.name.as_str()) {
            format!("{} (admin token)", self.name).into()
        } else {
            self.name.as_str().into()
        }
    }
}

/// Checks the bearer token against every configured token, without
/// stopping early, so the time taken does not tell how much of a secret
/// matched.
fn authenticate<'a>(config: &'a AdminConfig, presented: &[u8]) -> Option<&'a Token> {
    let mut found = None;
    for t in &config.tokens {
        if bool::from(constant_time_eq(&t.secret, presented)) {
            found = Some(t);
        }
    }
    found
}

/// Equality whose time depends only on the presented length.
fn constant_time_eq(secret: &[u8], presented: &[u8]) -> Choice {
    if secret.is_empty() {
        return Choice::from(0);
    }
    let mut same = (secret.len() as u64).ct_eq(&(presented.len() as u64));
    for (i, b) in presented.iter().enumerate() {
        same &= b.ct_eq(&secret[i % secret.len()]);
    }
    same
}

/// The middleware: 401 without a valid token, 403 for a read token on a
/// write, 503 when no tokens are configured.
pub(crate) async fn require_token(
    State(config): State<Arc<AdminConfig>>,
    mut req: Request,
    next: Next,
) -> Response {
    let caller = if config.open {
        // Without tokens, nothing stops a page on any site from making the
        // browser post a kill here (a form needs no preflight): refuse what
        // the browser says is not this site's own.
        if !matches!(*req.method(), Method::GET | Method::HEAD) && cross_site(&req) {
            return AdminError::CrossSite.into_response();
        }
        Caller {
            name: "anonymous".into(),
            role: Role::Write,
        }
    } else {
        if config.tokens.is_empty() {
            return AdminError::Disabled.into_response();
        }
        let presented = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_credentials);
        let Some(token) = presented.and_then(|p| authenticate(&config, p.as_bytes())) else {
            return AdminError::Unauthorized.into_response();
        };
        let needs = if matches!(*req.method(), Method::GET | Method::HEAD) {
            Role::Read
        } else {
            Role::Write
        };
        if token.role < needs {
            return AdminError::Forbidden(token.name.clone()).into_response();
        }
        Caller {
            name: token.name.clone(),
            role: token.role,
        }
    };
    req.extensions_mut().insert(caller);
    next.run(req).await
}

/// Whether a browser says the request comes from a page of another origin:
/// `Sec-Fetch-Site` other than `same-origin` or `none` (typed in, a
/// bookmark), or else an `Origin` whose host is not the one asked (`Host`,
/// or over HTTP/2 the URI's authority). Clients that are not browsers send
/// neither.
fn cross_site(req: &Request) -> bool {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site") {
        return !matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, host)| host);
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    match (origin_host, host) {
        (Some(o), Some(h)) => !o.eq_ignore_ascii_case(h),
        // `Origin: null` (a sandboxed page, a file), or no `Host` to match.
        _ => true,
    }
}

/// The credentials of an `Authorization: Bearer <token>` header. The scheme
/// name is case-insensitive (RFC 7235 section 2.1), so `BEARER x` and
/// `bearer x` are the same header; any run of spaces may follow it.
pub(crate) fn bearer_credentials(header: &str) -> Option<&str> {
    let (scheme, rest) = header.trim_start().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim())
        .filter(|token| !token.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_exactly() {
        let c = AdminConfig::new()
            .token("ops", "0123456789abcdef", Role::Write)
            .token("ro", "fedcba9876543210", Role::Read);
        assert_eq!(
            authenticate(&c, b"0123456789abcdef").map(|t| t.name.as_str()),
            Some("ops")
        );
        assert_eq!(
            authenticate(&c, b"fedcba9876543210").map(|t| t.role),
            Some(Role::Read)
        );
        assert!(authenticate(&c, b"0123456789abcde").is_none());
        assert!(authenticate(&c, b"0123456789abcdef0123456789abcdef").is_none());
        assert!(authenticate(&c, b"").is_none());
    }

    #[test]
    fn env_format_is_name_role_secret() {
        let c = AdminConfig::parse("ops:write:0123456789abcdef, grafana:read:fedcba9876543210")
            .unwrap();
        assert_eq!(c.tokens.len(), 2);
        assert_eq!(c.tokens[1].role, Role::Read);
        assert!(AdminConfig::parse("ops:admin:0123456789abcdef").is_err());
        assert!(AdminConfig::parse("ops:write:short").is_err());
        assert!(AdminConfig::parse("just-a-secret").is_err());
        assert!(!format!("{c:?}").contains("0123456789abcdef"));
    }

    #[test]
    fn a_malformed_entry_is_named_without_its_secret() {
        let secret = "0123456789abcdefXYZ";
        for (text, says) in [
            // A bare secret, and one with the fields in the wrong order.
            (secret.to_owned(), "token entry 1 is not name:role:secret"),
            (format!("ops:{secret}:write"), "token entry 1: the role"),
            (
                format!("a:read:{secret},ops:{secret}"),
                "token entry 2 is not",
            ),
            // Name and secret swapped: the "secret" is then too short.
            (
                format!("{secret}:write:ops"),
                "token entry 1: a secret needs",
            ),
        ] {
            let e = AdminConfig::parse(&text).unwrap_err().to_string();
            assert!(e.contains(says), "{e}");
            assert!(!e.contains(secret), "{e}");
        }
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for header in ["Bearer t0k", "bearer t0k", "BEARER t0k", "BeArEr   t0k  "] {
            assert_eq!(bearer_credentials(header), Some("t0k"), "{header}");
        }
        for header in ["Basic t0k", "Bearer", "Bearer ", "Bearert0k", "t0k"] {
            assert_eq!(bearer_credentials(header), None, "{header}");
        }
    }

    #[test]
    fn a_token_named_like_the_library_writes_as_an_admin_token() {
        let actor = |name: &str| {
            Caller {
                name: name.to_owned(),
                role: Role::Write,
            }
            .actor()
            .into_owned()
        };
        for system in actors::ALL {
            assert_eq!(actor(system), format!("{system} (admin token)"));
        }
        assert_eq!(actor("ops"), "ops");
        assert_eq!(actor("guardian"), "guardian");
    }
}
