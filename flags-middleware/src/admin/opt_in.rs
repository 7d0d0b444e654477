//! Opting a flag into the rollout guard at run time: `PUT`/`DELETE`
//! `/{name}/guard` and `/{name}/plan`. They edit the flag's definition (so
//! the change is audited, persisted by the store, and seen by every
//! instance sharing it); a [`Guard`](crate::guard::Guard) following the
//! flags picks it up at its next check. Bodies take the TOML format's shape.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Value};

use super::auth::Caller;
use super::error::AdminError;
use super::handlers::{commit, json_body, segments};
use crate::edit::Edit;
use crate::format::toml as toml_format;
use crate::model::Feature;
use crate::Flags;

/// Reads `key = body` as a flag's TOML-shaped JSON would, so the errors
/// name the same fields (`guard.window`...) with the same messages.
fn read_key(flags: &Flags, name: &str, key: &str, body: Value) -> Result<Feature, AdminError> {
    let doc = json!({ key: body }).to_string();
    toml_format::feature_from_json(name, &doc, &segments(&flags.snapshot()), "admin api")
        .map_err(AdminError::Invalid)
}

/// `PUT /{name}/guard` with `true` or `{"min_difference": "2%", "window": "10m"}`:
/// the guard watches the flag with these settings (`false`: stops).
pub(crate) async fn put_guard(
    State(flags): State<Flags>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AdminError> {
    // Its settings are checked by the edit, naming the key (`guard.window`).
    let spec = read_key(&flags, &name, "guard", json_body(&body)?)?.guard;
    commit(&flags, &caller, &headers, Edit::Guard { flag: name, spec }).await
}

/// `DELETE /{name}/guard`: the guard stops watching the flag (its plan goes too).
pub(crate) async fn delete_guard(
    State(flags): State<Flags>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AdminError> {
    commit(&flags, &caller, &headers, Edit::unguard(name)).await
}

/// `PUT /{name}/plan` with `"gradual"`, `[{"percent": 5, "for": "1d"}, ..]`
/// or `{"steps": .., "paused": true}`: the guard walks this plan (from the
/// step the flag's percentage is at, else from the first).
pub(crate) async fn put_plan(
    State(flags): State<Flags>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AdminError> {
    let spec = read_key(&flags, &name, "plan", json_body(&body)?)?.plan;
    commit(&flags, &caller, &headers, Edit::Plan { flag: name, spec }).await
}

/// `DELETE /{name}/plan`: no more plan; the flag stays as it is, guarded.
pub(crate) async fn delete_plan(
    State(flags): State<Flags>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AdminError> {
    commit(&flags, &caller, &headers, Edit::remove_plan(name)).await
}
