//! [`UnleashConfig`]: which Unleash server, who this app is to it, how often
//! to ask, and what to serve until it answers.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustls::RootCertStore;

use crate::store::tls::ClientIdentity;

/// How an [`UnleashStore`](super::UnleashStore) reaches an Unleash server.
/// Built with setters that take and return `self`; every default is the one
/// Unleash's own server SDKs use.
///
/// ```
/// use std::time::Duration;
/// use flags_middleware::store::UnleashConfig;
///
/// let config = UnleashConfig::new("http://localhost:4242/api", "default:development.secret")
///     .unwrap()
///     .app_name("checkout")
///     .instance_id("web-1")
///     .refresh_interval(Duration::from_secs(5))
///     .last_known_good("/var/lib/checkout/unleash.last-good.json");
/// assert_eq!(config.url(), "http://localhost:4242/api");
/// assert_eq!(config.environment(), "development");
/// ```
#[derive(Clone)]
pub struct UnleashConfig {
    pub(super) url: String,
    pub(super) token: String,
    pub(super) app_name: String,
    pub(super) instance_id: String,
    pub(super) environment: Option<String>,
    pub(super) refresh_interval: Duration,
    pub(super) metrics_interval: Option<Duration>,
    pub(super) timeout: Duration,
    pub(super) last_known_good: Option<PathBuf>,
    pub(super) bootstrap: Option<PathBuf>,
    pub(super) admin_token: Option<String>,
    /// Trusted besides the built-in roots (from `root_certificate`).
    pub(super) extra_roots: RootCertStore,
    /// The files `extra_roots` came from, for `Debug`.
    pub(super) root_certificates: Vec<PathBuf>,
    /// Presented to servers that ask for a client certificate.
    pub(super) client_identity: Option<ClientIdentity>,
    /// The certificate file `client_identity` came from, for `Debug`.
    pub(super) client_certificate: Option<PathBuf>,
}

/// Why an [`UnleashConfig`] was refused.
///
/// ```
/// use flags_middleware::store::{UnleashConfig, UnleashConfigError};
///
/// let err = UnleashConfig::new("unleash.internal:4242/api", "default:development.secret").unwrap_err();
/// assert!(matches!(err, UnleashConfigError::Url(_)));
/// assert_eq!(
///     err.to_string(),
///     "unleash url: `unleash.internal:4242/api` does not start with http:// or https://"
/// );
/// let err = UnleashConfig::new("http://unleash.internal:4242/api", " ").unwrap_err();
/// assert_eq!(err, UnleashConfigError::EmptyToken);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnleashConfigError {
    /// The URL is not `http[s]://host[:port]/path`.
    Url(String),
    /// The token is empty.
    EmptyToken,
    /// A [root certificate](UnleashConfig::root_certificate) file cannot be
    /// read or holds no usable certificate (the message names the file).
    RootCertificate(String),
    /// A [client certificate](UnleashConfig::client_certificate) or its key
    /// cannot be read or used (the message names the file).
    ClientCertificate(String),
}

impl fmt::Display for UnleashConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnleashConfigError::Url(m) => write!(f, "unleash url: {m}"),
            UnleashConfigError::EmptyToken => write!(f, "unleash token: empty"),
            UnleashConfigError::RootCertificate(m) => write!(f, "unleash root_certificate: {m}"),
            UnleashConfigError::ClientCertificate(m) => {
                write!(f, "unleash client_certificate: {m}")
            }
        }
    }
}

impl std::error::Error for UnleashConfigError {}

impl fmt::Debug for UnleashConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Tokens are secrets: never in logs.
        f.debug_struct("UnleashConfig")
            .field("url", &self.url)
            .field("app_name", &self.app_name)
            .field("instance_id", &self.instance_id)
            .field("environment", &self.environment())
            .field("refresh_interval", &self.refresh_interval)
            .field("metrics_interval", &self.metrics_interval)
            .field("timeout", &self.timeout)
            .field("last_known_good", &self.last_known_good)
            .field("bootstrap", &self.bootstrap)
            .field("admin_token", &self.admin_token.as_ref().map(|_| "<set>"))
            .field("root_certificates", &self.root_certificates)
            .field("client_certificate", &self.client_certificate)
            .finish_non_exhaustive()
    }
}

