//! Last evaluation times shared across instances through a store that
//! keeps them (PostgreSQL): what this instance has to write, at most once
//! a minute per flag, and what the others wrote.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::usage::UsageCounter;

/// How often one instance writes one flag's last evaluation, at most.
///
/// ```
/// # use std::sync::{Arc, Mutex};
/// # use axum::{body::Body, http::Request, routing::get, Router};
/// # use tower::ServiceExt as _;
/// # use flags_middleware::store::{BoxFuture, MemoryStore, Store, StoreError, StoreWrite, Update, Wake, WatchGuard};
/// # use flags_middleware::{format::toml, model::FlagSet, FlagContext, Flags, FlagsLayer};
/// /// Memory, and the flags each write of last evaluations named.
/// #[derive(Debug)]
/// struct Shared(MemoryStore, Mutex<Vec<String>>);
///
/// impl Store for Shared {
///     fn record_last_seen<'a>(&'a self, seen: &'a [(String, chrono::DateTime<chrono::Utc>)])
///         -> Option<BoxFuture<'a, Result<(), StoreError>>> {
///         self.1.lock().unwrap().extend(seen.iter().map(|(flag, _)| flag.clone()));
///         Some(Box::pin(async { Ok(()) }))
///     }
/// #   fn describe(&self) -> String { self.0.describe() }
/// #   fn load(&self) -> BoxFuture<'_, Result<FlagSet, StoreError>> { self.0.load() }
/// #   fn apply<'a>(&'a self, w: StoreWrite<'a>) -> BoxFuture<'a, Result<(), StoreError>> { self.0.apply(w) }
/// #   fn watch(&self, wake: Wake) -> Result<WatchGuard, StoreError> { self.0.watch(wake) }
/// #   fn refresh(&self) -> BoxFuture<'_, Result<Option<Update>, StoreError>> { self.0.refresh() }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let store = Arc::new(Shared(MemoryStore::new(toml::parse("[f]\n", "flags.toml").unwrap()), Mutex::default()));
/// let flags = Flags::with_store(store.clone(), None).await.unwrap();
/// let app = Router::new()
///     .route("/", get(|f: FlagContext| async move { f.is_enabled("f").to_string() }))
///     .layer(FlagsLayer::new(flags.clone()));
/// let mut last = Vec::new();
/// for _ in 0..2 {
///     app.clone().oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
///     last.push(flags.evaluations("f").last_evaluated.unwrap());
///     flags.share_last_seen().await.unwrap();
///     // The next request in a later millisecond, so it has news to write.
///     tokio::time::sleep(std::time::Duration::from_millis(2)).await;
/// }
/// assert!(last[1] > last[0]);
/// // Evaluated again within `SHARE_INTERVAL`: not written again before it has passed.
/// assert_eq!(*store.1.lock().unwrap(), ["f"]);
/// # }
/// ```
pub const SHARE_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
pub(crate) struct SharedLastSeen {
    /// Per flag: the evaluation time last written, and when it was written.
    written: Mutex<HashMap<String, (DateTime<Utc>, Instant)>>,
    /// The latest evaluation per flag across instances, as last read.
    fleet: Mutex<BTreeMap<String, DateTime<Utc>>>,
}

impl SharedLastSeen {
    /// The flags evaluated since their last write whose last write is at
    /// least [`SHARE_INTERVAL`] old (or never happened), with their time;
    /// taken as written.
    pub(crate) fn take_due(
        &self,
        usage: &UsageCounter,
        now: Instant,
    ) -> Vec<(String, DateTime<Utc>)> {
        let mut written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
        let mut due = Vec::new();
        for flag in usage.flags() {
            let Some(last) = usage.of(&flag).last_evaluated else {
                continue;
            };
            let fresh = match written.get(&flag) {
                Some((time, at)) => last > *time && now.duration_since(*at) >= SHARE_INTERVAL,
                None => true,
            };
            if fresh {
                written.insert(flag.clone(), (last, now));
                due.push((flag, last));
            }
        }
        due.sort();
        due
    }

    /// Forgets that `flags` were written (the write failed): they are due again.
    pub(crate) fn unwritten(&self, flags: &[(String, DateTime<Utc>)]) {
        let mut written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
        for (flag, _) in flags {
            written.remove(flag);
        }
    }

    pub(crate) fn set_fleet(&self, fleet: BTreeMap<String, DateTime<Utc>>) {
        *self.fleet.lock().unwrap_or_else(PoisonError::into_inner) = fleet;
    }

    pub(crate) fn fleet(&self) -> BTreeMap<String, DateTime<Utc>> {
        self.fleet
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
