//! [`UnleashStore`]: flags managed in an Unleash server, polled from its
//! client API with `ETag`s, read-only here.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use hyper::body::Bytes;
use tokio::runtime::Handle;
use tokio::sync::watch;

use super::remote_status::RemoteStatus;
use super::{BoxFuture, Store, StoreError, StoreWrite, Update, Wake, WatchGuard};
use crate::engine::Mode;
use crate::model::FlagSet;

mod backoff;
mod config;
mod http;
mod kill;
mod last_good;
mod poll;
mod report;
mod tls;

pub use config::{UnleashConfig, UnleashConfigError};

use backoff::Schedule;

/// Flags managed in an [Unleash](https://www.getunleash.io/) server: polled
/// from its client API (`GET {url}/client/features`) as Unleash's own server
/// SDKs poll it, served through the same change path as every other store
/// (a new version, audit entries, decision logs, the guard), and read-only
/// here: change them in Unleash.
///
/// Built with [`UnleashStore::connect`], or
/// [`Flags::from_unleash`](crate::Flags::from_unleash) (which also reports
/// usage back to Unleash), inside a tokio runtime.
///
/// # Example
///
/// ```no_run
/// use std::time::Duration;
/// use flags_middleware::store::UnleashConfig;
/// use flags_middleware::{Context, Flags};
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let config = UnleashConfig::new("http://localhost:4242/api", "default:development.secret")?
///     .app_name("checkout")
///     .last_known_good("/var/lib/checkout/unleash.last-good.json");
/// let flags = Flags::from_unleash(config).await?;
/// // Serve the last-known-good flags at once, but say so if Unleash is slow:
/// if let Err(e) = flags.wait_until_ready(Duration::from_secs(5)).await {
///     tracing::warn!("serving the last-known-good flags: {e}");
/// }
/// let on = flags.is_enabled("new_checkout_flow", &Context::new().user_id("user_123"));
/// # Ok(()) }
/// ```
///
/// # How it polls
///
/// * Every call sends the headers Unleash's SDKs send (`authorization`,
///   `unleash-appname`, `unleash-instanceid`, `unleash-connection-id`,
///   `unleash-interval`, `unleash-sdk: flags-rust:<version>`,
///   `unleash-client-spec: 5.2.0`, so segments come by reference) and
///   `If-None-Match` with the last `ETag`: an unchanged set costs a 304 and
///   nothing else.
/// * A 200 is parsed, swapped in as a new version (audited under the actor
///   `unleash`), and written to the last-known-good file.
/// * Back-off is the Node SDK's: 401 and 403 stop polling for good (an
///   `ERROR` log says the token is refused; [`Flags::status`](crate::Flags::status)
///   keeps saying so); 404, 429, 500, 502, 503 and 504 count a failure (at
///   most 10) and the next call waits `interval × (1 + failures)`; a
///   success takes one failure off; no answer (timeout, refused
///   connection) is tried again after the interval.
///
/// # Until Unleash answers
///
/// [`UnleashStore::connect`] makes the first call itself (bounded by the
/// [timeout](UnleashConfig::timeout)). If it fails, the store serves, in
/// order: the [last-known-good file](UnleashConfig::last_known_good), the
/// [bootstrap file](UnleashConfig::bootstrap), or no flags at all (every
/// flag off), and keeps polling. [`Flags::wait_until_ready`](crate::Flags::wait_until_ready)
/// tells the app when a fetch succeeded; whether to start without one is
/// the app's choice.
///
/// # Changes
///
/// The admin API, the CLI and [`Writer`](crate::change::Writer)s are refused
/// with [`StoreError::ReadOnly`] (the admin API answers 409, saying the
/// flags are managed in Unleash). The rollout guard's kill is the one
/// exception: with an [admin token](UnleashConfig::admin_token) it turns the
/// flag off in Unleash (`POST {url}/admin/projects/{project}/features/{name}/environments/{env}/off`)
/// and here; without one, it is applied here only, logged as such, and
/// lasts until Unleash's next change.
///
/// ```text
/// ERROR flags::unleash: Unleash refused the token (401 Unauthorized); polling stopped: check the client (backend) token url="http://localhost:4242/api/client/features"
/// WARN  flags::unleash: cannot fetch flags from Unleash; serving the last good flags url="http://localhost:4242/api/client/features" reason="no answer within 10s"
/// INFO  flags::unleash: Unleash answers again url="http://localhost:4242/api/client/features"
/// ```
#[derive(Debug, Clone)]
pub struct UnleashStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
pub(super) struct Inner {
    config: UnleashConfig,
    http: http::Http,
    connection_id: String,
    features_url: String,
    describe: String,
    runtime: Handle,
    state: Mutex<State>,
    ready: watch::Sender<Readiness>,
    last_good: last_good::Writer,
}