impl UnleashConfig {
    /// The Unleash API root as Unleash's SDKs take it
    /// (`https://unleash.example.com/api`, `http://localhost:4242/api`; a
    /// trailing `/` is fine) and a backend (client) token, sent as it is in
    /// `authorization`.
    ///
    /// `https://` servers are checked against Mozilla's root certificates
    /// (built in, so no system certificate store is needed), plus any
    /// [`root_certificate`](Self::root_certificate) given.
    ///
    /// Defaults: app name `flags-rust`, instance id `<host name>-<pid>`,
    /// refresh every 15 s, metrics every 60 s, a 10 s timeout per request,
    /// no last-known-good or bootstrap file, no admin token, no extra root
    /// certificate, no client certificate.
    ///
    /// ```
    /// use flags_middleware::store::{UnleashConfig, UnleashConfigError};
    ///
    /// let config = UnleashConfig::new("https://unleash.internal/api/", "default:production.4bf0").unwrap();
    /// assert_eq!(config.url(), "https://unleash.internal/api");
    /// assert_eq!(config.environment(), "production"); // read from the token
    /// assert!(matches!(UnleashConfig::new("https://unleash.internal/api", " "), Err(UnleashConfigError::EmptyToken)));
    /// ```
    ///
    /// # Errors
    /// An URL that is not `http://` or `https://`, or an empty token.
    pub fn new(url: &str, token: &str) -> Result<UnleashConfig, UnleashConfigError> {
        let url = url.trim().trim_end_matches('/').to_owned();
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .ok_or_else(|| {
                UnleashConfigError::Url(format!("`{url}` does not start with http:// or https://"))
            })?;
        if rest.is_empty() || rest.starts_with('/') {
            return Err(UnleashConfigError::Url(format!("`{url}` names no host")));
        }
        url.parse::<http::Uri>()
            .map_err(|e| UnleashConfigError::Url(format!("`{url}`: {e}")))?;
        if token.trim().is_empty() {
            return Err(UnleashConfigError::EmptyToken);
        }
        Ok(UnleashConfig {
            url,
            token: token.trim().to_owned(),
            app_name: "flags-rust".to_owned(),
            instance_id: default_instance_id(),
            environment: None,
            refresh_interval: Duration::from_secs(15),
            metrics_interval: Some(Duration::from_secs(60)),
            timeout: Duration::from_secs(10),
            last_known_good: None,
            bootstrap: None,
            admin_token: None,
            extra_roots: RootCertStore::empty(),
            root_certificates: Vec::new(),
            client_identity: None,
            client_certificate: None,
        })
    }

    /// The name Unleash shows for this app (`unleash-appname`). Default
    /// `flags-rust`.
    ///
    /// ```
    /// use flags_middleware::store::UnleashConfig;
    ///
    /// let config = UnleashConfig::new("http://unleash:4242/api", "default:development.4bf0")
    ///     .unwrap()
    ///     .app_name("checkout"); // how Unleash's UI lists this app's instances
    /// ```
    pub fn app_name(mut self, name: impl Into<String>) -> Self {
        self.app_name = name.into();
        self
    }

    /// This instance's id (`unleash-instanceid`). Default: the host name and
    /// the process id.
    ///
    /// ```
    /// use flags_middleware::store::UnleashConfig;
    ///
    /// let config = UnleashConfig::new("http://unleash:4242/api", "default:development.4bf0")
    ///     .unwrap()
    ///     .instance_id("web-1");
    /// ```
    pub fn instance_id(mut self, id: impl Into<String>) -> Self {
        self.instance_id = id.into();
        self
    }

    /// The Unleash environment the token is for: where the guard's kill is
    /// applied. Default: read from the token (`project:environment.secret`),
    /// else `development`.
    ///
    /// ```
    /// use flags_middleware::store::UnleashConfig;
    ///
    /// // A token for every environment says none: name it.
    /// let config = UnleashConfig::new("http://unleash:4242/api", "*:*.4bf0").unwrap();
    /// assert_eq!(config.with_environment("staging").environment(), "staging");
    /// let plain = UnleashConfig::new("http://unleash:4242/api", "some-secret").unwrap();
    /// assert_eq!(plain.environment(), "development");
    /// ```
    pub fn with_environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// How often to ask Unleash for changes. Default 15 s; at least 10 ms.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::store::UnleashConfig;
    ///
    /// let config = UnleashConfig::new("http://unleash:4242/api", "default:development.4bf0").unwrap();
    /// assert_eq!(config.refresh_every(), Duration::from_secs(15));
    /// let eager = config.refresh_interval(Duration::ZERO);
    /// assert_eq!(eager.refresh_every(), Duration::from_millis(10));
    /// ```
    pub fn refresh_interval(mut self, every: Duration) -> Self {
        self.refresh_interval = every.max(Duration::from_millis(10));
        self
    }

