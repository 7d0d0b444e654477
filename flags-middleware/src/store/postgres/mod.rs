//! [`PostgresStore`]: flags in a PostgreSQL database shared by every
//! instance of a service, changes pushed with `LISTEN`/`NOTIFY`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::runtime::Handle;
use tokio_postgres::Client;

use super::memory::apply_changes;
use super::{BoxFuture, Store, StoreError, StoreWrite, Update, Wake, WatchGuard};
use crate::audit::{actors, AuditEntry};
use crate::engine::{Mode, Snapshot};
use crate::model::FlagSet;

mod config;
mod connect;
mod conninfo;
mod last_good;
mod last_seen;
mod listen;
mod schema;
mod sql;
mod tls;

pub use config::{PostgresConfig, PostgresConfigError};

/// Flags in PostgreSQL, shared by every instance of a service, changes
/// pushed with `LISTEN`/`NOTIFY`.
///
/// Cloning is cheap and shares the connections. Built with
/// [`PostgresStore::connect`] (or [`Flags::from_postgres`](crate::Flags::from_postgres)), inside a tokio
/// runtime: its connections and listener run as tasks of that runtime.
///
/// # Example
///
/// ```no_run
/// use flags_middleware::store::PostgresConfig;
/// use flags_middleware::{Context, Flags};
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let config = PostgresConfig::new("host=db.internal user=app dbname=app")?
///     .instance("web-1")
///     .seed_file("flags.toml")                          // first start only
///     .last_known_good("/var/lib/app/flags.last-good.json");
/// let flags = Flags::from_postgres(config).await?;
/// let on = flags.is_enabled("new_checkout_flow", &Context::new().user_id("user_123"));
/// # Ok(()) }
/// ```
///
/// # How it works
///
/// * **Tables.** The store creates and migrates its own tables
///   (`flag_namespaces`, `flag_definitions`, `flag_segments`, `flag_audit`,
///   `flag_schema_migrations`, and `flag_guard_buckets`, where the rollout
///   guard's [shared counts](crate::guard::fleet::PostgresFleet) go). A namespace's row holds the flag-set
///   version; each flag's row holds its definition (Unleash JSON) and the
///   version that last changed it. A new namespace is seeded once from the
///   seed file, if one is configured.
/// * **Writes** ([`Writer::commit`](crate::change::Writer::commit), the
///   admin API) run in one transaction: bump the version *if it is still
///   the one this instance synced* (optimistic concurrency), write the rows
///   and the audit entries (with this instance's name), `NOTIFY`, commit. A
///   writer that lost the race gets [`StoreError::Conflict`]; the handle
///   then syncs at once and either applies the edit again to the newer
///   flags (an edit derived from the live definition, such as the admin
///   API's kill or rollout without `If-Match`) or reports a version
///   mismatch (with `If-Match`, or a whole definition replaced: the admin
///   API answers 412).
/// * **Reads** are pushed: every instance `LISTEN`s on a dedicated
///   connection and, on a change it did not make, reads the namespace and
///   swaps the new snapshot in. Every instance serves the database's
///   version number, so versions agree across instances.
///
/// # When the database is away
///
/// * Requests never wait on the database: they read the in-memory snapshot,
///   which keeps serving the last good flags.
/// * The listener reconnects with backoff (100 ms doubling to 5 s, with
///   jitter) and resyncs in full after each reconnect, so a change made
///   while it was away is not missed. A heartbeat query every 5 s notices
///   a connection that died silently.
/// * Writes fail with [`StoreError::Unavailable`] (the admin API answers 503).
/// * At startup, with a [last-known-good file](PostgresConfig::last_known_good)
///   (rewritten atomically after every sync) the instance starts from it and
///   catches up once the database is back; without one, or with
///   [`refuse_without_database`](PostgresConfig::refuse_without_database),
///   it refuses to start.
///
/// ```text
/// WARN flags::postgres: lost the database connection; serving the last good flags and reconnecting database="db.internal:5432/app" error="database error 57P01: terminating connection due to administrator command"
/// INFO flags::postgres: listening for flag changes database="db.internal:5432/app"
/// INFO flags::reload: flags reloaded source="postgres db.internal:5432/app (default)" version=42
/// ```
#[derive(Debug, Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
pub(super) struct Inner {
    config: PostgresConfig,
    runtime: Handle,
    describe: String,
    /// The connection for reads and writes (the listener has its own);
    /// `None` until needed again after a failure.
    conn: tokio::sync::Mutex<Option<Client>>,
    /// What this instance last read or wrote.
    synced: Mutex<Synced>,
    /// Wake-ups asked for by the listener, and the last one a successful
    /// refresh answered: while they differ, the listener keeps waking.
    asked: AtomicU64,
    answered: AtomicU64,
    /// Whether the listener is connected.
    listening: AtomicBool,
    last_good: last_good::Writer,
}

