//! [`Flags`]: the cloneable handle every part of the system shares. It
//! reads; changes go through the [`Writer`] it hands out.

use std::sync::{Arc, OnceLock};

use crate::audit::AuditEntry;
use crate::change::{Control, SourceStatus, Writer};
use crate::engine::Snapshot;
use crate::live::Live;
use crate::owned::{OwnedEvaluation, OwnedVariant};
use crate::store::{MemoryStore, Store, StoreError};
use crate::Context;

mod build;

/// The live flag set: an atomically swapped, immutable [`Snapshot`].
///
/// Readers never block and never see a half-applied change. Changes go
/// through a [`Writer`] ([`Flags::writer`]), which persists and audits
/// each one before it is served (see [`crate::change`]). Cloning is cheap
/// (one `Arc`).
///
/// ```
/// use flags_middleware::{Context, Flags, model::FlagSet};
///
/// let flags = Flags::from_unleash_json(r#"{"features": [
///   {"name": "legacy_api", "enabled": false, "strategies": [{"name": "default"}]}
/// ]}"#).unwrap();
/// assert!(!flags.is_enabled("legacy_api", &Context::new()));
/// ```
#[derive(Debug, Clone)]
pub struct Flags {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    live: Arc<Live>,
    /// Request counters per flag and arm, fed by the layer.
    metrics: crate::metrics::Metrics,
    /// What Unleash SDKs report they answered (Frontend and client API).
    exposures: crate::metrics::ClientExposures,
    /// Where changes go (see [`crate::change`]); set by
    /// `from_file`/`with_store`, or an in-memory store on first use.
    control: OnceLock<Arc<Control>>,
    /// The database, for flags from `from_postgres` (the rollout guard
    /// shares its counts there).
    #[cfg(feature = "postgres")]
    postgres: OnceLock<crate::store::PostgresConfig>,
    /// Unknown flags asked for and usage per flag (see [`crate::hygiene`]).
    tracker: crate::hygiene::Tracker,
}

/// A [`Flags`] that does not keep it alive.
#[derive(Debug, Clone)]
pub(crate) struct WeakFlags(std::sync::Weak<Inner>);

impl WeakFlags {
    /// The handle, while someone else holds it.
    pub(crate) fn upgrade(&self) -> Option<Flags> {
        self.0.upgrade().map(|inner| Flags { inner })
    }
}

