//! [`PostgresConfig`]: where the database is, who this instance is, and what
//! to do while the database is away.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::conninfo;
use super::tls::SslMode;

/// How a [`PostgresStore`](super::PostgresStore) connects and behaves when the
/// database is away. Built with setters that take and return `self`.
///
/// # TLS
///
/// The connection string's `sslmode` is honoured as libpq does (rustls does
/// the TLS):
///
/// | `sslmode` | encrypted | certificate checked |
/// |---|---|---|
/// | `disable` | never | - |
/// | `prefer` (the default) | when the server offers TLS | only against a root certificate, if one is given |
/// | `require` | always | only against a root certificate, if one is given |
/// | `verify-ca` | always | signed by the root certificate |
/// | `verify-full` | always | signed by the root certificate, and names the host connected to |
///
/// The root certificate (a PEM file, several certificates allowed) comes
/// from `sslrootcert=<path>` in the connection string or from
/// [`root_cert`](Self::root_cert); `verify-ca` and `verify-full` refuse to
/// start without one. It is read again for each new connection, so a
/// replaced file is used from the next reconnect on. Over a Unix socket
/// there is no TLS and `sslmode` is ignored, as in libpq.
/// `sslrootcert=system` is not supported.
///
/// A server that checks its clients' certificates (`cert` in `pg_hba.conf`,
/// or `clientcert=verify-full`) is given the certificate and key (PEM) from
/// `sslcert=<path> sslkey=<path>` in the connection string or from
/// [`client_cert`](Self::client_cert); they are read again for each new
/// connection too, so a renewed certificate is used from the next
/// reconnect on. Unlike libpq, nothing is read from `~/.postgresql/`.
///
/// ```
/// use flags_middleware::store::PostgresConfig;
///
/// // Encrypted, the server's certificate signed by our CA and valid for `db.internal`:
/// let config = PostgresConfig::new(
///     "host=db.internal user=flags dbname=app sslmode=verify-full sslrootcert=/etc/ssl/db-ca.pem",
/// )
/// .unwrap();
/// # let _ = config;
/// // The same, with the root certificate given in code:
/// let config = PostgresConfig::new("postgresql://flags@db.internal/app?sslmode=verify-full")
///     .unwrap()
///     .root_cert("/etc/ssl/db-ca.pem");
/// # let _ = config;
/// // Mutual TLS: this instance proves who it is with a certificate.
/// let config = PostgresConfig::new(
///     "host=db.internal user=flags dbname=app sslmode=verify-full sslrootcert=/etc/ssl/db-ca.pem \
///      sslcert=/etc/ssl/flags.crt sslkey=/etc/ssl/flags.key",
/// )
/// .unwrap();
/// # let _ = config;
/// ```
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use flags_middleware::store::PostgresConfig;
///
/// let config = PostgresConfig::new("host=127.0.0.1 user=flags dbname=app")
///     .unwrap()
///     .instance("web-1")
///     .last_known_good("/var/lib/app/flags.last-good.json")
///     .seed_file("flags.toml")
///     .reconnect_backoff(Duration::from_millis(100), Duration::from_secs(5));
/// assert_eq!(config.instance_name(), "web-1");
/// ```
#[derive(Clone)]
pub struct PostgresConfig {
    pub(super) pg: tokio_postgres::Config,
    pub(super) tls_mode: SslMode,
    pub(super) root_cert: Option<PathBuf>,
    pub(super) client_cert: Option<PathBuf>,
    pub(super) client_key: Option<PathBuf>,
    pub(super) namespace: String,
    pub(super) instance: String,
    pub(super) last_known_good: Option<PathBuf>,
    pub(super) seed_file: Option<PathBuf>,
    pub(super) refuse_without_database: bool,
    pub(super) connect_timeout: Duration,
    pub(super) query_timeout: Duration,
    pub(super) backoff_min: Duration,
    pub(super) backoff_max: Duration,
    pub(super) heartbeat: Duration,
}

/// A connection string that could not be read.
///
/// ```
/// use flags_middleware::store::PostgresConfig;
///
/// let err = PostgresConfig::new("host=db.internal sslmode=sometimes").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "invalid connection string: sslmode `sometimes` is not one of \
///      disable, prefer, require, verify-ca, verify-full"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresConfigError(String);

