//! What the change path answers: its status and the audit log.

use std::sync::PoisonError;

use super::control::Control;
use super::status::SourceStatus;
use crate::audit::AuditEntry;
use crate::store::{StoreError, WatchGuard};

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
            remote: self.store.remote_status(),
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
