//! The per-handle record of how flags are asked for: unknown names and
//! usage per flag. One `Arc`, shared by the [`Flags`](crate::Flags) handle
//! and its layers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::shared::SharedLastSeen;
use super::unknown::UnknownCounter;
use super::usage::UsageCounter;

/// Held by a [`Flags`](crate::Flags) handle; the layer's config clones it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tracker {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    unknown: UnknownCounter,
    usage: UsageCounter,
    shared: SharedLastSeen,
    /// Whether the startup check (one WARN per undefined flag) ran.
    checked: AtomicBool,
}

impl Tracker {
    pub(crate) fn unknown(&self) -> &UnknownCounter {
        &self.inner.unknown
    }

    pub(crate) fn usage(&self) -> &UsageCounter {
        &self.inner.usage
    }

    /// Whether both are the same handle's tracker.
    pub(crate) fn same(&self, other: &Tracker) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    pub(crate) fn shared(&self) -> &SharedLastSeen {
        &self.inner.shared
    }

    /// The startup check, once per handle: one WARN per flag the code
    /// refers to that `snapshot` lacks (see [`super::warn_undefined`]).
    pub(crate) fn warn_undefined_once(&self, snapshot: &crate::engine::Snapshot) {
        if !self.inner.checked.swap(true, Ordering::Relaxed) {
            super::warn_undefined(snapshot);
        }
    }
}