/// What the poller and the change path share.
#[derive(Debug)]
struct State {
    /// What was served at startup (for [`Store::load`]).
    initial: FlagSet,
    /// The version served (rises with every 200 and every local kill).
    version: u64,
    /// The `ETag` of the last 200.
    etag: Option<String>,
    /// A 200 the change path has not taken yet, with its body (for the
    /// last-known-good file).
    pending: Option<(FlagSet, Bytes)>,
    schedule: Schedule,
    /// When to call after the first call (`None`: never).
    first_wait: Option<std::time::Duration>,
    status: RemoteStatus,
}

/// Whether a fetch has succeeded yet.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Readiness {
    Waiting,
    Ready,
    /// The token was refused: it never will.
    Refused(String),
}

impl UnleashStore {
    /// Asks Unleash for the flags once; on failure starts from the
    /// last-known-good file, the bootstrap file, or no flags (see the
    /// [type docs](UnleashStore)). Polling starts when the store is
    /// watched (as [`Flags::with_store`](crate::Flags::with_store) does).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use flags_middleware::store::{Store, UnleashConfig, UnleashStore};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let bootstrap = dir.path().join("flags.toml");
    /// std::fs::write(&bootstrap, "[new_checkout_flow]\n").unwrap();
    /// # // A server that hangs up on every connection, kept for the whole example.
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// # let port = listener.local_addr().unwrap().port();
    /// # tokio::spawn(async move { while let Ok((conn, _)) = listener.accept().await { drop(conn) } });
    /// // Nothing answers at that port: the store starts from the bootstrap file.
    /// let url = format!("http://127.0.0.1:{port}/api");
    /// let config = UnleashConfig::new(&url, "default:development.secret").unwrap().bootstrap(&bootstrap);
    /// let store = UnleashStore::connect(config).await.unwrap();
    /// assert!(store.load().await.unwrap().feature("new_checkout_flow").is_some());
    /// assert_eq!(store.remote_status().unwrap().serving, "bootstrap");
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] outside a tokio runtime (or, in theory,
    /// when the TLS client cannot be set up).
    pub async fn connect(config: UnleashConfig) -> Result<UnleashStore, StoreError> {
        let runtime = Handle::try_current().map_err(|_| {
            StoreError::Unavailable("UnleashStore::connect must run inside a tokio runtime".into())
        })?;
        let connection_id = connection_id();
        let features_url = format!("{}/client/features", config.url);
        let http = http::Http::new(&config, &connection_id).map_err(StoreError::Unavailable)?;
        let inner = Arc::new(Inner {
            http,
            connection_id,
            describe: format!("unleash {}", config.url),
            last_good: last_good::Writer::new(config.last_known_good.clone(), config.url.clone()),
            runtime,
            state: Mutex::new(State {
                initial: FlagSet::default(),
                version: 0,
                etag: None,
                pending: None,
                schedule: Schedule::new(config.refresh_interval),
                first_wait: None,
                status: RemoteStatus {
                    url: features_url.clone(),
                    polling: true,
                    serving: "empty",
                    ..RemoteStatus::default()
                },
            }),
            ready: watch::Sender::new(Readiness::Waiting),
            features_url,
            config,
        });
        inner.start().await;
        Ok(UnleashStore { inner })
    }

    /// This process's `unleash-connection-id` (one per process).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use flags_middleware::store::{UnleashConfig, UnleashStore};
    ///
    /// # // A server that hangs up on every connection, kept for the whole example.
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// # let port = listener.local_addr().unwrap().port();
    /// # tokio::spawn(async move { while let Ok((conn, _)) = listener.accept().await { drop(conn) } });
    /// let config = UnleashConfig::new(&format!("http://127.0.0.1:{port}/api"), "default:development.secret").unwrap();
    /// let one = UnleashStore::connect(config.clone()).await.unwrap();
    /// let two = UnleashStore::connect(config).await.unwrap();
    /// assert_eq!(one.connection_id(), two.connection_id()); // one per process
    /// assert_eq!(one.connection_id().len(), 36); // shaped like a UUID
    /// # }
    /// ```
    pub fn connection_id(&self) -> &str {
        &self.inner.connection_id
    }

    /// Reports usage to Unleash from `metrics` (the layer's counters):
    /// registers once, then posts a bucket every metrics interval.
    pub(crate) fn report(&self, metrics: crate::metrics::Metrics) {
        report::spawn(&self.inner, metrics);
    }
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The first fetch, and what to serve when it fails.
    async fn start(self: &Arc<Self>) {
        let saved = self.config.last_known_good.as_deref().and_then(|path| {
            if !path.exists() {
                return None;
            }
            last_good::read(path)
                .inspect_err(|e| {
                    tracing::warn!(target: "flags::unleash", error = %e, "the last-known-good file is unusable");
                })
                .ok()
        });
        let outcome = self.poll_once().await;
        let mut state = self.state();
        state.version = saved.as_ref().map_or(0, |(v, _)| *v) + 1;
        state.first_wait = state.schedule.after(outcome);
        if let Some((set, body)) = state.pending.take() {
            let version = state.version;
            self.last_good.save_body(&self.runtime, version, body);
            state.initial = set;
            state.status.serving = "unleash";
            drop(state);
            // Served from the start: the handle is built with them.
            self.mark_ready();
            return;
        }
        let (serving, set) = if let Some((_, set)) = saved {
            ("last-known-good", set)
        } else if let Some(set) = self.bootstrap() {
            ("bootstrap", set)
        } else {
            ("empty", FlagSet::default())
        };
        tracing::warn!(
            target: "flags::unleash",
            url = %self.features_url,
            serving,
            flags = set.features.len(),
            "Unleash did not answer at startup; serving these flags until it does"
        );
        state.initial = set;
        state.status.serving = serving;
    }

    fn bootstrap(&self) -> Option<FlagSet> {
        let path = self.config.bootstrap.as_deref()?;
        last_good::read_bootstrap(path)
            .inspect_err(|e| {
                tracing::error!(target: "flags::unleash", error = %e, "the bootstrap file is unusable");
            })
            .ok()
    }
}