/// Reading.
impl Flags {
    /// The current snapshot; hold it to see one consistent version.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use flags_middleware::{edit::Edit, Context, Flags};
    ///
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
    /// let held = flags.snapshot();
    /// flags.writer("ops").commit(Edit::kill("new_checkout_flow")).await.unwrap();
    /// assert!(held.is_enabled("new_checkout_flow", &Context::new())); // still the old flags
    /// assert_eq!((held.version(), flags.version()), (1, 2));
    /// # }
    /// ```
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.inner.live.load()
    }

    /// The current version.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use flags_middleware::{edit::Edit, Flags};
    ///
    /// let flags = Flags::from_toml_str("[legacy_api]\n", "flags.toml").unwrap();
    /// assert_eq!(flags.version(), 1);
    /// flags.writer("ops").commit(Edit::kill("legacy_api")).await.unwrap();
    /// assert_eq!(flags.version(), 2);
    /// flags.writer("ops").commit(Edit::kill("legacy_api")).await.unwrap(); // already off
    /// assert_eq!(flags.version(), 2, "a change that changes nothing is no new version");
    /// # }
    /// ```
    pub fn version(&self) -> u64 {
        self.inner.live.peek().version()
    }

    /// Whether `name` is on for `ctx`, against the current snapshot.
    /// Takes a string or a [`FlagKey`](crate::FlagKey).
    ///
    /// ```
    /// use flags_middleware::{flag, Context, Flags};
    ///
    /// flag!(CHECKOUT = "new_checkout_flow");
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\nusers = [\"user_123\"]\n", "flags.toml").unwrap();
    /// assert!(flags.is_enabled(&CHECKOUT, &Context::new().user_id("user_123")));
    /// assert!(!flags.is_enabled(&CHECKOUT, &Context::new().user_id("user_456")));
    /// assert!(!flags.is_enabled("no_such_flag", &Context::new())); // unknown: off
    /// ```
    pub fn is_enabled(&self, name: impl AsRef<str>, ctx: &Context) -> bool {
        let (name, snap) = (name.as_ref(), self.inner.live.peek());
        let on = snap.is_enabled(name, ctx);
        if !on && snap.lookup(name).is_none() {
            self.inner.tracker.unknown().record(name);
        }
        on
    }

    /// The variant of `name` for `ctx`, copied out of the current snapshot.
    /// Takes a string or a [`FlagKey`](crate::FlagKey).
    ///
    /// ```
    /// use flags_middleware::{Context, Flags};
    ///
    /// let toml = "[button_color]\nusers = [\"user_123\"]\nvariants = { blue = 100 }\n";
    /// let flags = Flags::from_toml_str(toml, "flags.toml").unwrap();
    /// assert_eq!(flags.variant("button_color", &Context::new().user_id("user_123")).name, "blue");
    /// let other = flags.variant("button_color", &Context::new().user_id("user_456"));
    /// assert_eq!((other.name.as_str(), other.feature_enabled), ("disabled", false));
    /// ```
    pub fn variant(&self, name: impl AsRef<str>, ctx: &Context) -> OwnedVariant {
        let snap = self.inner.live.peek();
        let name = name.as_ref();
        let v = snap.variant(name, ctx);
        if !v.feature_enabled && snap.lookup(name).is_none() {
            self.inner.tracker.unknown().record(name);
        }
        v.into()
    }

    /// Everything about `name`'s answer for `ctx`: value, variant, reason,
    /// the version that answered; copied out of the current snapshot. Takes
    /// a string or a [`FlagKey`](crate::FlagKey). (In a handler,
    /// [`FlagContext::details`](crate::FlagContext::details) answers from
    /// the request's snapshot.)
    ///
    /// ```
    /// use flags_middleware::{engine::Reason, Context, Flags};
    ///
    /// let flags = Flags::from_toml_str(
    ///     "[new_checkout_flow]\nenabled = true\nusers = [\"user_123\"]\n",
    ///     "flags.toml",
    /// )
    /// .unwrap();
    /// let d = flags.details("new_checkout_flow", &Context::new().user_id("user_123"));
    /// assert!(d.enabled);
    /// assert_eq!(d.reason, Reason::TargetingMatch);
    /// assert_eq!((d.variant.name.as_str(), d.version), ("disabled", flags.version()));
    ///
    /// let missing = flags.details("no_such_flag", &Context::new());
    /// assert_eq!(missing.reason, Reason::Error);
    /// ```
    pub fn details(&self, name: impl AsRef<str>, ctx: &Context) -> OwnedEvaluation {
        let snap = self.inner.live.peek();
        let name = name.as_ref();
        let e = snap.evaluate(name, ctx);
        if e.error.is_some() {
            self.inner.tracker.unknown().record(name);
        }
        e.into()
    }

    /// Request counters per flag and arm, fed by [`FlagsLayer`](crate::FlagsLayer).
    ///
    /// ```
    /// use axum::{body::Body, http::Request, routing::get, Router};
    /// use flags_middleware::{FlagContext, Flags, FlagsLayer};
    /// use tower::ServiceExt as _;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
    /// let app = Router::new()
    ///     .route("/", get(|f: FlagContext| async move { f.is_enabled("new_checkout_flow").to_string() }))
    ///     .layer(FlagsLayer::new(flags.clone()));
    /// for _ in 0..3 {
    ///     app.clone().oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
    /// }
    /// let counters = flags.metrics().snapshot();
    /// let on = &counters.flag("new_checkout_flow").unwrap().arms[0];
    /// assert_eq!((on.arm.as_str(), on.requests), ("on", 3));
    /// # }
    /// ```
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.inner.metrics
    }

    /// Client-side exposures: what Unleash SDKs served by the
    /// [Frontend API](crate::frontend) and the [client API](crate::client_api)
    /// report they answered, per flag.
    ///
    /// ```
    /// use axum::{body::Body, http::Request, Router};
    /// use flags_middleware::{frontend::FrontendConfig, Flags};
    /// use tower::ServiceExt as _;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
    /// let api: Router = flags.frontend_router(FrontendConfig::new(["a-frontend-token"]));
    /// // The browser SDK's usage report:
    /// let report = r#"{"bucket": {"toggles": {"new_checkout_flow": {"yes": 5, "no": 2}}}}"#;
    /// let request = Request::post("/client/metrics").header("authorization", "a-frontend-token");
    /// api.oneshot(request.body(Body::from(report)).unwrap()).await.unwrap();
    /// let exposures = flags.client_exposures().snapshot();
    /// assert_eq!(exposures.flag("new_checkout_flow").map(|f| (f.yes, f.no)), Some((5, 2)));
    /// # }
    /// ```
    pub fn client_exposures(&self) -> &crate::metrics::ClientExposures {
        &self.inner.exposures
    }

    /// Where the flags come from, the live version, and the last reload
    /// error; for flags polled from a server (Unleash), when it last
    /// answered and why it last failed ([`SourceStatus::remote`]).
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("flags.toml");
    /// std::fs::write(&path, "[new_checkout_flow]\nrollout = 20\n").unwrap();
    /// let status = flags_middleware::Flags::from_file(&path).unwrap().status();
    /// assert_eq!(status.source, format!("file {}", path.display()));
    /// assert_eq!(status.audit_log, Some(dir.path().join("flags.audit.jsonl")));
    /// assert!(status.last_reload.is_some() && status.last_error.is_none());
    /// ```
    pub fn status(&self) -> SourceStatus {
        self.control().status()
    }

    /// Waits until fresh flags from the source are served (an Unleash
    /// server answered, and its flags are live: a request right after gets
    /// them), at most `timeout`. Other stores are ready at once.
    ///
    /// Until then the handle serves what it started from (for Unleash: the
    /// last-known-good or bootstrap file, or no flags); whether to start
    /// serving requests without fresh flags is the app's choice. An answer
    /// whose flags cannot be served (refused when compiled: see
    /// [`Flags::status`]) does not make the handle ready.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::time::Duration;
    /// use flags_middleware::Flags;
    ///
    /// let flags = Flags::from_toml_str("[legacy_api]\n", "example").unwrap();
    /// flags.wait_until_ready(Duration::from_secs(1)).await.unwrap();
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when `timeout` passes first (with the
    /// source's last failure), or at once when the source will never be
    /// ready (Unleash refused the token).
    pub async fn wait_until_ready(&self, timeout: std::time::Duration) -> Result<(), StoreError> {
        let store = self.control().store().clone();
        match tokio::time::timeout(timeout, store.until_ready()).await {
            Ok(ready) => ready,
            Err(_) => {
                let why = store
                    .remote_status()
                    .and_then(|r| r.last_failure)
                    .map_or_else(String::new, |f| format!(": {}", f.reason));
                Err(StoreError::Unavailable(format!(
                    "{} not ready within {timeout:?}{why}",
                    store.describe()
                )))
            }
        }
    }

    /// This handle's audit log (its file, or memory), newest first: `limit`
    /// entries after skipping `offset`. With a store that keeps the log
    /// itself (PostgreSQL), read it with [`Flags::audit_page`]: this one
    /// holds only what this handle saw, other instances' changes under
    /// `outside change`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use flags_middleware::{edit::Edit, Flags};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("flags.toml");
    /// std::fs::write(&path, "[new_checkout_flow]\n").unwrap();
    /// let flags = Flags::from_file(&path).unwrap();
    /// flags.writer("ops").commit(Edit::kill("new_checkout_flow")).await.unwrap();
    /// let newest = &flags.audit_log(0, 10).unwrap()[0];
    /// assert_eq!((newest.actor.as_str(), newest.action.as_str()), ("ops", "kill"));
    /// assert!(dir.path().join("flags.audit.jsonl").exists()); // kept beside the file
    /// # }
    /// ```
    ///
    /// # Errors
    /// When the audit file cannot be read.
    pub fn audit_log(&self, offset: usize, limit: usize) -> std::io::Result<Vec<AuditEntry>> {
        self.control().local_audit(offset, limit)
    }

    /// The audit log, newest first, from where it is kept: the store's own
    /// when it keeps one (a database every instance writes to, so the
    /// entries name the instance), else this handle's file or memory.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use flags_middleware::{edit::Edit, Flags};
    ///
    /// let flags = Flags::from_toml_str("[a]\n[b]\n", "flags.toml").unwrap();
    /// flags.writer("ops").commit(Edit::kill("a")).await.unwrap();
    /// flags.writer("ops").commit(Edit::kill("b")).await.unwrap();
    /// let page = flags.audit_page(0, 10).await.unwrap(); // newest first
    /// assert_eq!((page[0].flag.as_str(), page[0].version), ("b", flags.version()));
    /// assert_eq!((page[1].flag.as_str(), page[1].action.as_str()), ("a", "kill"));
    /// assert_eq!(flags.audit_log(1, 10).unwrap(), page[1..]); // skips 1; same log here
    /// # }
    /// ```
    ///
    /// # Errors
    /// When the log cannot be read.
    pub async fn audit_page(
        &self,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.control().audit_page(offset, limit).await
    }
}

