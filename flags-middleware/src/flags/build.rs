//! Building a [`Flags`] handle: from a compiled snapshot, a flag set,
//! Unleash JSON, TOML text, a watched file or any [`Store`].

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use super::{Flags, Inner};
use crate::audit::AuditLog;
use crate::change::Control;
use crate::engine::{Mode, Snapshot};
use crate::error::{LoadError, LoadErrors};
use crate::live::Live;
use crate::model::FlagSet;
use crate::store::{FileStore, Store, StoreError};

/// Building a handle.
impl Flags {
    /// A handle serving `snapshot` (its version is kept). Changes are kept
    /// in memory (a [`MemoryStore`](crate::store::MemoryStore)).
    ///
    /// ```
    /// use flags_middleware::{engine::Snapshot, edit::Edit, Context, Flags};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let live = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
    /// live.writer("ops").commit(Edit::kill("new_checkout_flow")).await.unwrap();
    /// // A copy of what `live` serves now, for a test or a dry run.
    /// let copy = Flags::from_snapshot(Snapshot::clone(&live.snapshot()));
    /// assert_eq!(copy.version(), 2);
    /// assert!(!copy.is_enabled("new_checkout_flow", &Context::new()));
    /// # }
    /// ```
    pub fn from_snapshot(snapshot: Snapshot) -> Flags {
        Flags {
            inner: Arc::new(Inner {
                live: Arc::new(Live::new(snapshot)),
                metrics: crate::metrics::Metrics::default(),
                exposures: crate::metrics::ClientExposures::default(),
                control: OnceLock::new(),
                #[cfg(feature = "postgres")]
                postgres: OnceLock::new(),
                tracker: crate::hygiene::Tracker::default(),
            }),
        }
    }

    /// A handle serving `set`, checked strictly, at version 1.
    ///
    /// ```
    /// use flags_middleware::{model::FlagSet, Context, Flags};
    ///
    /// let json = r#"{"features": [{"name": "f", "enabled": true, "strategies": [{"name": "myStrategy"}]}]}"#;
    /// let err = Flags::new(&FlagSet::from_unleash_json(json).unwrap()).unwrap_err().into_vec();
    /// // Strict: a strategy it cannot evaluate is an error, by flag and field.
    /// assert_eq!(err[0].flag.as_deref(), Some("f"));
    /// assert!(err[0].field.as_deref().unwrap().starts_with("strategies[0]"));
    /// assert!(!Flags::from_unleash_json(json).unwrap().is_enabled("f", &Context::new())); // lenient: off
    /// ```
    ///
    /// # Errors
    /// Every problem in `set`.
    pub fn new(set: &FlagSet) -> Result<Flags, LoadErrors> {
        Ok(Self::from_snapshot(
            Snapshot::compile(set, Mode::Strict, "flag set")?.with_version(1),
        ))
    }

    /// A handle serving Unleash client-API JSON, loaded as Unleash SDKs load
    /// it (whatever cannot be evaluated is off).
    ///
    /// ```
    /// use flags_middleware::{Context, Flags};
    ///
    /// // What `GET /api/client/features` of an Unleash server answers.
    /// let json = r#"{"version": 2, "features": [
    ///     {"name": "new_checkout_flow", "enabled": true, "strategies": [{"name": "default"}]},
    ///     {"name": "custom", "enabled": true, "strategies": [{"name": "myOwnStrategy"}]}]}"#;
    /// let flags = Flags::from_unleash_json(json).unwrap();
    /// assert!(flags.is_enabled("new_checkout_flow", &Context::new()));
    /// assert!(!flags.is_enabled("custom", &Context::new())); // unknown strategy: off, as the SDKs do
    /// assert!(Flags::from_unleash_json("features: []").is_err());
    /// ```
    ///
    /// # Errors
    /// When the text is not client-API JSON.
    pub fn from_unleash_json(text: &str) -> Result<Flags, LoadErrors> {
        let set = FlagSet::from_unleash_json(text)?;
        Ok(Self::from_snapshot(
            Snapshot::compile(&set, Mode::Lenient, "unleash json")?.with_version(1),
        ))
    }

    /// A handle serving flags written in the [TOML format](crate::format::toml),
    /// at version 1. Not watched: see [`Flags::from_file`] for a file.
    ///
    /// ```
    /// use flags_middleware::{Context, Flags};
    ///
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\nrollout = 100\n", "flags.toml").unwrap();
    /// assert!(flags.is_enabled("new_checkout_flow", &Context::new().user_id("u1")));
    /// let err = &Flags::from_toml_str("[new_checkout_flow]\nrollout = 150\n", "flags.toml").unwrap_err().into_vec()[0];
    /// assert_eq!((err.line, err.field.as_deref()), (Some(2), Some("rollout")));
    /// ```
    ///
    /// # Errors
    /// Every problem in `text`, with line and column.
    pub fn from_toml_str(text: &str, source: &str) -> Result<Flags, LoadErrors> {
        let (_, snap) = crate::format::toml::parse_compiled(text, source)?;
        Ok(Flags::from_snapshot(snap.with_version(1)))
    }

