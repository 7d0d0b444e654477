//! Writes to flags managed in Unleash: refused, except the rollout guard's
//! kill, which is made in Unleash when an admin token allows it, and here
//! in any case (a kill must not wait for a server that may be the problem).

use std::sync::Arc;

use super::http::Reply;
use super::Inner;
use crate::audit::actors;
use crate::engine::Change;
use crate::store::{StoreError, StoreWrite};
use crate::url::path_segment;

/// Why a write by `actor` is refused: every write but the guard's kill.
pub(super) fn refuses(inner: &Inner, actor: &str, action: &str) -> Option<StoreError> {
    (actor != actors::GUARD || action != "kill").then(|| {
        StoreError::ReadOnly(format!(
            "the flags are managed in Unleash ({}); change them there",
            inner.config.url
        ))
    })
}

pub(super) async fn apply(inner: &Arc<Inner>, write: StoreWrite<'_>) -> Result<(), StoreError> {
    if let Some(refused) = refuses(inner, write.actor, write.action) {
        return Err(refused);
    }
    let killed: Vec<(String, String)> = write
        .changes
        .iter()
        .filter_map(|change| match change {
            Change::Upsert(f) => Some((
                f.project.clone().unwrap_or_else(|| "default".to_owned()),
                f.name.clone(),
            )),
            _ => None,
        })
        .collect();
    match &inner.config.admin_token {
        // Made in Unleash in the background: the kill is served here as
        // soon as this returns, however long Unleash takes to answer (the
        // write holds the commit lock, and the server may be the problem).
        Some(token) if !killed.is_empty() => {
            // On the store's runtime, as its polling is: not on whichever
            // runtime the commit was awaited on, which may end first.
            let runtime = inner.runtime.clone();
            let (inner, token) = (Arc::clone(inner), token.clone());
            runtime.spawn(async move {
                for (project, name) in &killed {
                    inner.kill_in_unleash(&token, project, name).await;
                }
            });
        }
        Some(_) => {}
        None => {
            for (_, name) in &killed {
                tracing::warn!(
                    target: "flags::unleash",
                    flag = %name,
                    "the rollout guard killed the flag here only (no Unleash admin token): it is back as Unleash has it at Unleash's next change"
                );
            }
        }
    }
    // Nothing to make durable here; the version moves on like any change.
    inner.state().version += 1;
    Ok(())
}

impl Inner {
    /// Turns the flag off in Unleash's environment; a failure is logged (the
    /// kill still holds here).
    async fn kill_in_unleash(&self, token: &str, project: &str, name: &str) {
        let url = format!(
            "{}/admin/projects/{}/features/{}/environments/{}/off",
            self.config.url,
            path_segment(project),
            path_segment(name),
            path_segment(self.config.environment())
        );
        let reply = self
            .http
            .post_json(&url, &serde_json::json!({}), Some(token))
            .await;
        match reply {
            Reply::Answer { status, .. } if status.is_success() => tracing::warn!(
                target: "flags::unleash",
                flag = %name,
                environment = %self.config.environment(),
                "the rollout guard killed the flag in Unleash"
            ),
            Reply::Answer { status, body, .. } => tracing::error!(
                target: "flags::unleash",
                flag = %name,
                %status,
                answer = %String::from_utf8_lossy(&body[..body.len().min(300)]),
                "Unleash refused the rollout guard's kill; the flag is off here only, until Unleash's next change"
            ),
            Reply::NoAnswer(why) => tracing::error!(
                target: "flags::unleash",
                flag = %name,
                reason = %why,
                "cannot reach Unleash for the rollout guard's kill; the flag is off here only, until Unleash's next change"
            ),
        }
    }
}
