//! `GET /_unknown`, `/_inventory`, `/_stale`: what the code and the traffic
//! say about the flags (see [`crate::hygiene`]).

use axum::extract::{Extension, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::auth::Caller;
use super::error::AdminError;
use super::handlers::with_etag;
use crate::hygiene::StaleOptions;
use crate::store::StoreError;
use crate::Flags;

/// `GET /_unknown`: names asked for that no flag has, most asked first.
pub(crate) async fn unknown(State(flags): State<Flags>) -> Response {
    Json(flags.unknown_flags()).into_response()
}

/// `GET /_inventory`: per flag, call sites, routes, evaluation times, arms.
pub(crate) async fn inventory(State(flags): State<Flags>) -> Response {
    Json(json!({ "flags": flags.inventory() })).into_response()
}

/// `?days=30`.
#[derive(Debug, Deserialize)]
pub(crate) struct Threshold {
    #[serde(default = "default_days")]
    days: u32,
}

fn default_days() -> u32 {
    30
}

/// `GET /_stale?days=30`: potentially stale flags with their reasons and
/// call sites, and the code no request reaches (`dead_code`).
pub(crate) async fn stale(
    State(flags): State<Flags>,
    Query(threshold): Query<Threshold>,
) -> Result<Response, AdminError> {
    let options = StaleOptions::new().threshold_days(threshold.days);
    let stale = flags.stale_flags(options).await.map_err(|e| match e {
        StoreError::Unavailable(m) => AdminError::Unavailable(m),
        other => AdminError::Internal(other.to_string()),
    })?;
    Ok(Json(json!({
        "threshold_days": threshold.days,
        "flags": stale,
        "dead_code": flags.dead_code(),
    }))
    .into_response())
}

/// `POST /_stale/mark?days=30`: sets Unleash's `stale` field on each flag
/// the stale report lists (write token; each one audited).
pub(crate) async fn mark_stale(
    State(flags): State<Flags>,
    Extension(caller): Extension<Caller>,
    Query(threshold): Query<Threshold>,
) -> Result<Response, AdminError> {
    let options = StaleOptions::new().threshold_days(threshold.days);
    let marked = flags.mark_stale(&caller.actor(), options).await?;
    let version = flags.version();
    Ok(with_etag(
        version,
        json!({ "threshold_days": threshold.days, "marked": marked, "version": version }),
    ))
}