impl Store for UnleashStore {
    fn describe(&self) -> String {
        self.inner.describe.clone()
    }

    /// What [`UnleashStore::connect`] fetched (or started from).
    fn load(&self) -> BoxFuture<'_, Result<FlagSet, StoreError>> {
        let set = self.inner.state().initial.clone();
        Box::pin(async move { Ok(set) })
    }

    /// Refused ([`StoreError::ReadOnly`]), except the rollout guard's kill:
    /// see the [type docs](UnleashStore).
    fn apply<'a>(&'a self, write: StoreWrite<'a>) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(kill::apply(&self.inner, write))
    }

    /// Every write but the rollout guard's kill, even one that would change
    /// nothing.
    fn refuses(&self, actor: &str, action: &str) -> Option<StoreError> {
        kill::refuses(&self.inner, actor, action)
    }

    fn watch(&self, wake: Wake) -> Result<WatchGuard, StoreError> {
        Ok(poll::spawn(&self.inner, wake))
    }

    fn refresh(&self) -> BoxFuture<'_, Result<Option<Update>, StoreError>> {
        let mut state = self.inner.state();
        let update = state.pending.take().map(|(set, body)| {
            state.version += 1;
            state.status.serving = "unleash";
            self.inner
                .last_good
                .save_body(&self.inner.runtime, state.version, body);
            Update::Replace(set)
        });
        Box::pin(async move { Ok(update) })
    }

    fn version(&self) -> Option<u64> {
        Some(self.inner.state().version)
    }

    /// Unleash's SDKs evaluate what they can: a strategy or operator they do
    /// not know is off, not an error.
    fn compile_mode(&self) -> Mode {
        Mode::Lenient
    }

    fn outside_actor(&self) -> Option<&'static str> {
        Some(crate::audit::actors::UNLEASH)
    }

    fn remote_status(&self) -> Option<RemoteStatus> {
        let state = self.inner.state();
        Some(RemoteStatus {
            failures: state.schedule.failures(),
            ..state.status.clone()
        })
    }

    fn served(&self, _version: u64) {
        self.inner.mark_ready();
    }

    fn until_ready(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        let mut ready = self.inner.ready.subscribe();
        Box::pin(async move {
            loop {
                match &*ready.borrow_and_update() {
                    Readiness::Ready => return Ok(()),
                    Readiness::Refused(why) => return Err(StoreError::Unavailable(why.clone())),
                    Readiness::Waiting => {}
                }
                if ready.changed().await.is_err() {
                    return Err(StoreError::Unavailable("the Unleash store is gone".into()));
                }
            }
        })
    }
}

/// A random id shaped like a UUID (version 4), one per process: the
/// `unleash-connection-id` header, by which Unleash tells this process's
/// connections from another's with the same instance id.
fn connection_id() -> String {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let a = fastrand::u64(..);
        let b = fastrand::u64(..);
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0x0fff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    })
    .clone()
}

#[cfg(test)]
mod tests;
