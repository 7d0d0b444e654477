//! Outside changes (a hand edit of the flags file, a row another instance
//! wrote): asked of the store, validated, swapped in, audited; or rejected
//! while the last good flags keep serving.

use std::sync::Arc;

use chrono::Utc;

use super::audit_entries::{self, record, Author};
use super::control::Control;
use super::status::ReloadError;
use crate::audit::actors;
use crate::error::LoadError;
use crate::store::{StoreError, Update};
use crate::Snapshot;

impl Control {
    /// Asks the store what changed outside and makes it live, or records why not.
    pub(crate) async fn reload(self: &Arc<Self>) {
        let _serial = self.lock.lock().await;
        self.reload_locked().await;
    }

    /// [`reload`](Self::reload), with the commit lock held.
    pub(super) async fn reload_locked(self: &Arc<Self>) {
        let source = self.store.describe();
        let update = match self.store.refresh().await {
            Ok(None) => {
                if self.status_mut().last_error.take().is_some() {
                    tracing::info!(target: "flags::reload", %source, "flags file is valid again");
                }
                return;
            }
            Ok(Some(update)) => update,
            Err(e) => return self.reject(&source, e),
        };
        let cur = self.live.load();
        let built = match &update {
            Update::Replace(set) => Snapshot::compile(set, self.store.compile_mode(), &source),
            Update::Changes(changes) => cur.apply(changes, self.store.compile_mode(), &source),
        };
        let next = match built {
            Ok(next) => next,
            Err(e) => return self.reject(&source, StoreError::Invalid(e)),
        };
        let version = match self.live.swap_in(self.store.version(), |_| Ok(next)) {
            Ok(v) => v,
            Err(e) => return self.reject(&source, StoreError::Invalid(e)),
        };
        self.store.served(version);
        {
            let mut status = self.status_mut();
            status.last_reload = Some(Utc::now());
            status.last_error = None;
        }
        tracing::info!(target: "flags::reload", %source, version, "flags reloaded");
        let snapshot = self.live.load();
        let entries = match &update {
            Update::Replace(_) => audit_entries::for_diff(
                &cur,
                &snapshot,
                self.store.outside_actor().unwrap_or(actors::FILE_EDIT),
            ),
            Update::Changes(changes) => audit_entries::for_changes(
                &cur,
                &snapshot,
                changes,
                Author {
                    actor: self.store.outside_actor().unwrap_or(actors::OUTSIDE_CHANGE),
                    action: "update",
                    message: None,
                },
            ),
        };
        record(self, entries).await;
    }

    /// Records a rejected outside change; the last good flags keep serving.
    fn reject(&self, source: &str, error: StoreError) {
        let errors = match error {
            StoreError::Invalid(e) => e.into_vec(),
            other => vec![LoadError::new(source, other.to_string())],
        };
        let mut status = self.status_mut();
        // The same rejection again (a wake-up that found the bad save still
        // there): logged once, dated from when it was first seen.
        if status
            .last_error
            .as_ref()
            .is_some_and(|last| last.errors == errors)
        {
            return;
        }
        for e in &errors {
            tracing::error!(target: "flags::reload", error = %e, "flags change rejected; the last good flags keep serving");
        }
        status.last_error = Some(ReloadError {
            at: Utc::now(),
            errors,
        });
    }
}