    /// Serves the flags in a TOML file and keeps them in step with it: a saved
    /// edit is live within a second; an edit with errors changes nothing (the
    /// errors are logged and shown by [`Flags::status`] until a good edit
    /// replaces it). Changes committed through a
    /// [`Writer`](crate::change::Writer) (and the admin API) are written back
    /// into the file, keeping its comments, and
    /// appended to the audit log beside it (`flags.toml` → `flags.audit.jsonl`).
    ///
    /// Works inside or outside a tokio runtime (watching runs on its own thread).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), flags_middleware::LoadErrors> {
    /// use flags_middleware::{Context, Flags};
    ///
    /// let flags = Flags::from_file("flags.toml")?;
    /// let on = flags.is_enabled("new_checkout_flow", &Context::new().user_id("user_123"));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// When the file cannot be read, is empty (see [`FileStore::options`]),
    /// or has any error (with line and column).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Flags, LoadErrors> {
        Flags::from_file_store(FileStore::open(path)?)
    }

    /// [`Flags::from_file`] for a store opened with options
    /// ([`FileStore::options`]).
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("flags.toml");
    /// std::fs::write(&path, "").unwrap(); // a deploy that creates it empty, on purpose
    /// assert!(flags_middleware::Flags::from_file(&path).is_err());
    /// let store = flags_middleware::store::FileStore::options().allow_empty(true).open(&path).unwrap();
    /// assert!(flags_middleware::Flags::from_file_store(store).unwrap().snapshot().is_empty());
    /// ```
    ///
    /// # Errors
    /// When the flags cannot be compiled or the watcher cannot start.
    pub fn from_file_store(store: FileStore) -> Result<Flags, LoadErrors> {
        let source = store.describe();
        // The version persisted beside the file: never one served before.
        let version = store.version().unwrap_or(1);
        let snap =
            Snapshot::compile(&store.flag_set(), Mode::Strict, &source)?.with_version(version);
        let audit = AuditLog::beside(store.path());
        let flags = Flags::from_snapshot(snap);
        flags
            .attach(Arc::new(store), Some(audit))
            .map_err(|e| LoadError::new(source, e.to_string()))?;
        Ok(flags)
    }

    /// A handle serving what `store` holds, watching it for outside changes;
    /// changes committed through a [`Writer`](crate::change::Writer) (and the
    /// admin API) are written to it. `audit_log` names a JSONL file for the audit log (in
    /// memory when `None`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use flags_middleware::{edit::Edit, format::toml, store::{MemoryStore, Store}, Flags};
    ///
    /// let store = std::sync::Arc::new(MemoryStore::new(toml::parse("[legacy_api]\n", "seed").unwrap()));
    /// let flags = Flags::with_store(store.clone(), None).await.unwrap();
    /// flags.writer("ops").commit(Edit::kill("legacy_api")).await.unwrap();
    /// assert!(!store.load().await.unwrap().feature("legacy_api").unwrap().enabled); // written
    /// # }
    /// ```
    ///
    /// # Errors
    /// When the store cannot be read or holds invalid flags.
    pub async fn with_store(
        store: Arc<dyn Store>,
        audit_log: Option<PathBuf>,
    ) -> Result<Flags, StoreError> {
        let set = store.load().await?;
        let snap = Snapshot::compile(&set, store.compile_mode(), &store.describe())?
            .with_version(store.version().unwrap_or(1));
        let flags = Flags::from_snapshot(snap);
        flags.attach(store, audit_log)?;
        Ok(flags)
    }

    /// Makes `store` where this handle's changes go, and starts watching it.
    fn attach(&self, store: Arc<dyn Store>, audit_log: Option<PathBuf>) -> Result<(), StoreError> {
        let control = Arc::new(Control::new(self.inner.live.clone(), store, audit_log));
        // A fresh handle: nobody asked for its (in-memory) control yet.
        let control = self.inner.control.get_or_init(|| control);
        // Startup of a served handle: flags the code asks for but the
        // source lacks are said once, here (see `crate::hygiene`).
        self.inner
            .tracker
            .warn_undefined_once(&self.inner.live.peek());
        control.start_watching()?;
        self.start_sharing_last_seen();
        Ok(())
    }
}
