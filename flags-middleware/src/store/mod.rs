//! Stores: where flags live durably.
//!
//! A [`Store`] holds the flag set somewhere that survives a restart (a TOML
//! file, a database table) and tells the running process when someone else
//! changed it. The [change path](crate::change) writes every committed
//! change through the store, and swaps the new snapshot in only once the
//! store says it is durable.
//!
//! Implementations in this crate: [`FileStore`] (a watched TOML file, the
//! embedded default) and [`MemoryStore`] (nothing durable; for tests and for
//! flags built in code). A PostgreSQL store (LISTEN/NOTIFY, feature
//! `postgres`) and an Unleash server polled as its SDKs poll it (read-only,
//! feature `unleash`) implement the same trait.
//!
//! # Example
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::sync::Arc;
//! use flags_middleware::{edit::Edit, Context, Flags};
//! use flags_middleware::store::{MemoryStore, Store};
//!
//! let set = flags_middleware::format::toml::parse("[legacy_api]\n", "example").unwrap();
//! let store = Arc::new(MemoryStore::new(set));
//! let flags = Flags::with_store(store.clone(), None).await.unwrap();
//! flags.writer("ops").commit(Edit::kill("legacy_api")).await.unwrap();
//! let stored = store.load().await.unwrap();
//! assert!(!stored.feature("legacy_api").unwrap().enabled);
//! assert!(!flags.is_enabled("legacy_api", &Context::new()));
//! # }
//! ```
//!
//! # Writing a store
//!
//! The trait is object safe: futures are boxed ([`BoxFuture`]), so stores are
//! held as `Arc<dyn Store>`.
//!
//! * [`Store::load`] returns the whole set. The caller compiles it strictly.
//! * [`Store::apply`] makes a change durable. The change is already validated;
//!   the store must refuse it with [`StoreError::Conflict`] if its durable
//!   state moved since it last reported it (a hand edit the watcher has not
//!   delivered yet, another process's write), so nobody's change is silently
//!   overwritten. Calls are serialized by the caller: a store never sees two
//!   `apply` calls, or an `apply` and a `refresh`, at the same time.
//! * [`Store::watch`] starts noticing outside changes and calls the
//!   [`Wake`] callback (from any thread) whenever the durable state may have
//!   changed. Spurious wake-ups are fine; changes the store made itself must
//!   not be reported as outside changes.
//! * [`Store::refresh`] is called after a wake-up and returns what changed
//!   (or `None`), or [`StoreError::Invalid`] for a bad outside edit, which
//!   changes nothing.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::engine::{Change, Mode};
use crate::error::LoadErrors;
use crate::model::FlagSet;

mod atomic_write;
mod file;
mod file_version;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
mod remote_status;
#[cfg(any(feature = "postgres", feature = "unleash"))]
mod tls;
#[cfg(feature = "unleash")]
mod unleash;
mod watch;

/// The largest version a store takes back from a file it reads (a version
/// file, an audit log, a last-known-good file): PostgreSQL's `BIGINT`
/// bound, far past any count of changes. A larger one was not written by a
/// store and would leave no next version to count on.
pub(crate) const MAX_VERSION: u64 = i64::MAX as u64;

pub use file::{FileStore, FileStoreOptions};
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub(crate) use postgres::{database_error, open_client, query_timeout};
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::{PostgresConfig, PostgresConfigError, PostgresStore};
pub use remote_status::{RemoteFailure, RemoteStatus};
#[cfg(feature = "unleash")]
#[cfg_attr(docsrs, doc(cfg(feature = "unleash")))]
pub use unleash::{UnleashConfig, UnleashConfigError, UnleashStore};

