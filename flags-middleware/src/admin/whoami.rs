//! `GET /_whoami`: the caller's token name and role, so a client (the web
//! page) can tell before trying whether its writes will be refused.

use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::json;

use super::auth::{Caller, Role};

/// `{"name": "ops", "role": "write"}` (`read` for a read token).
pub(crate) async fn whoami(Extension(caller): Extension<Caller>) -> Response {
    let role = match caller.role {
        Role::Read => "read",
        Role::Write => "write",
    };
    Json(json!({ "name": caller.name, "role": role })).into_response()
}