#[derive(Debug, Clone, Default)]
struct Synced {
    version: u64,
    set: FlagSet,
}

impl PostgresStore {
    /// Connects, creates or migrates the tables, creates (and seeds) the
    /// namespace if it is new, and reads it. When the database cannot be
    /// reached, starts from the last-known-good file if one is configured
    /// (and [`refuse_without_database`](PostgresConfig::refuse_without_database)
    /// is off), and catches up once the database is back.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use flags_middleware::store::{PostgresConfig, PostgresStore, StoreError};
    ///
    /// # // A server that hangs up on every connection, kept for the whole example.
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// # let port = listener.local_addr().unwrap().port();
    /// # tokio::spawn(async move { while let Ok((conn, _)) = listener.accept().await { drop(conn) } });
    /// // No database answers there, and there is nothing to start from without one:
    /// let config = PostgresConfig::new(&format!("host=127.0.0.1 port={port} user=flags dbname=app")).unwrap();
    /// let err = PostgresStore::connect(config).await.unwrap_err();
    /// assert!(matches!(&err, StoreError::Unavailable(m) if m.contains("no last-known-good file")), "{err}");
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database is down and there is no
    /// usable last-known-good file; [`StoreError::Invalid`] for a bad seed
    /// file or bad rows.
    pub async fn connect(config: PostgresConfig) -> Result<PostgresStore, StoreError> {
        let runtime = Handle::try_current().map_err(|_| {
            StoreError::Unavailable("PostgresStore::connect must run inside a tokio runtime".into())
        })?;
        connect::check_tls(&config)?;
        let describe = format!("postgres {} ({})", config.target(), config.namespace);
        let inner = Arc::new(Inner {
            last_good: last_good::Writer::new(
                config.last_known_good.clone(),
                config.namespace.clone(),
            ),
            config,
            runtime,
            describe,
            conn: tokio::sync::Mutex::new(None),
            synced: Mutex::new(Synced::default()),
            asked: AtomicU64::new(0),
            answered: AtomicU64::new(0),
            listening: AtomicBool::new(false),
        });
        // A full read (`known` = none) always returns the rows.
        match inner.clone().fetch(None).await {
            Ok((version, set)) => {
                let set = set.unwrap_or_default();
                inner.check(&set)?;
                inner.synced_to(version, set);
            }
            Err(StoreError::Unavailable(why)) => inner.start_offline(why)?,
            Err(e) => return Err(e),
        }
        Ok(PostgresStore { inner })
    }

    /// Whether the listening connection is up (changes are being pushed).
    ///
    /// ```no_run
    /// # use flags_middleware::store::{PostgresConfig, PostgresStore};
    /// # async fn probe(store: PostgresStore) {
    /// // A readiness probe: while it is down, other instances' changes do not arrive.
    /// let status = if store.is_listening() { 200 } else { 503 };
    /// # let _ = status; }
    /// ```
    pub fn is_listening(&self) -> bool {
        self.inner.listening.load(Ordering::Relaxed)
    }

    /// The version this instance last synced.
    ///
    /// ```no_run
    /// # use flags_middleware::store::{PostgresConfig, PostgresStore};
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = PostgresStore::connect(PostgresConfig::new("host=db.internal user=flags dbname=app")?).await?;
    /// tracing::info!(version = store.synced_version(), "flags synced");
    /// # Ok(()) }
    /// ```
    pub fn synced_version(&self) -> u64 {
        self.inner.synced_version()
    }