/// A boxed, sendable future: what [`Store`] methods return.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use flags_middleware::store::{BoxFuture, MemoryStore, Store, StoreError};
/// use flags_middleware::{format::toml, model::FlagSet};
///
/// let store = MemoryStore::new(toml::parse("[new_checkout_flow]\n", "flags.toml").unwrap());
/// let load: BoxFuture<'_, Result<FlagSet, StoreError>> = store.load();
/// assert!(load.await.unwrap().feature("new_checkout_flow").is_some());
/// # }
/// ```
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Called by a store's watcher, from any thread, when its durable state may
/// have changed outside this process.
///
/// ```
/// use std::sync::{mpsc, Arc};
/// use std::time::Duration;
/// use flags_middleware::store::{FileStore, Store, Wake};
///
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("flags.toml");
/// std::fs::write(&path, "[new_checkout_flow]\n").unwrap();
/// let store = FileStore::open(&path).unwrap();
/// let (woken, wake_ups) = mpsc::channel();
/// let wake: Wake = Arc::new(move || woken.send(()).unwrap_or_default());
/// let _watching = store.watch(wake).unwrap();
/// std::fs::write(&path, "[new_checkout_flow]\nrollout = 5\n").unwrap(); // an outside edit
/// assert!(wake_ups.recv_timeout(Duration::from_secs(10)).is_ok());
/// ```
pub type Wake = Arc<dyn Fn() + Send + Sync>;

/// Durable storage for a flag set. See the [module docs](self).
///
/// ```
/// use std::sync::Arc;
/// use flags_middleware::store::{MemoryStore, Store};
/// use flags_middleware::{edit::Edit, format::toml, Flags};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// // Any `Store` serves a handle; every change is made through it.
/// let set = toml::parse("[new_checkout_flow]\nrollout = 20\n", "flags.toml").unwrap();
/// let store: Arc<dyn Store> = Arc::new(MemoryStore::new(set));
/// let flags = Flags::with_store(store, None).await.unwrap();
/// flags.writer("ops").commit(Edit::kill("new_checkout_flow")).await.unwrap();
/// assert_eq!(flags.status().source, "memory");
/// # }
/// ```
pub trait Store: Send + Sync + fmt::Debug + 'static {
    /// Names the store in logs, errors and the admin status: `file flags.toml`.
    fn describe(&self) -> String;

    /// Reads the whole flag set.
    fn load(&self) -> BoxFuture<'_, Result<FlagSet, StoreError>>;

    /// Makes a validated change durable; returns only once it is (a restart
    /// after `Ok` must see the change).
    fn apply<'a>(&'a self, write: StoreWrite<'a>) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Why a write of `action` (an [`Edit::action`](crate::edit::Edit::action)
    /// such as `kill`) by `actor` is refused whatever it would change, for a store
    /// whose flags are managed elsewhere: checked before the edit is, so a
    /// write that would change nothing is refused too, not answered "no
    /// change". `None` (the default): writes go to [`Store::apply`].
    fn refuses(&self, actor: &str, action: &str) -> Option<StoreError> {
        let _ = (actor, action);
        None
    }

    /// Starts watching for outside changes; `wake` is called whenever one may
    /// have happened. Watching stops when the guard is dropped.
    fn watch(&self, wake: Wake) -> Result<WatchGuard, StoreError>;

    /// What changed outside since the last `load`, `apply` or `refresh`:
    /// `Ok(None)` when nothing did.
    fn refresh(&self) -> BoxFuture<'_, Result<Option<Update>, StoreError>>;

    /// The version of the durable state as of the last `load`, `apply` or
    /// `refresh`, for a store that numbers versions itself: the handle then
    /// serves that number. A database that several instances share keeps it
    /// with the flags, so every instance reports the same version for the
    /// same flags; the file store keeps it beside the file. Either way a
    /// version is never reused, across restarts too, so a client's
    /// `If-Match` from before a restart cannot match newer flags. `None`
    /// (the default, [`MemoryStore`]): the handle counts versions itself,
    /// from 1 at each start.
    fn version(&self) -> Option<u64> {
        None
    }

    /// The audit log, newest first (`limit` entries after skipping
    /// `offset`), for a store that keeps it itself (a database every
    /// instance writes to). `None` (the default): the handle's own log is
    /// the audit log.
    fn audit(
        &self,
        offset: usize,
        limit: usize,
    ) -> Option<BoxFuture<'_, Result<Vec<crate::audit::AuditEntry>, StoreError>>> {
        let _ = (offset, limit);
        None
    }

    /// The audit entries about `flag`, newest first (`limit` entries after
    /// skipping `offset` of them), for a store that keeps the log itself
    /// and can pick them out (a database query). `None` (the default): they
    /// are picked out of [`Store::audit`]'s pages, or out of the handle's
    /// own log.
    fn audit_of(
        &self,
        flag: &str,
        offset: usize,
        limit: usize,
    ) -> Option<BoxFuture<'_, Result<Vec<crate::audit::AuditEntry>, StoreError>>> {
        let _ = (flag, offset, limit);
        None
    }

    /// How strictly the flags this store holds are compiled: [`Mode::Strict`]
    /// (the default) for flags written here; [`Mode::Lenient`] for flags
    /// another system manages (Unleash), evaluated as its SDKs evaluate them.
    fn compile_mode(&self) -> Mode {
        Mode::Strict
    }

    /// Who outside changes are audited under: `None` (the default) names
    /// them `file edit` (a whole set) or `outside change` (some flags).
    fn outside_actor(&self) -> Option<&'static str> {
        None
    }

    /// How a store that polls a server is doing, for the status; `None`
    /// (the default) for other stores.
    fn remote_status(&self) -> Option<RemoteStatus> {
        None
    }

    /// An update this store gave ([`Store::refresh`]) is now served, as
    /// `version`. The default: nothing to do.
    fn served(&self, version: u64) {
        let _ = version;
    }

    /// Resolves once flags fresh from the store's source are served (a
    /// polled server answered, and its flags are live), or fails when it
    /// never will (its token was refused). The default: at once.
    fn until_ready(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }
    /// Records this instance's last evaluation of each flag, for a store
    /// that shares them across instances (see
    /// [`Flags::share_last_seen`](crate::Flags::share_last_seen)). `None`
    /// (the default): nothing is shared.
    fn record_last_seen<'a>(
        &'a self,
        seen: &'a [(String, chrono::DateTime<chrono::Utc>)],
    ) -> Option<BoxFuture<'a, Result<(), StoreError>>> {
        let _ = seen;
        None
    }

    /// The latest evaluation of each flag by any instance, for a store that
    /// shares them. `None` (the default): nothing is shared.
    fn last_seen(&self) -> Option<BoxFuture<'_, Result<LastSeen, StoreError>>> {
        None
    }
}

