//! The poll loop: one `GET {url}/client/features` per interval (backed off
//! as [`backoff`](super::backoff) says), its answer handed to the change path.

use std::sync::{Arc, Weak};
use std::time::Duration;

use chrono::Utc;
use http::StatusCode;

use super::backoff::{refused, Outcome};
use super::http::Reply;
use super::{Inner, Readiness};
use crate::model::FlagSet;
use crate::store::remote_status::RemoteFailure;
use crate::store::{Wake, WatchGuard};

/// Starts polling on the store's runtime; polling stops when the guard is
/// dropped (the flags handle is gone) or the token is refused.
pub(super) fn spawn(inner: &Arc<Inner>, wake: Wake) -> WatchGuard {
    let first = inner.state().first_wait;
    let weak = Arc::downgrade(inner);
    let task = inner.runtime.spawn(run(weak, wake, first));
    WatchGuard::new(AbortOnDrop(task.abort_handle()), "polling")
}

async fn run(inner: Weak<Inner>, wake: Wake, mut wait: Option<Duration>) {
    while let Some(w) = wait {
        tokio::time::sleep(w).await;
        let Some(inner) = inner.upgrade() else { return };
        let outcome = inner.poll_once().await;
        if inner.state().pending.is_some() {
            wake();
        }
        wait = inner.state().schedule.after(outcome);
        if wait.is_none() {
            inner.state().status.polling = false;
        }
    }
}

impl Inner {
    /// One call; its answer recorded (a 200 left in `pending`).
    pub(super) async fn poll_once(&self) -> Outcome {
        let etag = self.state().etag.clone();
        let reply = self.http.get(&self.features_url, etag.as_deref()).await;
        match reply {
            Reply::NoAnswer(why) => {
                self.failed(None, format!("cannot reach Unleash: {why}"));
                Outcome::NoAnswer
            }
            Reply::Answer { status, .. } if status == StatusCode::NOT_MODIFIED => {
                self.succeeded(|s| s.unchanged += 1);
                Outcome::Success
            }
            Reply::Answer { status, etag, body } if status.is_success() => {
                match parse(&body) {
                    Ok(set) => {
                        let mut state = self.state();
                        state.pending = Some((set, body));
                        state.etag = etag;
                        drop(state);
                        self.succeeded(|s| s.fetched += 1);
                    }
                    // As Unleash's SDKs do: an answer, so no back-off, but
                    // nothing served from it; the old ETag is kept so the
                    // next call fetches again.
                    Err(e) => self.failed(
                        Some(status),
                        format!("the answer is not client-API JSON: {e}"),
                    ),
                }
                Outcome::Success
            }
            Reply::Answer { status, body, .. } => {
                if refused(status) {
                    self.refuse(status);
                } else {
                    let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
                    self.failed(Some(status), format!("Unleash answered {status}: {text}"));
                }
                Outcome::Status(status)
            }
        }
    }

    fn succeeded(&self, count: impl FnOnce(&mut crate::store::RemoteStatus)) {
        let mut state = self.state();
        let status = &mut state.status;
        count(status);
        status.ready = true;
        status.last_success = Some(Utc::now());
        if status.last_failure.take().is_some() {
            tracing::info!(target: "flags::unleash", url = %self.features_url, "Unleash answers again");
        }
        // Flags fetched but not swapped in yet: ready once they are served
        // (`Store::served`), so a caller told "ready" gets them.
        let fresh = state.pending.is_some();
        drop(state);
        if !fresh {
            self.mark_ready();
        }
    }

    /// Says the store is ready, the first time.
    pub(super) fn mark_ready(&self) {
        self.ready.send_if_modified(|r| {
            let was = *r == Readiness::Waiting;
            if was {
                *r = Readiness::Ready;
            }
            was
        });
    }

    fn failed(&self, status: Option<StatusCode>, reason: String) {
        let mut state = self.state();
        let first = state.status.last_failure.is_none();
        if first {
            tracing::warn!(
                target: "flags::unleash",
                url = %self.features_url,
                reason = %reason,
                "cannot fetch flags from Unleash; serving the last good flags"
            );
        } else {
            tracing::debug!(target: "flags::unleash", reason = %reason, "Unleash still failing");
        }
        state.status.last_failure = Some(RemoteFailure {
            at: Utc::now(),
            status: status.map(|s| s.as_u16()),
            reason,
        });
    }

    /// 401/403: the token is wrong; stop for good and say so.
    fn refuse(&self, status: StatusCode) {
        let reason = format!(
            "Unleash refused the token ({status}); polling stopped: check the client (backend) token"
        );
        tracing::error!(target: "flags::unleash", url = %self.features_url, "{reason}");
        let mut state = self.state();
        state.status.polling = false;
        state.status.last_failure = Some(RemoteFailure {
            at: Utc::now(),
            status: Some(status.as_u16()),
            reason: reason.clone(),
        });
        drop(state);
        self.ready.send_replace(Readiness::Refused(reason));
    }
}

fn parse(body: &[u8]) -> Result<FlagSet, String> {
    let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
    FlagSet::from_unleash_json(text).map_err(|e| e.to_string())
}

/// Aborts a task when dropped.
#[derive(Debug)]
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
