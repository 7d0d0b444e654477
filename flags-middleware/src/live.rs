//! The served snapshot: readers load it without blocking; the change path
//! ([`crate::change`]) swaps a whole new one in, one swap at a time.

use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;

use crate::error::LoadErrors;
use crate::Snapshot;

/// The snapshot every reader of a [`Flags`](crate::Flags) handle sees.
#[derive(Debug)]
pub(crate) struct Live {
    current: ArcSwap<Snapshot>,
    /// Orders swaps, so versions are assigned in order.
    swap: Mutex<()>,
}

impl Live {
    pub(crate) fn new(snapshot: Snapshot) -> Live {
        Live {
            current: ArcSwap::from_pointee(snapshot),
            swap: Mutex::new(()),
        }
    }

    /// The current snapshot, for a reader that holds it.
    pub(crate) fn load(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// The current snapshot, for a quick look (no reference count touched).
    pub(crate) fn peek(&self) -> arc_swap::Guard<Arc<Snapshot>> {
        self.current.load()
    }

    /// Builds the next snapshot from the current one, with other swaps held
    /// off, and swaps it in numbered `version` when given (a store that
    /// numbers versions itself, shared by several instances), else the
    /// next version. Returns the version now served.
    pub(crate) fn swap_in(
        &self,
        version: Option<u64>,
        build: impl FnOnce(&Snapshot) -> Result<Snapshot, LoadErrors>,
    ) -> Result<u64, LoadErrors> {
        let _order = self.swap.lock().unwrap_or_else(PoisonError::into_inner);
        let cur = self.current.load_full();
        let version = version.unwrap_or(cur.version() + 1);
        let next = build(&cur)?.with_version(version);
        self.current.store(Arc::new(next));
        Ok(version)
    }
}
