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

    /// The entries about `flag` in the audit log, newest first: from the
    /// store's own query when it has one, else picked out of the store's
    /// pages (at most [`AUDIT_SCAN`] entries are read), else out of this
    /// handle's log.
    pub(crate) async fn audit_page_of(
        self: &std::sync::Arc<Self>,
        flag: &str,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        if let Some(page) = self.store.audit_of(flag, offset, limit) {
            return page.await;
        }
        let mut found = Vec::new();
        let mut skip = offset;
        let mut read = 0;
        while found.len() < limit && read < AUDIT_SCAN {
            let Some(page) = self.store.audit(read, AUDIT_PAGE) else {
                return self
                    .handle_audit(Some(flag.to_owned()), offset, limit)
                    .await;
            };
            let page = page.await?;
            read += page.len();
            let last = page.len() < AUDIT_PAGE;
            for entry in page.into_iter().filter(|e| e.flag == flag) {
                match skip {
                    0 if found.len() < limit => found.push(entry),
                    0 => break,
                    _ => skip -= 1,
                }
            }
            if last {
                break;
            }
        }
        Ok(found)
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
        self.handle_audit(None, offset, limit).await
    }

    /// A page of this handle's own log (of `flag`'s entries only, if
    /// given), read off the async threads.
    async fn handle_audit(
        self: &std::sync::Arc<Self>,
        flag: Option<String>,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let control = self.clone();
        tokio::task::spawn_blocking(move || {
            control.audit.page_where(flag.as_deref(), offset, limit)
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("audit task failed: {e}")))?
        .map_err(|e| StoreError::Unavailable(format!("cannot read the audit log: {e}")))
    }
}

/// Entries read a page at a time when a store's log is searched for one
/// flag's entries.
const AUDIT_PAGE: usize = 500;

/// At most this many entries of a store's log are read for one flag's.
const AUDIT_SCAN: usize = 20_000;
