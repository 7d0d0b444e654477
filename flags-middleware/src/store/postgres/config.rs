//! [`PostgresConfig`]: where the database is, who this instance is, and what
//! to do while the database is away.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How a [`PostgresStore`](super::PostgresStore) connects and behaves when the
/// database is away. Built with setters that take and return `self`.
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
    /// or `postgresql://flags@127.0.0.1/app`. TLS is not supported: use a
    /// local socket, a loopback address or a private network.
    ///
    /// Defaults: namespace `default`, instance `<hostname>:<pid>`, no
    /// last-known-good file, no seed file, connect and query timeouts of 5 s,
    /// reconnect backoff from 100 ms doubling to 5 s, a heartbeat every 5 s.
    ///
    /// # Errors
    /// When `conn` is not a connection string.
    pub fn new(conn: &str) -> Result<Self, PostgresConfigError> {
        let pg: tokio_postgres::Config = conn
            .parse()
            .map_err(|e| PostgresConfigError(format!("invalid connection string: {e}")))?;
        Ok(PostgresConfig {
            pg,
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
    #[must_use]
    pub fn namespace(mut self, name: impl Into<String>) -> Self {
        self.namespace = name.into();
        self
    }

    /// This instance's name, recorded with each audit entry it writes and
    /// sent as the connections' `application_name` (`flags:<name>`).
    /// Default: `<hostname>:<pid>`.
    #[must_use]
    pub fn instance(mut self, name: impl Into<String>) -> Self {
        self.instance = name.into();
        self
    }

    /// A file holding the last flags this instance synced (JSON, rewritten
    /// atomically after every sync). When the database is down at startup,
    /// the instance serves it until the database is back. Without one, a
    /// database that is down at startup is an error.
    #[must_use]
    pub fn last_known_good(mut self, path: impl AsRef<Path>) -> Self {
        self.last_known_good = Some(path.as_ref().to_owned());
        self
    }

    /// A TOML flags file (see [`crate::format::toml`]) loaded into the
    /// database once, when the namespace is created. Later starts ignore it:
    /// the database is the source of truth from then on.
    #[must_use]
    pub fn seed_file(mut self, path: impl AsRef<Path>) -> Self {
        self.seed_file = Some(path.as_ref().to_owned());
        self
    }

    /// Refuse to start when the database is down, even with a last-known-good
    /// file. Default `false`.
    #[must_use]
    pub fn refuse_without_database(mut self, refuse: bool) -> Self {
        self.refuse_without_database = refuse;
        self
    }

    /// How long to wait for a connection. Default 5 s.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a read or write may take before the connection is taken for
    /// dead. Default 5 s.
    #[must_use]
    pub fn query_timeout(mut self, timeout: Duration) -> Self {
        self.query_timeout = timeout;
        self
    }

    /// Waits between reconnect attempts: from `min`, doubling up to `max`,
    /// each with up to 20% random jitter. Default 100 ms to 5 s.
    #[must_use]
    pub fn reconnect_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.backoff_min = min;
        self.backoff_max = max.max(min);
        self
    }

    /// How often the listening connection is checked with a query, so a
    /// connection that died silently (a network partition) is noticed.
    /// Default 5 s.
    #[must_use]
    pub fn heartbeat(mut self, every: Duration) -> Self {
        self.heartbeat = every;
        self
    }

    /// This instance's name.
    pub fn instance_name(&self) -> &str {
        &self.instance
    }

    /// The namespace served.
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
        pg
    }
}

impl fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the password.
        f.debug_struct("PostgresConfig")
            .field("target", &self.target())
            .field("namespace", &self.namespace)
            .field("instance", &self.instance)
            .field("last_known_good", &self.last_known_good)
            .field("seed_file", &self.seed_file)
            .field("refuse_without_database", &self.refuse_without_database)
            .finish_non_exhaustive()
    }
}

fn default_instance() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    format!("{host}:{}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn the_default_instance_names_the_process() {
        let c = PostgresConfig::new("host=x").unwrap();
        assert!(c
            .instance_name()
            .ends_with(&format!(":{}", std::process::id())));
    }
}