    /// The namespace's audit log, newest first: `limit` entries after
    /// skipping `offset`, each naming the instance that made the change
    /// (what [`Flags::audit_page`](crate::Flags::audit_page) and the admin API's `GET /_audit` serve).
    ///
    /// ```no_run
    /// # use flags_middleware::store::{PostgresConfig, PostgresStore};
    /// # async fn run(store: PostgresStore) -> Result<(), Box<dyn std::error::Error>> {
    /// for e in store.audit_log(0, 20).await? {
    ///     println!("{} v{} {} {} by {} on {:?}", e.at, e.version, e.action, e.flag, e.actor, e.instance);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// When the database cannot be reached.
    pub async fn audit_log(
        &self,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit_where(None, offset, limit).await
    }

    /// [`PostgresStore::audit_log`], of the entries about `flag` only when
    /// one is given.
    async fn audit_where(
        &self,
        flag: Option<String>,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let inner = self.inner.clone();
        inner
            .clone()
            .on_runtime(async move {
                let mut slot = inner.conn.lock().await;
                let client = inner.client(&mut slot).await?;
                let flag = flag.as_deref();
                let page = sql::audit_page_where(client, &inner.config, flag, offset, limit);
                let page = inner.timed(page).await;
                inner.keep_if_ok(&mut slot, page)
            })
            .await
    }
}

/// Opens a connection of its own to `config`'s database (named `role` in
/// `application_name`), with the schema brought up to date, its driver
/// running on the current runtime: for the rollout guard's shared counts,
/// which must not queue behind the store's writes.
///
/// # Errors
/// [`StoreError::Unavailable`] when the database cannot be reached.
pub(crate) async fn open_client(config: &PostgresConfig, role: &str) -> Result<Client, StoreError> {
    let (mut client, connection) = connect::open(config, role).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(target: "flags::postgres", error = %e, "database connection ended");
        }
    });
    tokio::time::timeout(config.query_timeout, schema::prepare(&mut client, config))
        .await
        .map_err(|_| StoreError::Unavailable("the database did not answer in time".into()))??;
    Ok(client)
}

/// The query timeout `config` sets.
pub(crate) fn query_timeout(config: &PostgresConfig) -> std::time::Duration {
    config.query_timeout
}

/// A database error as a store error, with the server's message.
pub(crate) fn database_error(e: tokio_postgres::Error) -> StoreError {
    sql::db_error(e)
}

impl Inner {
    fn lock_synced(&self) -> std::sync::MutexGuard<'_, Synced> {
        self.synced
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(super) fn synced_version(&self) -> u64 {
        self.lock_synced().version
    }

    fn synced_to(&self, version: u64, set: FlagSet) {
        self.last_good.save(&self.runtime, version, set.clone());
        *self.lock_synced() = Synced { version, set };
    }

    /// Asks the flags to refresh, and keeps asking until a refresh succeeds.
    pub(super) fn ask(&self, wake: &Wake) {
        self.asked.fetch_add(1, Ordering::SeqCst);
        wake();
    }

    /// Whether a wake-up is still unanswered.
    pub(super) fn pending(&self) -> bool {
        self.answered.load(Ordering::SeqCst) < self.asked.load(Ordering::SeqCst)
    }

    /// Strict compile check, so bad rows never reach the last-known-good
    /// file or this instance's idea of what it synced.
    fn check(&self, set: &FlagSet) -> Result<(), StoreError> {
        Snapshot::compile(set, Mode::Strict, &self.describe)?;
        Ok(())
    }

    /// The database is down at startup: start from the last-known-good file,
    /// or refuse.
    fn start_offline(&self, why: String) -> Result<(), StoreError> {
        let refuse = |reason: &str| {
            StoreError::Unavailable(format!(
                "cannot reach the flags database {} ({why}); {reason}",
                self.config.target()
            ))
        };
        if self.config.refuse_without_database {
            return Err(refuse("refusing to start without it"));
        }
        let Some(path) = &self.config.last_known_good else {
            return Err(refuse("and no last-known-good file is configured"));
        };
        let (version, set) = last_good::read(path, &self.config.namespace)
            .map_err(|e| refuse(&format!("and the last-known-good file is unusable: {e}")))?;
        self.check(&set)?;
        tracing::warn!(
            target: "flags::postgres",
            database = %self.config.target(),
            error = %why,
            file = %path.display(),
            version,
            "the flags database is down; serving the last-known-good flags until it is back"
        );
        *self.lock_synced() = Synced { version, set };
        Ok(())
    }