    /// How often to post usage counts to Unleash (a `Duration`); `None`
    /// posts none (and does not register). Default 60 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::store::UnleashConfig;
    ///
    /// let every_10s = UnleashConfig::new("http://localhost:4242/api", "default:development.secret")
    ///     .unwrap()
    ///     .metrics_interval(Duration::from_secs(10));
    /// let silent = every_10s.clone().metrics_interval(None);
    /// ```
    pub fn metrics_interval(mut self, every: impl Into<Option<Duration>>) -> Self {
        self.metrics_interval = every.into().map(|d| d.max(Duration::from_millis(10)));
        self
    }

    /// How long one request to Unleash may take. Default 10 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::store::UnleashConfig;
    ///
    /// let config = UnleashConfig::new("http://unleash:4242/api", "default:development.4bf0")
    ///     .unwrap()
    ///     .timeout(Duration::from_secs(2));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// A file rewritten (atomically) after every successful fetch, and
    /// served at startup while Unleash cannot be reached.
    ///
    /// ```
    /// use flags_middleware::store::UnleashConfig;
    ///
    /// let config = UnleashConfig::new("http://unleash:4242/api", "default:development.4bf0")
    ///     .unwrap()
    ///     .last_known_good("/var/lib/checkout/unleash.last-good.json");
    /// ```
    pub fn last_known_good(mut self, path: impl AsRef<Path>) -> Self {
        self.last_known_good = Some(path.as_ref().to_owned());
        self
    }

    /// Flags to serve until the first fetch succeeds when there is no
    /// last-known-good file yet: a TOML file (`.toml`) or Unleash client-API
    /// JSON (anything else).
    ///
    /// ```
    /// use flags_middleware::store::UnleashConfig;
    ///
    /// // Until the first fetch on a fresh machine: the flags shipped with the app.
    /// let config = UnleashConfig::new("http://unleash:4242/api", "default:development.4bf0")
    ///     .unwrap()
    ///     .last_known_good("/var/lib/checkout/unleash.last-good.json")
    ///     .bootstrap("flags.toml");
    /// ```
    pub fn bootstrap(mut self, path: impl AsRef<Path>) -> Self {
        self.bootstrap = Some(path.as_ref().to_owned());
        self
    }

    /// An Unleash admin token (a personal access token or admin API token):
    /// the rollout guard's kill is then made in Unleash (the flag's
    /// environment turned off), not only here.
    ///
    /// ```
    /// use flags_middleware::store::UnleashConfig;
    ///
    /// let config = UnleashConfig::new("http://unleash:4242/api", "default:development.4bf0")
    ///     .unwrap()
    ///     .admin_token("user:9f1c0e-admin-secret");
    /// let debug = format!("{config:?}");
    /// assert!(debug.contains(r#"admin_token: Some("<set>")"#)); // never the token itself
    /// assert!(!debug.contains("admin-secret"));
    /// ```
    pub fn admin_token(mut self, token: impl Into<String>) -> Self {
        self.admin_token = Some(token.into());
        self
    }

    /// Also trusts the root certificates in the PEM file at `path` (one or
    /// more `-----BEGIN CERTIFICATE-----` blocks) when checking an `https://`
    /// server's certificate: for an Unleash whose certificate a private CA
    /// signed. The built-in roots stay trusted; call it again for more files.
    /// The file is read here, once.
    ///
    /// ```no_run
    /// use flags_middleware::store::UnleashConfig;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let config = UnleashConfig::new("https://unleash.internal/api", "default:production.secret")?
    ///     .root_certificate("/etc/ssl/internal-ca.pem")?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`UnleashConfigError::RootCertificate`], naming the file, when it
    /// cannot be read, is not PEM, holds no certificate, or holds one that
    /// cannot be a root.
    pub fn root_certificate(mut self, path: impl AsRef<Path>) -> Result<Self, UnleashConfigError> {
        let path = path.as_ref();
        crate::store::tls::add_pem_roots(&mut self.extra_roots, path, "root_certificate")
            .map_err(UnleashConfigError::RootCertificate)?;
        self.root_certificates.push(path.to_owned());
        Ok(self)
    }

