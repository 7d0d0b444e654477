//! `If-Match` for the plan operations (`POST /{name}/plan/{op}`): the
//! guard commits them itself, so the version is checked here, before it
//! runs. A write that races in between still lands (as one without
//! `If-Match` would); the check catches what the caller had not seen.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::AdminError;
use super::handlers::if_match;
use crate::Flags;

/// 412 when `If-Match` names another version than the live one.
pub(crate) async fn version_matches(
    State(flags): State<Flags>,
    req: Request,
    next: Next,
) -> Response {
    match if_match(req.headers()) {
        Err(e) => e.into_response(),
        Ok(Some(expected)) => {
            let current = flags.snapshot().version();
            if expected == current {
                next.run(req).await
            } else {
                AdminError::VersionMismatch { expected, current }.into_response()
            }
        }
        Ok(None) => next.run(req).await,
    }
}