impl fmt::Display for PostgresConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PostgresConfigError {}

impl PostgresConfig {
    /// A configuration for the database named by `conn`, a libpq-style
    /// connection string: `host=127.0.0.1 port=5432 user=flags dbname=app`
    /// or `postgresql://flags@127.0.0.1/app`, with `sslmode` and
    /// `sslrootcert`, `sslcert` and `sslkey` as libpq reads them (see
    /// [TLS](Self#tls)).
    ///
    /// Defaults: namespace `default`, instance `<hostname>:<pid>`, no
    /// last-known-good file, no seed file, connect and query timeouts of 5 s,
    /// reconnect backoff from 100 ms doubling to 5 s, a heartbeat every 5 s.
    ///
    /// ```
    /// use flags_middleware::store::PostgresConfig;
    ///
    /// let config = PostgresConfig::new("host=db.internal user=flags dbname=app sslmode=verify-full")
    ///     .unwrap()
    ///     .namespace("checkout-service")
    ///     .instance("web-1");
    /// assert_eq!((config.namespace_name(), config.instance_name()), ("checkout-service", "web-1"));
    /// let err = PostgresConfig::new("host=db.internal sslmode=allow").unwrap_err();
    /// assert!(err.to_string().contains("sslmode"), "{err}");
    /// ```
    ///
    /// # Errors
    /// When `conn` is not a connection string, or its `sslmode` is not one
    /// of libpq's (`allow` is not supported either).
    pub fn new(conn: &str) -> Result<Self, PostgresConfigError> {
        let invalid =
            |e: &dyn fmt::Display| PostgresConfigError(format!("invalid connection string: {e}"));
        let tls = conninfo::split(conn).map_err(|e| invalid(&e))?;
        let pg: tokio_postgres::Config = tls.rest.parse().map_err(|e| invalid(&e))?;
        Ok(PostgresConfig {
            pg,
            tls_mode: tls.mode.unwrap_or_default(),
            root_cert: tls.root,
            client_cert: tls.cert,
            client_key: tls.key,
            namespace: "default".to_owned(),
            instance: default_instance(),
            last_known_good: None,
            seed_file: None,
            refuse_without_database: false,
            connect_timeout: Duration::from_secs(5),
            query_timeout: Duration::from_secs(5),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            heartbeat: Duration::from_secs(5),
        })
    }

    /// The flag set to serve: several services (or environments) can keep
    /// their flags in one database, each under its own name. Default `default`.
    ///
    /// ```
    /// use flags_middleware::store::PostgresConfig;
    ///
    /// let config = PostgresConfig::new("host=db.internal user=flags dbname=app").unwrap();
    /// assert_eq!(config.namespace_name(), "default");
    /// let checkout = config.namespace("checkout-service");
    /// assert_eq!(checkout.namespace_name(), "checkout-service");
    /// ```
    #[must_use]
    pub fn namespace(mut self, name: impl Into<String>) -> Self {
        self.namespace = name.into();
        self
    }

    /// This instance's name, recorded with each audit entry it writes and
    /// sent in the connections' `application_name`
    /// (`flags:<name>:<role>`, e.g. `flags:web-1:listen`).
    /// Default: `<hostname>:<pid>`.
    ///
    /// ```
    /// use flags_middleware::store::PostgresConfig;
    ///
    /// let config = PostgresConfig::new("host=db.internal user=flags dbname=app").unwrap();
    /// assert!(config.instance_name().ends_with(&format!(":{}", std::process::id())));
    /// assert_eq!(config.instance("web-1").instance_name(), "web-1");
    /// ```
    #[must_use]
    pub fn instance(mut self, name: impl Into<String>) -> Self {
        self.instance = name.into();
        self
    }

    /// The root certificate (PEM) the server's certificate must be signed
    /// by; the same as `sslrootcert=<path>` in the connection string, which
    /// it replaces. With `sslmode` `prefer` or `require` it makes the chain
    /// checked too, as in libpq. See [TLS](Self#tls).
    ///
    /// ```
    /// use flags_middleware::store::PostgresConfig;
    ///
    /// let config = PostgresConfig::new("host=db.internal sslmode=verify-full sslrootcert=/etc/ssl/old-ca.pem")
    ///     .unwrap()
    ///     .root_cert("/etc/ssl/db-ca.pem");
    /// ```
    #[must_use]
    pub fn root_cert(mut self, path: impl AsRef<Path>) -> Self {
        self.root_cert = Some(path.as_ref().to_owned());
        self
    }