    /// Runs `work` on the store's runtime, where its connections live, so it
    /// finishes even if the caller stops waiting, and works from any thread.
    async fn on_runtime<T: Send + 'static>(
        self: Arc<Self>,
        work: impl std::future::Future<Output = Result<T, StoreError>> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.runtime
            .spawn(work)
            .await
            .map_err(|e| StoreError::Unavailable(format!("database task failed: {e}")))?
    }

    /// The read/write connection, (re)connected (and the schema prepared)
    /// when needed.
    async fn client<'s>(&self, slot: &'s mut Option<Client>) -> Result<&'s mut Client, StoreError> {
        if slot.as_ref().is_some_and(Client::is_closed) {
            *slot = None;
        }
        if slot.is_none() {
            *slot = Some(self.open().await?);
        }
        slot.as_mut()
            .ok_or_else(|| StoreError::Unavailable("no database connection".into()))
    }

    async fn open(&self) -> Result<Client, StoreError> {
        let (mut client, connection) = connect::open(&self.config, "rw").await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(target: "flags::postgres", error = %e, "database connection ended");
            }
        });
        self.timed(schema::prepare(&mut client, &self.config))
            .await?;
        Ok(client)
    }

    /// `work`, or an error once the query timeout passes.
    async fn timed<T>(
        &self,
        work: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        self.timed_saying(work, "").await
    }

    /// [`Inner::timed`], the timeout's error ending with `more`.
    async fn timed_saying<T>(
        &self,
        work: impl std::future::Future<Output = Result<T, StoreError>>,
        more: &str,
    ) -> Result<T, StoreError> {
        tokio::time::timeout(self.config.query_timeout, work)
            .await
            .unwrap_or_else(|_| {
                Err(StoreError::Unavailable(format!(
                    "the database did not answer within {:?}{more}",
                    self.config.query_timeout
                )))
            })
    }

    /// Drops the connection after a failure (it may be dead or mid-
    /// transaction); the next call reconnects. A conflict is an answer, not
    /// a failure.
    fn keep_if_ok<T>(
        &self,
        slot: &mut Option<Client>,
        r: Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if matches!(&r, Err(e) if !matches!(e, StoreError::Conflict(_))) {
            *slot = None;
        }
        r
    }

    /// The namespace's version and, if it is not `known`, its flags. A read
    /// that fails on a connection that was already open is retried once on
    /// a new one (the old one may have died with a database restart).
    async fn fetch(
        self: Arc<Self>,
        known: Option<u64>,
    ) -> Result<(u64, Option<FlagSet>), StoreError> {
        let inner = self.clone();
        self.on_runtime(async move {
            let mut slot = inner.conn.lock().await;
            let mut attempts = if slot.is_some() { 2 } else { 1 };
            loop {
                attempts -= 1;
                let client = inner.client(&mut slot).await?;
                let read = inner.timed(sql::load(client, &inner.config, known)).await;
                match inner.keep_if_ok(&mut slot, read) {
                    Err(StoreError::Unavailable(_)) if attempts > 0 => continue,
                    other => return other,
                }
            }
        })
        .await
    }
}

impl Store for PostgresStore {
    fn describe(&self) -> String {
        self.inner.describe.clone()
    }

