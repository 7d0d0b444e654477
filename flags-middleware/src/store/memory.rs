//! [`MemoryStore`]: a store that keeps nothing across restarts.

use std::sync::Mutex;

use super::{BoxFuture, Store, StoreError, StoreWrite, Update, Wake, WatchGuard};
use crate::engine::Change;
use crate::model::FlagSet;

/// A store that lives in memory only: changes apply, and are gone after a
/// restart. Flags built in code ([`Flags::new`](crate::Flags::new)) use one
/// when a change is committed through the admin API or the guard.
///
/// Versions count from 1 again at every start: with nothing kept, the
/// flags after a restart are the ones built in code, not the ones a
/// pre-restart version (or `ETag`) named. Use a [`FileStore`](super::FileStore)
/// or the PostgreSQL store where versions must never repeat.
///
/// ```
/// use std::sync::Arc;
/// use flags_middleware::store::{MemoryStore, Store};
/// use flags_middleware::model::FlagSet;
///
/// let store = MemoryStore::new(FlagSet::default());
/// assert_eq!(store.describe(), "memory");
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    set: Mutex<FlagSet>,
}

impl MemoryStore {
    /// A store holding `set`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use flags_middleware::{format::toml, store::{MemoryStore, Store}};
    ///
    /// let store = MemoryStore::new(toml::parse("[new_checkout_flow]\nrollout = 20\n", "seed").unwrap());
    /// let set = store.load().await.unwrap();
    /// assert!(set.feature("new_checkout_flow").is_some());
    /// assert_eq!(store.version(), None); // the handle numbers versions, from 1
    /// # }
    /// ```
    pub fn new(set: FlagSet) -> Self {
        MemoryStore {
            set: Mutex::new(set),
        }
    }

    fn with_set<T>(&self, f: impl FnOnce(&mut FlagSet) -> T) -> T {
        let mut set = self
            .set
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut set)
    }
}

impl Store for MemoryStore {
    fn describe(&self) -> String {
        "memory".to_owned()
    }

    fn load(&self) -> BoxFuture<'_, Result<FlagSet, StoreError>> {
        let set = self.with_set(|s| s.clone());
        Box::pin(async move { Ok(set) })
    }

    fn apply<'a>(&'a self, write: StoreWrite<'a>) -> BoxFuture<'a, Result<(), StoreError>> {
        self.with_set(|set| apply_changes(set, write.changes));
        Box::pin(async { Ok(()) })
    }

    fn watch(&self, _wake: Wake) -> Result<WatchGuard, StoreError> {
        Ok(WatchGuard::none())
    }

    fn refresh(&self) -> BoxFuture<'_, Result<Option<Update>, StoreError>> {
        Box::pin(async { Ok(None) })
    }
}

/// Applies `changes` to a model set the way [`Snapshot::apply`](crate::Snapshot::apply)
/// applies them to a compiled one.
pub(crate) fn apply_changes(set: &mut FlagSet, changes: &[Change]) {
    for change in changes {
        match change {
            Change::Upsert(f) => set.upsert(f.clone()),
            Change::Remove(name) => set.features.retain(|f| &f.name != name),
            Change::UpsertSegment(s) => match set.segments.iter_mut().find(|x| x.id == s.id) {
                Some(slot) => *slot = s.clone(),
                None => set.segments.push(s.clone()),
            },
            Change::RemoveSegment(id) => set.segments.retain(|s| s.id != *id),
        }
    }
}