    /// The client certificate (PEM: the client's own first, then any
    /// intermediates) and its private key (PEM: PKCS#8, PKCS#1 or SEC1) for
    /// a server that checks its clients' certificates; the same as
    /// `sslcert=<path> sslkey=<path>` in the connection string, which it
    /// replaces. Read when each connection opens (and checked once at
    /// startup). See [TLS](Self#tls).
    ///
    /// ```
    /// use flags_middleware::store::PostgresConfig;
    ///
    /// let config = PostgresConfig::new("host=db.internal user=flags dbname=app sslmode=verify-full")
    ///     .unwrap()
    ///     .root_cert("/etc/ssl/db-ca.pem")
    ///     .client_cert("/etc/ssl/flags.crt", "/etc/ssl/flags.key");
    /// # let _ = config;
    /// ```
    #[must_use]
    pub fn client_cert(mut self, cert: impl AsRef<Path>, key: impl AsRef<Path>) -> Self {
        self.client_cert = Some(cert.as_ref().to_owned());
        self.client_key = Some(key.as_ref().to_owned());
        self
    }

    /// The files TLS reads.
    pub(super) fn tls_files(&self) -> super::tls::Files<'_> {
        super::tls::Files {
            root: self.root_cert.as_deref(),
            cert: self.client_cert.as_deref(),
            key: self.client_key.as_deref(),
        }
    }

    /// A file holding the last flags this instance synced (JSON, rewritten
    /// atomically after every sync). When the database is down at startup,
    /// the instance serves it until the database is back. Without one, a
    /// database that is down at startup is an error.
    ///
    /// ```
    /// use flags_middleware::store::PostgresConfig;
    ///
    /// let config = PostgresConfig::new("host=db.internal user=flags dbname=app")
    ///     .unwrap()
    ///     .last_known_good("/var/lib/app/flags.last-good.json");
    /// ```
    #[must_use]
    pub fn last_known_good(mut self, path: impl AsRef<Path>) -> Self {
        self.last_known_good = Some(path.as_ref().to_owned());
        self
    }

    /// A TOML flags file (see [`crate::format::toml`]) loaded into the
    /// database once, when the namespace is created. Later starts ignore it:
    /// the database is the source of truth from then on.
    ///
    /// ```
    /// use flags_middleware::store::PostgresConfig;
    ///
    /// let config = PostgresConfig::new("host=db.internal user=flags dbname=app")
    ///     .unwrap()
    ///     .seed_file("flags.toml"); // read by the first instance to start, never again
    /// ```
    #[must_use]
    pub fn seed_file(mut self, path: impl AsRef<Path>) -> Self {
        self.seed_file = Some(path.as_ref().to_owned());
        self
    }

    /// Refuse to start when the database is down, even with a last-known-good
    /// file. Default `false`.
    ///
    /// ```
    /// use flags_middleware::store::PostgresConfig;
    ///
    /// // Rather down than serving flags that may be stale.
    /// let config = PostgresConfig::new("host=db.internal user=flags dbname=app")
    ///     .unwrap()
    ///     .last_known_good("/var/lib/app/flags.last-good.json")
    ///     .refuse_without_database(true);
    /// ```
    #[must_use]
    pub fn refuse_without_database(mut self, refuse: bool) -> Self {
        self.refuse_without_database = refuse;
        self
    }

    /// How long to wait for a connection. Default 5 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::store::PostgresConfig;
    ///
    /// // Fail over to the last-known-good file sooner than the default 5 s.
    /// let config = PostgresConfig::new("host=db.internal user=flags dbname=app")
    ///     .unwrap()
    ///     .connect_timeout(Duration::from_secs(2));
    /// ```
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a read or write may take before the connection is taken for
    /// dead. Default 5 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::store::PostgresConfig;
    ///
    /// let config = PostgresConfig::new("host=db.internal user=flags dbname=app")
    ///     .unwrap()
    ///     .query_timeout(Duration::from_millis(1500));
    /// ```
    #[must_use]
    pub fn query_timeout(mut self, timeout: Duration) -> Self {
        self.query_timeout = timeout;
        self
    }

    /// Waits between reconnect attempts: from `min`, doubling up to `max`,
    /// each with up to 20% random jitter. Default 100 ms to 5 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::store::PostgresConfig;
    ///
    /// // Gentler on a database that is restarting: 1 s, 2 s, 4 s, ... up to 30 s.
    /// let config = PostgresConfig::new("host=db.internal user=flags dbname=app")
    ///     .unwrap()
    ///     .reconnect_backoff(Duration::from_secs(1), Duration::from_secs(30));
    /// ```
    #[must_use]
    pub fn reconnect_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.backoff_min = min;
        self.backoff_max = max.max(min);
        self
    }

    /// How often the listening connection is checked with a query, so a
    /// connection that died silently (a network partition) is noticed.
    /// Default 5 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::store::PostgresConfig;
    ///
    /// let config = PostgresConfig::new("host=db.internal user=flags dbname=app")
    ///     .unwrap()
    ///     .heartbeat(Duration::from_secs(1)); // a partition noticed within about 2 s
    /// ```
    #[must_use]
    pub fn heartbeat(mut self, every: Duration) -> Self {
        self.heartbeat = every;
        self
    }

    /// This instance's name.
    ///
    /// ```
    /// use flags_middleware::store::PostgresConfig;
    ///
    /// let config = PostgresConfig::new("host=db.internal user=flags dbname=app").unwrap();
    /// assert_eq!(config.instance("web-1").instance_name(), "web-1");
    /// ```
    pub fn instance_name(&self) -> &str {
        &self.instance
    }

    /// The namespace served.
    ///
    /// ```
    /// use flags_middleware::store::PostgresConfig;
    ///
    /// let config = PostgresConfig::new("host=db.internal user=flags dbname=app").unwrap();
    /// assert_eq!(config.namespace_name(), "default");
    /// ```
    pub fn namespace_name(&self) -> &str {
        &self.namespace
    }

    /// `host:port/dbname`, without credentials, for logs.
    pub(super) fn target(&self) -> String {
        let host = match self.pg.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            #[cfg(unix)]
            Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
            None => "localhost".to_owned(),
        };
        let port = self.pg.get_ports().first().copied().unwrap_or(5432);
        let db = self
            .pg
            .get_dbname()
            .or_else(|| self.pg.get_user())
            .unwrap_or("postgres");
        format!("{host}:{port}/{db}")
    }

    /// The driver's configuration for one of our connections.
    pub(super) fn pg_config(&self, role: &str) -> tokio_postgres::Config {
        let mut pg = self.pg.clone();
        pg.connect_timeout(self.connect_timeout);
        pg.application_name(format!("flags:{}:{role}", self.instance));
        // Notice a dead peer within about a minute even without traffic.
        pg.keepalives(true);
        pg.keepalives_idle(Duration::from_secs(30));
        pg.ssl_mode(self.driver_ssl_mode());
        pg
    }

    /// How long the server may take over a write's statements before it
    /// gives up too: a second past the query timeout (so the store's own
    /// error comes first), in whole milliseconds, within what PostgreSQL
    /// takes (`i32::MAX`).
    pub(super) fn server_timeout_ms(&self) -> u64 {
        let ms = self
            .query_timeout
            .saturating_add(Duration::from_secs(1))
            .as_millis();
        u64::try_from(ms).unwrap_or(u64::MAX).min(i32::MAX as u64)
    }

    /// What the driver is told to do about TLS. Over Unix sockets the
    /// server offers none and libpq ignores `sslmode`; so do we, rather
    /// than fail `require` on a local socket.
    fn driver_ssl_mode(&self) -> tokio_postgres::config::SslMode {
        #[cfg(unix)]
        {
            let hosts = self.pg.get_hosts();
            let only_sockets = !hosts.is_empty()
                && self.pg.get_hostaddrs().is_empty()
                && hosts
                    .iter()
                    .all(|h| matches!(h, tokio_postgres::config::Host::Unix(_)));
            if only_sockets {
                return tokio_postgres::config::SslMode::Disable;
            }
        }
        self.tls_mode.driver_mode()
    }
}