/// The latest evaluation of each flag across instances, by name.
///
/// ```
/// # use std::sync::Arc;
/// # use flags_middleware::store::{BoxFuture, LastSeen, MemoryStore, Store, StoreError, StoreWrite, Update, Wake, WatchGuard};
/// # use flags_middleware::{format::toml, model::FlagSet, Flags};
/// /// Memory, and what the other instances last evaluated.
/// #[derive(Debug)]
/// struct Fleet(MemoryStore, LastSeen);
///
/// impl Store for Fleet {
///     fn last_seen(&self) -> Option<BoxFuture<'_, Result<LastSeen, StoreError>>> {
///         let seen = self.1.clone();
///         Some(Box::pin(async move { Ok(seen) }))
///     }
/// #   fn describe(&self) -> String { self.0.describe() }
/// #   fn load(&self) -> BoxFuture<'_, Result<FlagSet, StoreError>> { self.0.load() }
/// #   fn apply<'a>(&'a self, w: StoreWrite<'a>) -> BoxFuture<'a, Result<(), StoreError>> { self.0.apply(w) }
/// #   fn watch(&self, wake: Wake) -> Result<WatchGuard, StoreError> { self.0.watch(wake) }
/// #   fn refresh(&self) -> BoxFuture<'_, Result<Option<Update>, StoreError>> { self.0.refresh() }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let at = chrono::Utc::now() - chrono::Duration::hours(1);
/// let set = toml::parse("[old_banner]\n", "flags.toml").unwrap();
/// let store = Fleet(MemoryStore::new(set), LastSeen::from([("old_banner".to_owned(), at)]));
/// let flags = Flags::with_store(Arc::new(store), None).await.unwrap();
/// flags.share_last_seen().await.unwrap();
/// let banner = flags.inventory().into_iter().find(|f| f.name == "old_banner").unwrap();
/// assert_eq!(banner.last_evaluated, Some(at)); // another instance's evaluation
/// # }
/// ```
pub type LastSeen = std::collections::BTreeMap<String, chrono::DateTime<chrono::Utc>>;

