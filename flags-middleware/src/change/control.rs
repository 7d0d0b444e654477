//! [`Control`]: what the change path of one [`Flags`](crate::Flags) handle
//! holds (the store, the audit log, the reload status), and the thread that
//! notices outside changes.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::status::ReloadError;
use crate::audit::AuditLog;
use crate::live::Live;
use crate::store::{Store, StoreError, WatchGuard};

/// The change side of a [`Flags`](crate::Flags) handle: every commit and
/// every reload goes through it.
#[derive(Debug)]
pub(crate) struct Control {
    pub(super) live: Arc<Live>,
    pub(super) store: Arc<dyn Store>,
    /// Serializes commits and reloads, so each is validated against the
    /// snapshot it replaces and the store sees one write at a time.
    pub(super) lock: tokio::sync::Mutex<()>,
    pub(super) status: Mutex<Status>,
    pub(super) audit: AuditLog,
    pub(super) watch: Mutex<Option<WatchGuard>>,
}

/// How the last reload went.
#[derive(Debug, Default)]
pub(super) struct Status {
    pub(super) last_reload: Option<DateTime<Utc>>,
    pub(super) last_error: Option<ReloadError>,
}

impl Control {
    /// The change side of `live`, writing to `store` and auditing to
    /// `audit_path` (in memory when `None`). Not watching yet: see
    /// [`start_watching`](Self::start_watching).
    pub(crate) fn new(live: Arc<Live>, store: Arc<dyn Store>, audit_path: Option<PathBuf>) -> Self {
        Control {
            live,
            store,
            lock: tokio::sync::Mutex::new(()),
            status: Mutex::new(Status {
                last_reload: Some(Utc::now()),
                last_error: None,
            }),
            audit: AuditLog::new(audit_path),
            watch: Mutex::new(None),
        }
    }

    /// Starts the store's watcher and, unless it never reports anything,
    /// the thread that reloads what it reports.
    pub(crate) fn start_watching(self: &Arc<Self>) -> Result<(), StoreError> {
        let wake = Arc::new(tokio::sync::Notify::new());
        let notify = wake.clone();
        let guard = self.store.watch(Arc::new(move || notify.notify_one()))?;
        let watching = guard.mode() != "none";
        *self.watch.lock().unwrap_or_else(PoisonError::into_inner) = Some(guard);
        if watching {
            spawn_reloader(Arc::downgrade(self), wake)?;
        }
        Ok(())
    }

    /// The store changes go to.
    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub(super) fn status_mut(&self) -> MutexGuard<'_, Status> {
        self.status.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Runs the reload loop on its own thread with a small runtime, so watching
/// works whether or not the caller is inside a tokio runtime. The thread ends
/// once the control is gone (every `Flags` handle and writer dropped).
fn spawn_reloader(
    control: Weak<Control>,
    wake: Arc<tokio::sync::Notify>,
) -> Result<(), StoreError> {
    let unavailable =
        |e: std::io::Error| StoreError::Unavailable(format!("cannot start the reload thread: {e}"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(unavailable)?;
    std::thread::Builder::new()
        .name("flags-reload".into())
        .spawn(move || {
            rt.block_on(async move {
                loop {
                    let woke = tokio::time::timeout(Duration::from_secs(1), wake.notified()).await;
                    let Some(control) = control.upgrade() else {
                        break;
                    };
                    if woke.is_ok() {
                        control.reload().await;
                    }
                }
            });
        })
        .map_err(unavailable)?;
    Ok(())
}