/// Audit entries about one flag.
impl Flags {
    /// The audit entries about `flag`, newest first (`limit` entries after
    /// skipping `offset` of them), from where the log is kept: a database
    /// query with the PostgreSQL store, else this handle's file or memory.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use flags_middleware::{edit::Edit, Flags};
    ///
    /// let flags = Flags::from_toml_str("[a]\nenabled = true\n[b]\n", "flags.toml").unwrap();
    /// let ops = flags.writer("ops");
    /// ops.commit(Edit::kill("a")).await.unwrap();
    /// ops.commit(Edit::enable("b")).await.unwrap();
    /// let about_a = flags.audit_page_of("a", 0, 10).await.unwrap();
    /// assert_eq!(about_a.len(), 1);
    /// assert_eq!(about_a[0].action, "kill");
    /// # }
    /// ```
    ///
    /// # Errors
    /// When the log cannot be read.
    pub async fn audit_page_of(
        &self,
        flag: &str,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.control().audit_page_of(flag, offset, limit).await
    }
}

/// Changing.
impl Flags {
    /// A [`Writer`] committing changes on behalf of `actor` (an admin
    /// token's name, `guard`...), who is named in the audit log.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use flags_middleware::{edit::Edit, Context, Flags};
    ///
    /// let flags = Flags::from_toml_str("[legacy_api]\n", "example").unwrap();
    /// flags.writer("ops").commit(Edit::kill("legacy_api")).await.unwrap();
    /// assert!(!flags.is_enabled("legacy_api", &Context::new()));
    /// assert_eq!(flags.audit_log(0, 1).unwrap()[0].actor, "ops");
    /// # }
    /// ```
    pub fn writer(&self, actor: impl Into<String>) -> Writer {
        Writer::new(self.control().clone(), actor)
    }