/// A validated change handed to [`Store::apply`].
///
/// ```
/// # use std::sync::{Arc, Mutex};
/// # use flags_middleware::store::{BoxFuture, MemoryStore, Store, StoreError, StoreWrite, Update, Wake, WatchGuard};
/// # use flags_middleware::{edit::Edit, format::toml, model::FlagSet, Flags};
/// /// Memory, and a line per write.
/// #[derive(Debug)]
/// struct Logged(MemoryStore, Mutex<Vec<String>>);
///
/// impl Store for Logged {
///     fn apply<'a>(&'a self, write: StoreWrite<'a>) -> BoxFuture<'a, Result<(), StoreError>> {
///         let line = format!("{} {} on v{}", write.actor, write.action, write.base_version);
///         self.1.lock().unwrap().push(line);
///         self.0.apply(write)
///     }
/// #   fn describe(&self) -> String { self.0.describe() }
/// #   fn load(&self) -> BoxFuture<'_, Result<FlagSet, StoreError>> { self.0.load() }
/// #   fn watch(&self, wake: Wake) -> Result<WatchGuard, StoreError> { self.0.watch(wake) }
/// #   fn refresh(&self) -> BoxFuture<'_, Result<Option<Update>, StoreError>> { self.0.refresh() }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let set = toml::parse("[new_checkout_flow]\n", "flags.toml").unwrap();
/// let store = Arc::new(Logged(MemoryStore::new(set), Mutex::default()));
/// let flags = Flags::with_store(store.clone(), None).await.unwrap();
/// flags.writer("ops").commit(Edit::kill("new_checkout_flow")).await.unwrap();
/// assert_eq!(*store.1.lock().unwrap(), ["ops kill on v1"]);
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct StoreWrite<'a> {
    /// The changes, in order.
    pub changes: &'a [Change],
    /// The flag-set version the changes were validated against; the change
    /// becomes version `base_version + 1`.
    pub base_version: u64,
    /// Who made the change: an admin token's name, `file edit`, `guard`.
    pub actor: &'a str,
    /// What was done, for a store that keeps its own audit log: `kill`,
    /// `rollout`...
    pub action: &'a str,
    /// Why, when the actor said (the guard's figures), for the audit log.
    pub message: Option<&'a str>,
}

/// An outside change found by [`Store::refresh`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use flags_middleware::store::{FileStore, Store, Update};
///
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("flags.toml");
/// std::fs::write(&path, "[new_checkout_flow]\n").unwrap();
/// let store = FileStore::open(&path).unwrap();
/// std::fs::write(&path, "[new_checkout_flow]\n[dark_mode]\n").unwrap(); // a hand edit
/// match store.refresh().await.unwrap() {
///     Some(Update::Replace(set)) => assert!(set.feature("dark_mode").is_some()),
///     other => panic!("expected the whole file, got {other:?}"),
/// }
/// assert_eq!(store.refresh().await.unwrap(), None, "nothing new since");
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    /// The whole set, as it now is (a file was edited).
    Replace(FlagSet),
    /// Individual changes (a database row changed).
    Changes(Vec<Change>),
}

/// Keeps a store's watcher alive; dropping it stops watching.
///
/// ```
/// use std::sync::Arc;
/// use flags_middleware::store::{FileStore, MemoryStore, Store};
///
/// let memory = MemoryStore::default().watch(Arc::new(|| {})).unwrap();
/// assert_eq!(memory.mode(), "none"); // nothing outside this process changes it
///
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("flags.toml");
/// std::fs::write(&path, "[new_checkout_flow]\n").unwrap();
/// let file = FileStore::open(&path).unwrap().watch(Arc::new(|| {})).unwrap();
/// assert_ne!(file.mode(), "none"); // watched (inotify, or polling where it is missing)
/// drop(file); // stops watching
/// ```
pub struct WatchGuard {
    _inner: Box<dyn Send + Sync>,
    mode: &'static str,
}

impl WatchGuard {
    /// Wraps whatever keeps a watcher running (a thread handle, a
    /// `notify` watcher, a task's abort handle); `mode` says how the store
    /// watches (`inotify`, `polling`, `listen/notify`).
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use flags_middleware::store::WatchGuard;
    ///
    /// // A watcher thread polls until its stop channel closes.
    /// let (stop, stopped) = mpsc::channel::<()>();
    /// let guard = WatchGuard::new(stop, "polling");
    /// assert_eq!(guard.mode(), "polling");
    /// assert_eq!(stopped.try_recv(), Err(mpsc::TryRecvError::Empty)); // running
    /// drop(guard);
    /// assert_eq!(stopped.try_recv(), Err(mpsc::TryRecvError::Disconnected)); // told to stop
    /// ```
    pub fn new(inner: impl Send + Sync + 'static, mode: &'static str) -> Self {
        WatchGuard {
            _inner: Box::new(inner),
            mode,
        }
    }

