//! [`Flags`]: the cloneable handle every part of the system shares.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::engine::{Change, Mode, Snapshot};
use crate::error::LoadErrors;
use crate::model::{FlagSet, Payload};
use crate::Context;

/// The live flag set: an atomically swapped, immutable [`Snapshot`].
///
/// Readers never block and never see a half-applied change; writers build a
/// whole new snapshot and swap it in. Cloning is cheap (one `Arc`).
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
    current: ArcSwap<Snapshot>,
    /// Serializes writers so versions are assigned in order.
    write: std::sync::Mutex<()>,
    /// Request counters per flag and arm, fed by the layer.
    metrics: crate::metrics::Metrics,
    /// Where changes are persisted (see [`crate::store`]); set by
    /// `from_file`/`with_store`, or an in-memory store on first use.
    control: std::sync::OnceLock<Arc<crate::store::Control>>,
}

/// A handle that does not keep the flags alive (for background threads).
#[derive(Debug, Clone)]
pub(crate) struct WeakFlags(std::sync::Weak<Inner>);

impl WeakFlags {
    pub(crate) fn upgrade(&self) -> Option<Flags> {
        self.0.upgrade().map(|inner| Flags { inner })
    }
}

/// A variant copied out of a snapshot (see [`Flags::variant`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OwnedVariant {
    /// The arm's name; `disabled` when none.
    pub name: String,
    /// Whether a real variant was picked.
    pub enabled: bool,
    /// Whether the flag is on for the caller.
    pub feature_enabled: bool,
    /// The arm's payload.
    pub payload: Option<Payload>,
}

impl Flags {
    /// A handle serving `snapshot` (its version is kept).
    pub fn from_snapshot(snapshot: Snapshot) -> Flags {
        Flags {
            inner: Arc::new(Inner {
                current: ArcSwap::from_pointee(snapshot),
                write: std::sync::Mutex::new(()),
                metrics: crate::metrics::Metrics::default(),
                control: std::sync::OnceLock::new(),
            }),
        }
    }

    /// A handle serving `set`, checked strictly, at version 1.
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
    /// # Errors
    /// When the text is not client-API JSON.
    pub fn from_unleash_json(text: &str) -> Result<Flags, LoadErrors> {
        let set = FlagSet::from_unleash_json(text)?;
        Ok(Self::from_snapshot(
            Snapshot::compile(&set, Mode::Lenient, "unleash json")?.with_version(1),
        ))
    }

    /// The current snapshot; hold it to see one consistent version.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.inner.current.load_full()
    }

    /// The current version.
    pub fn version(&self) -> u64 {
        self.inner.current.load().version()
    }

    /// Whether `name` is on for `ctx`, against the current snapshot.
    pub fn is_enabled(&self, name: &str, ctx: &Context) -> bool {
        self.inner.current.load().is_enabled(name, ctx)
    }

    /// The variant of `name` for `ctx`, copied out of the current snapshot.
    pub fn variant(&self, name: &str, ctx: &Context) -> OwnedVariant {
        let snap = self.inner.current.load();
        let v = snap.variant(name, ctx);
        OwnedVariant {
            name: v.name.to_owned(),
            enabled: v.enabled,
            feature_enabled: v.feature_enabled,
            payload: v.payload.cloned(),
        }
    }

    /// Request counters per flag and arm, fed by [`FlagsLayer`](crate::FlagsLayer).
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.inner.metrics
    }

    /// Replaces the whole set atomically; returns the new version.
    ///
    /// # Errors
    /// Every problem in `set`; the current flags keep serving.
    pub fn replace(&self, set: &FlagSet, mode: Mode, source: &str) -> Result<u64, LoadErrors> {
        let next = Snapshot::compile(set, mode, source)?;
        self.swap_in(|_| Ok(next))
    }

    /// Applies `changes` atomically (recompiling only what they touch);
    /// returns the new version.
    ///
    /// # Errors
    /// Every problem found; the current flags keep serving.
    pub fn apply(&self, changes: &[Change], mode: Mode, source: &str) -> Result<u64, LoadErrors> {
        self.swap_in(|cur| cur.apply(changes, mode, source))
    }

    /// Builds the next snapshot from the current one under the write lock and
    /// swaps it in with the next version number.
    pub(crate) fn swap_in(
        &self,
        build: impl FnOnce(&Snapshot) -> Result<Snapshot, LoadErrors>,
    ) -> Result<u64, LoadErrors> {
        self.swap_in_at(None, build)
    }

    /// [`swap_in`](Self::swap_in), numbering the new snapshot `version` when
    /// given (a store that numbers versions itself, shared by several
    /// instances), else the next version.
    pub(crate) fn swap_in_at(
        &self,
        version: Option<u64>,
        build: impl FnOnce(&Snapshot) -> Result<Snapshot, LoadErrors>,
    ) -> Result<u64, LoadErrors> {
        let _guard = self
            .inner
            .write
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let cur = self.inner.current.load_full();
        let version = version.unwrap_or(cur.version() + 1);
        let next = build(&cur)?.with_version(version);
        self.inner.current.store(Arc::new(next));
        Ok(version)
    }
}

impl Flags {
    /// The store side of this handle (an in-memory store unless one was attached).
    pub(crate) fn control(&self) -> &Arc<crate::store::Control> {
        self.inner.control.get_or_init(|| {
            let set = self.snapshot().to_flag_set();
            Arc::new(crate::store::Control::new(
                Arc::new(crate::store::MemoryStore::new(set)),
                None,
            ))
        })
    }

    /// Installs `control` unless one is already set; returns the one in use.
    pub(crate) fn set_control(
        &self,
        control: crate::store::Control,
    ) -> &Arc<crate::store::Control> {
        let _ = self.inner.control.set(Arc::new(control));
        self.control()
    }

    pub(crate) fn downgrade(&self) -> WeakFlags {
        WeakFlags(Arc::downgrade(&self.inner))
    }
}

impl Flags {
    /// A handle serving flags written in the [TOML format](crate::format::toml),
    /// at version 1. Not watched: see [`Flags::from_file`] for a file.
    ///
    /// # Errors
    /// Every problem in `text`, with line and column.
    pub fn from_toml_str(text: &str, source: &str) -> Result<Flags, LoadErrors> {
        let (_, snap) = crate::format::toml::parse_compiled(text, source)?;
        Ok(Flags::from_snapshot(snap.with_version(1)))
    }
}