    /// The change side of this handle (an in-memory store unless one was attached).
    fn control(&self) -> &Arc<Control> {
        self.inner.control.get_or_init(|| {
            let live = self.inner.live.clone();
            let set = live.load().to_flag_set();
            Arc::new(Control::new(live, Arc::new(MemoryStore::new(set)), None))
        })
    }

    /// Where this handle's changes go.
    pub(crate) fn store(&self) -> Arc<dyn Store> {
        self.control().store().clone()
    }

    /// A handle that does not keep the flags alive (for background tasks).
    pub(crate) fn downgrade(&self) -> WeakFlags {
        WeakFlags(Arc::downgrade(&self.inner))
    }

    /// Unknown flags asked for and usage per flag, shared with the layer.
    pub(crate) fn tracker(&self) -> &crate::hygiene::Tracker {
        &self.inner.tracker
    }

    /// The served snapshot, for [`testing::swap_unpersisted`](crate::testing::swap_unpersisted).
    pub(crate) fn live(&self) -> &Live {
        &self.inner.live
    }
}

impl Flags {
    /// Serves the flags of a PostgreSQL namespace, kept current by
    /// `LISTEN`/`NOTIFY`; changes through [`Flags::writer`] and the admin API
    /// are written to the database (see [`PostgresStore`](crate::store::PostgresStore)). Must be called
    /// inside a tokio runtime.
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use flags_middleware::{store::PostgresConfig, Flags};
    ///
    /// let config = PostgresConfig::new("host=127.0.0.1 user=app dbname=app")?.instance("web-1");
    /// let flags = Flags::from_postgres(config).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// See [`PostgresStore::connect`](crate::store::PostgresStore::connect).
    #[cfg(feature = "postgres")]
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub async fn from_postgres(config: crate::store::PostgresConfig) -> Result<Flags, StoreError> {
        let store = crate::store::PostgresStore::connect(config.clone()).await?;
        let flags = Flags::with_store(Arc::new(store), None).await?;
        let _ = flags.inner.postgres.set(config);
        Ok(flags)
    }

    /// The database of flags from [`from_postgres`](Self::from_postgres).
    #[cfg(feature = "postgres")]
    pub(crate) fn postgres_config(&self) -> Option<&crate::store::PostgresConfig> {
        self.inner.postgres.get()
    }
}

impl Flags {
    /// Serves flags managed in an Unleash server, polled from its client API
    /// as Unleash's SDKs poll it, and reports their use back to it (see
    /// [`UnleashStore`](crate::store::UnleashStore)). The first fetch is
    /// made here; if it fails, the last-known-good or bootstrap file (or
    /// no flags) is served until one succeeds: see
    /// [`Flags::wait_until_ready`]. Writes are refused (the flags are
    /// managed in Unleash), except the rollout guard's kill. Must be
    /// called inside a tokio runtime.
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use flags_middleware::{store::UnleashConfig, Flags};
    ///
    /// let config = UnleashConfig::new("http://localhost:4242/api", "default:development.secret")?
    ///     .app_name("checkout")
    ///     .last_known_good("unleash.last-good.json");
    /// let flags = Flags::from_unleash(config).await?;
    /// flags.wait_until_ready(Duration::from_secs(5)).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// Outside a tokio runtime, or when the flags started from cannot be
    /// compiled.
    #[cfg(feature = "unleash")]
    #[cfg_attr(docsrs, doc(cfg(feature = "unleash")))]
    pub async fn from_unleash(config: crate::store::UnleashConfig) -> Result<Flags, StoreError> {
        let store = crate::store::UnleashStore::connect(config).await?;
        let flags = Flags::with_store(Arc::new(store.clone()), None).await?;
        store.report(flags.metrics().clone());
        Ok(flags)
    }
}
