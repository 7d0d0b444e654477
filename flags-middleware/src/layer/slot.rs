//! How the extractor finds the request it runs in: a thread-local slot that
//! holds the request's [`Slot`] while the layer polls the inner
//! service.
//!
//! The layer puts nothing in the request extensions. Behind axum's router
//! the extension map already holds three entries when the layer runs (the
//! original URI, the matched path, the path parameters), and a fourth makes
//! it grow: two allocations and a rehash on every request, flags asked or
//! not, which was most of what the layer cost a request that asked none.
//! Extractors run inside the handler's future, so inside the layer's poll:
//! the slot is there for them. Polls nest (a layer inside another, a
//! request served inside a handler), so each one puts back what it found.
//!
//! The consequence: [`FlagContext`](crate::FlagContext) must be extracted
//! within the request's own task, which is where axum runs extractors. An
//! inner service that hands the request to another task (`tower::buffer`)
//! cannot extract it; pass the extracted `FlagContext` instead (it is
//! `Clone + Send + Sync`).

use std::cell::Cell;
use std::mem;
use std::sync::Arc;

use super::config::Config;
use super::request::RequestState;

/// Where one request is, flag-wise.
#[derive(Debug, Default)]
pub(crate) enum Slot {
    /// Not inside a layer (or the request is settled).
    #[default]
    Empty,
    /// No flag asked yet: what the extractor needs to start. The snapshot
    /// is pinned when the request first asks, not before: a request that
    /// asks none never loads it.
    Ready(Arc<Config>),
    /// Asked: the state every `FlagContext` of this request shares, with
    /// the snapshot it pinned.
    Live(Arc<RequestState>),
}

thread_local! {
    static CURRENT: Cell<Slot> = const { Cell::new(Slot::Empty) };
}

/// Makes `slot` the current request's while `f` runs, then takes it back
/// (with whatever the extractor made of it), even if `f` panics.
pub(crate) fn enter<R>(slot: &mut Slot, f: impl FnOnce() -> R) -> R {
    let outer = CURRENT.with(|c| c.replace(mem::take(slot)));
    let restore = Restore { slot, outer };
    let result = f();
    drop(restore);
    result
}

/// Puts the outer request's slot back, returning ours to its owner.
struct Restore<'a> {
    slot: &'a mut Slot,
    outer: Slot,
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        let outer = mem::take(&mut self.outer);
        // `try_with`: a future dropped while the thread's locals are being
        // destroyed has nothing left to restore.
        let _ = CURRENT.try_with(|c| *self.slot = c.replace(outer));
    }
}

/// Runs `f` on the current request's slot (`Empty` outside any layer).
pub(crate) fn with_current<R>(f: impl FnOnce(&mut Slot) -> R) -> R {
    CURRENT.with(|c| {
        let mut slot = c.take();
        let result = f(&mut slot);
        c.set(slot);
        result
    })
}