    /// The set as of the last sync: [`PostgresStore::connect`] read it (or
    /// the last-known-good file); the listener keeps it current.
    fn load(&self) -> BoxFuture<'_, Result<FlagSet, StoreError>> {
        let set = self.inner.lock_synced().set.clone();
        Box::pin(async move { Ok(set) })
    }

    fn apply<'a>(&'a self, write: StoreWrite<'a>) -> BoxFuture<'a, Result<(), StoreError>> {
        let inner = self.inner.clone();
        let changes = write.changes.to_vec();
        let actor = write.actor.to_owned();
        let action = write.action.to_owned();
        let message = write.message.map(str::to_owned);
        Box::pin(inner.clone().on_runtime(async move {
            let Synced { version, mut set } = inner.lock_synced().clone();
            let mut slot = inner.conn.lock().await;
            let client = inner.client(&mut slot).await?;
            let write = StoreWrite {
                changes: &changes,
                base_version: version,
                actor: &actor,
                action: &action,
                message: message.as_deref(),
            };
            // The commit may have been sent, and made, before the wait ran
            // out: say so, rather than "not changed".
            let written = inner
                .timed_saying(
                    sql::apply(client, &inner.config, version, &set, &write),
                    "; the change may have been made all the same (it then arrives like \
                     another instance's): check before retrying",
                )
                .await;
            let next = inner.keep_if_ok(&mut slot, written)?;
            apply_changes(&mut set, &changes);
            inner.synced_to(next, set);
            Ok(())
        }))
    }

    fn watch(&self, wake: Wake) -> Result<WatchGuard, StoreError> {
        let task = self
            .inner
            .runtime
            .spawn(listen::run(self.inner.clone(), wake));
        Ok(WatchGuard::new(
            listen::AbortOnDrop(task.abort_handle()),
            "listen/notify",
        ))
    }

    fn refresh(&self) -> BoxFuture<'_, Result<Option<Update>, StoreError>> {
        let inner = self.inner.clone();
        Box::pin(async move {
            // Read before querying: a wake-up asked for later is answered
            // by a later refresh.
            let asked = inner.asked.load(Ordering::SeqCst);
            let known = inner.synced_version();
            let result = match inner.clone().fetch(Some(known)).await {
                Ok((version, Some(set))) if version != known => inner.check(&set).map(|()| {
                    inner.synced_to(version, set.clone());
                    Some(Update::Replace(set))
                }),
                Ok(_) => Ok(None),
                Err(e) => Err(e),
            };
            // Bad rows are an answer too (retrying cannot help until they
            // change); only an unreachable database is retried.
            if !matches!(result, Err(StoreError::Unavailable(_))) {
                inner.answered.fetch_max(asked, Ordering::SeqCst);
            }
            result
        })
    }

    /// Other instances' changes: each one audited them in the database
    /// under its own actor; here they are seen as coming from outside.
    fn outside_actor(&self) -> Option<&'static str> {
        Some(actors::OUTSIDE_CHANGE)
    }

    fn version(&self) -> Option<u64> {
        Some(self.inner.synced_version())
    }

    fn audit(
        &self,
        offset: usize,
        limit: usize,
    ) -> Option<BoxFuture<'_, Result<Vec<AuditEntry>, StoreError>>> {
        Some(Box::pin(self.audit_log(offset, limit)))
    }

    fn audit_of(
        &self,
        flag: &str,
        offset: usize,
        limit: usize,
    ) -> Option<BoxFuture<'_, Result<Vec<AuditEntry>, StoreError>>> {
        Some(Box::pin(self.audit_where(
            Some(flag.to_owned()),
            offset,
            limit,
        )))
    }

    fn record_last_seen<'a>(
        &'a self,
        seen: &'a [(String, chrono::DateTime<chrono::Utc>)],
    ) -> Option<BoxFuture<'a, Result<(), StoreError>>> {
        let inner = self.inner.clone();
        let seen = seen.to_vec();
        Some(Box::pin(inner.clone().on_runtime(async move {
            let mut slot = inner.conn.lock().await;
            let client = inner.client(&mut slot).await?;
            let written = inner
                .timed(last_seen::write(client, &inner.config, &seen))
                .await;
            inner.keep_if_ok(&mut slot, written)
        })))
    }

    fn last_seen(&self) -> Option<BoxFuture<'_, Result<crate::store::LastSeen, StoreError>>> {
        let inner = self.inner.clone();
        Some(Box::pin(inner.clone().on_runtime(async move {
            let mut slot = inner.conn.lock().await;
            let client = inner.client(&mut slot).await?;
            let read = inner.timed(last_seen::read(client, &inner.config)).await;
            inner.keep_if_ok(&mut slot, read)
        })))
    }
}