    /// Presents the certificate in the PEM file at `cert` (the client's own
    /// first, then any intermediates) and its private key at `key` (PEM:
    /// PKCS#8, PKCS#1 or SEC1) to an `https://` server that asks for one:
    /// mutual TLS, for an Unleash (or Edge) behind a proxy that admits only
    /// known clients. The files are read here, once; the key must be the
    /// certificate's. Servers that do not ask never see it.
    ///
    /// ```no_run
    /// use flags_middleware::store::UnleashConfig;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let config = UnleashConfig::new("https://unleash.internal/api", "default:production.secret")?
    ///     .root_certificate("/etc/ssl/internal-ca.pem")?
    ///     .client_certificate("/etc/ssl/checkout.crt", "/etc/ssl/checkout.key")?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`UnleashConfigError::ClientCertificate`], naming the file, when either
    /// file cannot be read or is not PEM, the first holds no certificate, the
    /// second no private key, or the key is not the certificate's.
    pub fn client_certificate(
        mut self,
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, UnleashConfigError> {
        let cert = cert.as_ref();
        let identity = ClientIdentity::read(cert, key.as_ref(), "client_certificate")
            .map_err(UnleashConfigError::ClientCertificate)?;
        self.client_identity = Some(identity);
        self.client_certificate = Some(cert.to_owned());
        Ok(self)
    }

    /// The API root, without a trailing `/`.
    ///
    /// ```
    /// use flags_middleware::store::UnleashConfig;
    ///
    /// let config = UnleashConfig::new(" https://unleash.internal/api/ ", "default:production.4bf0").unwrap();
    /// assert_eq!(config.url(), "https://unleash.internal/api");
    /// ```
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The Unleash environment kills are made in (see
    /// [`with_environment`](Self::with_environment)).
    ///
    /// ```
    /// use flags_middleware::store::UnleashConfig;
    ///
    /// let config = UnleashConfig::new("http://unleash:4242/api", "shop:production.4bf0").unwrap();
    /// assert_eq!(config.environment(), "production"); // `project:environment.secret`
    /// assert_eq!(config.with_environment("staging").environment(), "staging");
    /// ```
    pub fn environment(&self) -> &str {
        if let Some(env) = &self.environment {
            return env;
        }
        // `project:environment.secret` (`*:environment.secret` for all projects).
        self.token
            .split_once(':')
            .and_then(|(_, rest)| rest.split_once('.'))
            .map(|(env, _)| env)
            .filter(|env| !env.is_empty())
            .unwrap_or("development")
    }

    /// The refresh interval.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::store::UnleashConfig;
    ///
    /// let config = UnleashConfig::new("http://unleash:4242/api", "default:development.4bf0").unwrap();
    /// assert_eq!(config.refresh_every(), Duration::from_secs(15));
    /// let config = config.refresh_interval(Duration::from_secs(5));
    /// assert_eq!(config.refresh_every(), Duration::from_secs(5));
    /// ```
    pub fn refresh_every(&self) -> Duration {
        self.refresh_interval
    }
}

/// `<host name>-<pid>`, as Unleash's SDKs build theirs.
fn default_instance_id() -> String {
    let host = crate::engine::hostname();
    let host = if host.is_empty() { "flags" } else { &host };
    format!("{host}-{}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_tokens_are_checked_and_the_environment_read_from_the_token() {
        let c = UnleashConfig::new("http://u:4242/api/", "*:production.abc").unwrap();
        assert_eq!(
            (c.url(), c.environment()),
            ("http://u:4242/api", "production")
        );
        let c = c.with_environment("staging");
        assert_eq!(c.environment(), "staging");
        let c = UnleashConfig::new("http://u/api", "opaque").unwrap();
        assert_eq!(c.environment(), "development");
        let c = UnleashConfig::new("https://u/api/", "t").unwrap();
        assert_eq!(c.url(), "https://u/api");
        let e = UnleashConfig::new("localhost:4242", "t").unwrap_err();
        assert!(e.to_string().contains("http:// or https://"), "{e}");
        let e = UnleashConfig::new("https:///api", "t").unwrap_err();
        assert!(e.to_string().contains("names no host"), "{e}");
        assert_eq!(
            UnleashConfig::new("http://u/api", " ").unwrap_err(),
            UnleashConfigError::EmptyToken
        );
        let debug = format!(
            "{:?}",
            UnleashConfig::new("http://u/api", "secret").unwrap()
        );
        assert!(!debug.contains("secret"), "{debug}");
    }

    #[test]
    fn a_root_certificate_that_cannot_be_used_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing-ca.pem");
        let e = UnleashConfig::new("https://u/api", "t")
            .unwrap()
            .root_certificate(&missing)
            .unwrap_err();
        assert!(matches!(e, UnleashConfigError::RootCertificate(_)), "{e:?}");
        let text = e.to_string();
        assert!(
            text.contains("root_certificate") && text.contains("missing-ca.pem"),
            "{text}"
        );
    }
}
