//! The admin API's rollout-guard endpoints: the guard's state, and plan
//! control. They answer 404 (`no_guard`) unless the router was given a
//! running [`Guard`] ([`AdminConfig::guard`](super::AdminConfig::guard)).

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::json;

use super::auth::Caller;
use super::error::AdminError;
use super::handlers::{if_match, with_etag};
use crate::edit::PlanOp;
use crate::guard::run::{ApplyError, ControlError, Operator};
use crate::guard::Guard;
use crate::Flags;

/// `GET /_guard`: per watched flag, the window's counts per arm, the last
/// verdict and the plan's position; and the guard's recent events.
pub(crate) async fn snapshot(
    State((_, guard)): State<(Flags, Option<Guard>)>,
) -> Result<Response, AdminError> {
    let guard = guard.ok_or(AdminError::NoGuard)?;
    Ok(Json(guard.snapshot()).into_response())
}

/// `POST /{name}/plan/{pause|resume|restart|abandon}`: made as the caller
/// (the audit log's actor), and with `If-Match`, only if the flags are still
/// at that version when the change is made (412 otherwise).
pub(crate) async fn plan(
    State((flags, guard)): State<(Flags, Option<Guard>)>,
    Extension(caller): Extension<Caller>,
    Path((name, op)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, AdminError> {
    let guard = guard.ok_or(AdminError::NoGuard)?;
    let op: PlanOp = op.parse().map_err(AdminError::BadRequest)?;
    let expected_version = if_match(&headers)?;
    // Checked here too, for an applier of the app's own that does not
    // honour the version (`FlagsApplier` checks it again, under the commit
    // lock, when the change is made).
    if let Some(expected) = expected_version {
        let current = flags.version();
        if expected != current {
            return Err(AdminError::VersionMismatch { expected, current });
        }
    }
    let actor = caller.actor();
    let operator = Operator {
        by: Some(&actor),
        expected_version,
    };
    let done = guard.operate_as(&name, op, operator).await;
    let (event, version) = done.map_err(|e| control_error(e, expected_version))?;
    tracing::info!(
        target: "flags::admin",
        actor = %caller.name,
        feature_flag.key = %name,
        operation = op.as_str(),
        "{}",
        event.message
    );
    let plan = guard.snapshot().flag(&name).and_then(|f| f.plan.clone());
    Ok(with_etag(version, json!({ "event": event, "plan": plan })))
}

fn control_error(e: ControlError, expected: Option<u64>) -> AdminError {
    match e {
        ControlError::NotWatched(flag) => AdminError::NotGuarded(flag),
        ControlError::Apply(ApplyError {
            current_version: Some(current),
            ..
        }) => AdminError::VersionMismatch {
            expected: expected.unwrap_or_default(),
            current,
        },
        ControlError::Apply(e) => AdminError::Unavailable(e.to_string()),
        // No plan, or a plan in the wrong state for this operation.
        other => AdminError::Conflict(other.to_string()),
    }
}