impl fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the password.
        f.debug_struct("PostgresConfig")
            .field("target", &self.target())
            .field("sslmode", &self.tls_mode.to_string())
            .field("root_cert", &self.root_cert)
            .field("client_cert", &self.client_cert)
            .field("namespace", &self.namespace)
            .field("instance", &self.instance)
            .field("last_known_good", &self.last_known_good)
            .field("seed_file", &self.seed_file)
            .field("refuse_without_database", &self.refuse_without_database)
            .field("connect_timeout", &self.connect_timeout)
            .field("query_timeout", &self.query_timeout)
            .field("reconnect_backoff", &(self.backoff_min, self.backoff_max))
            .field("heartbeat", &self.heartbeat)
            .finish_non_exhaustive()
    }
}

fn default_instance() -> String {
    let host = crate::engine::hostname();
    let host = if host.is_empty() { "unknown" } else { &host };
    format!("{host}:{}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_gives_up_a_second_after_us_within_its_range() {
        let c = |t: Duration| PostgresConfig::new("host=db").unwrap().query_timeout(t);
        assert_eq!(c(Duration::from_millis(1500)).server_timeout_ms(), 2500);
        // "No timeout" given as a huge one: PostgreSQL's largest.
        assert_eq!(c(Duration::MAX).server_timeout_ms(), i32::MAX as u64);
    }

    #[test]
    fn target_names_host_port_and_database_without_the_password() {
        let c =
            PostgresConfig::new("host=db.internal port=6543 user=u password=hunter2 dbname=app")
                .unwrap();
        assert_eq!(c.target(), "db.internal:6543/app");
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn a_bad_connection_string_is_an_error() {
        let e = PostgresConfig::new("host=x port=notaport").unwrap_err();
        assert!(e.to_string().contains("invalid connection string"), "{e}");
    }

    #[test]
    fn sslmode_and_sslrootcert_are_read_from_either_form() {
        let c = PostgresConfig::new("host=db sslmode=verify-full sslrootcert=/etc/ca.pem").unwrap();
        assert_eq!(c.tls_mode, SslMode::VerifyFull);
        assert_eq!(c.root_cert.as_deref(), Some(Path::new("/etc/ca.pem")));
        assert_eq!(
            c.pg_config("rw").get_ssl_mode(),
            tokio_postgres::config::SslMode::Require
        );
        let c = PostgresConfig::new("postgresql://u@db/app?sslmode=verify-ca").unwrap();
        assert_eq!(c.tls_mode, SslMode::VerifyCa);
        assert_eq!(c.target(), "db:5432/app");
        let c = c.root_cert("/etc/other.pem");
        assert_eq!(c.root_cert.as_deref(), Some(Path::new("/etc/other.pem")));
        assert!(format!("{c:?}").contains("verify-ca"));
        let c = c.client_cert("/etc/app.crt", "/etc/app.key");
        let files = c.tls_files();
        assert_eq!(
            (files.cert, files.key),
            (
                Some(Path::new("/etc/app.crt")),
                Some(Path::new("/etc/app.key"))
            )
        );
        assert!(format!("{c:?}").contains("/etc/app.crt"));
    }

    #[test]
    fn without_sslmode_tls_is_preferred_and_disable_turns_it_off() {
        let c = PostgresConfig::new("host=db").unwrap();
        assert_eq!(c.tls_mode, SslMode::Prefer);
        assert_eq!(
            c.pg_config("rw").get_ssl_mode(),
            tokio_postgres::config::SslMode::Prefer
        );
        let c = PostgresConfig::new("host=db sslmode=disable").unwrap();
        assert_eq!(
            c.pg_config("rw").get_ssl_mode(),
            tokio_postgres::config::SslMode::Disable
        );
    }

    #[cfg(unix)]
    #[test]
    fn sslmode_is_ignored_over_unix_sockets() {
        let c = PostgresConfig::new("host=/run/postgresql sslmode=require").unwrap();
        assert_eq!(
            c.pg_config("rw").get_ssl_mode(),
            tokio_postgres::config::SslMode::Disable
        );
    }

    #[test]
    fn an_unknown_sslmode_is_an_error_naming_it() {
        let e = PostgresConfig::new("host=db sslmode=verify").unwrap_err();
        assert!(e.to_string().contains("sslmode `verify`"), "{e}");
    }

    #[test]
    fn the_default_instance_names_the_process() {
        let c = PostgresConfig::new("host=x").unwrap();
        assert!(c
            .instance_name()
            .ends_with(&format!(":{}", std::process::id())));
    }
}
