//! What the change path reports: where the flags come from, how the last
//! reload went, and the audit log.

use std::path::PathBuf;
use std::sync::PoisonError;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::control::Control;
use crate::audit::AuditEntry;
use crate::error::LoadError;
use crate::store::{StoreError, WatchGuard};

/// Where the flags come from and how the last reload went (the admin API's
/// `GET /_status`; [`Flags::status`](crate::Flags::status)).
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SourceStatus {
    /// The store: `file /srv/flags.toml`, `memory`.
    pub source: String,
    /// How outside changes are noticed: `inotify`, `polling`, `none`.
    pub watching: &'static str,
    /// The live version.
    pub version: u64,
    /// When the store was last read successfully.
    pub last_reload: Option<DateTime<Utc>>,
    /// The last outside edit that was rejected, until a good one replaces it.
    pub last_error: Option<ReloadError>,
    /// The audit log file, if there is one.
    pub audit_log: Option<PathBuf>,
}

/// An outside edit that was rejected; the previous flags kept serving.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ReloadError {
    /// When it was seen.
    pub at: DateTime<Utc>,
    /// Every problem in it.
    pub errors: Vec<LoadError>,
}

impl Control {
    pub(crate) fn status(&self) -> SourceStatus {
        let watching = self
            .watch
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map_or("none", WatchGuard::mode);
        let status = self.status_mut();
        SourceStatus {
            source: self.store.describe(),
            watching,
            version: self.live.peek().version(),
            last_reload: status.last_reload,
            last_error: status.last_error.clone(),
            audit_log: self.audit.path().map(Into::into),
        }
    }

    /// This handle's audit log (its file, or memory), newest first.
    pub(crate) fn local_audit(
        &self,
        offset: usize,
        limit: usize,
    ) -> std::io::Result<Vec<AuditEntry>> {
        self.audit.page(offset, limit)
    }

    /// The audit log, newest first, from the store when it keeps one (every
    /// instance's entries), else this handle's.
    pub(crate) async fn audit_page(
        self: &std::sync::Arc<Self>,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        if let Some(page) = self.store.audit(offset, limit) {
            return page.await;
        }
        let control = self.clone();
        tokio::task::spawn_blocking(move || control.audit.page(offset, limit))
            .await
            .map_err(|e| StoreError::Unavailable(format!("audit task failed: {e}")))?
            .map_err(|e| StoreError::Unavailable(format!("cannot read the audit log: {e}")))
    }
}