    /// A guard for a store that never changes outside this process.
    ///
    /// ```
    /// use flags_middleware::store::WatchGuard;
    ///
    /// // What a store that only this process writes returns from `Store::watch`.
    /// assert_eq!(WatchGuard::none().mode(), "none");
    /// ```
    pub fn none() -> Self {
        Self::new((), "none")
    }

    /// How the store watches.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::sync::Arc;
    /// use flags_middleware::{store::{MemoryStore, Store}, Flags};
    ///
    /// let flags = Flags::with_store(Arc::new(MemoryStore::default()), None).await.unwrap();
    /// assert_eq!(flags.status().watching, "none"); // what the admin API's `/_status` shows
    /// # }
    /// ```
    pub fn mode(&self) -> &'static str {
        self.mode
    }
}

impl fmt::Debug for WatchGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WatchGuard")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// Why a store could not load, apply or refresh.
///
/// ```
/// use std::sync::Arc;
/// use flags_middleware::change::CommitError;
/// use flags_middleware::store::{BoxFuture, Store, StoreError, StoreWrite, Update, Wake, WatchGuard};
/// use flags_middleware::{edit::Edit, format::toml, model::FlagSet, Flags};
///
/// /// Flags another system manages: every write is refused.
/// #[derive(Debug)]
/// struct Managed(FlagSet);
///
/// impl Store for Managed {
///     fn describe(&self) -> String { "the release system".into() }
///     fn load(&self) -> BoxFuture<'_, Result<FlagSet, StoreError>> {
///         let set = self.0.clone();
///         Box::pin(async move { Ok(set) })
///     }
///     fn refuses(&self, _actor: &str, _action: &str) -> Option<StoreError> {
///         Some(StoreError::ReadOnly("change them in the release system".into()))
///     }
///     fn apply<'a>(&'a self, _: StoreWrite<'a>) -> BoxFuture<'a, Result<(), StoreError>> {
///         Box::pin(async { Err(StoreError::ReadOnly("change them in the release system".into())) })
///     }
///     fn watch(&self, _: Wake) -> Result<WatchGuard, StoreError> { Ok(WatchGuard::none()) }
///     fn refresh(&self) -> BoxFuture<'_, Result<Option<Update>, StoreError>> {
///         Box::pin(async { Ok(None) })
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let set = toml::parse("[new_checkout_flow]\n", "flags.toml").unwrap();
/// let flags = Flags::with_store(Arc::new(Managed(set)), None).await.unwrap();
/// let refused = flags.writer("ops").commit(Edit::kill("new_checkout_flow")).await;
/// assert!(matches!(refused, Err(CommitError::Store(StoreError::ReadOnly(_)))));
/// assert_eq!(
///     refused.unwrap_err().to_string(),
///     "read-only: change them in the release system"
/// );
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StoreError {
    /// The durable state changed since the store last reported it; the change
    /// was not made. (The admin API answers 412 when the flags it serves
    /// moved on meanwhile, else 409 `conflict`, as for a hand edit of the
    /// file not loaded yet.)
    Conflict(String),
    /// The stored flags are invalid: a bad hand edit, a bad row. Nothing
    /// changed.
    Invalid(LoadErrors),
    /// Reading or writing failed: I/O, a lost connection.
    Unavailable(String),
    /// The store takes no changes: its flags are managed elsewhere (an
    /// Unleash server). The admin API answers 409.
    ReadOnly(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Conflict(m) => write!(f, "conflict: {m}"),
            StoreError::Invalid(e) => write!(f, "{e}"),
            StoreError::Unavailable(m) => write!(f, "store unavailable: {m}"),
            StoreError::ReadOnly(m) => write!(f, "read-only: {m}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<crate::error::LoadError> for StoreError {
    fn from(e: crate::error::LoadError) -> Self {
        StoreError::Invalid(LoadErrors::from(e))
    }
}

impl From<LoadErrors> for StoreError {
    fn from(e: LoadErrors) -> Self {
        StoreError::Invalid(e)
    }
}
