//! Admin API errors: a status, a stable `error` code, a message, and for
//! validation failures every problem by flag and field.

use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{header, HeaderValue, StatusCode};
use serde_json::json;

use crate::change::CommitError;
use crate::edit::EditError;
use crate::error::{LoadError, LoadErrors};
use crate::store::StoreError;

/// Why an admin request failed.
#[derive(Debug)]
pub(crate) enum AdminError {
    /// 401: no token, or not one we know.
    Unauthorized,
    /// 403: a read token on a write.
    Forbidden(String),
    /// 403: a write from another site's page, with no tokens to tell.
    CrossSite,
    /// 503: no tokens configured and no explicit opt-out.
    Disabled,
    /// 404.
    NotFound(String),
    /// 404: no endpoint at this path.
    NoEndpoint(String),
    /// 404: the router was given no rollout guard.
    NoGuard,
    /// 404: the guard does not watch this flag.
    NotGuarded(String),
    /// 409: create of a flag that exists.
    Exists(String),
    /// 400: a malformed request (bad JSON, bad header).
    BadRequest(String),
    /// 400: the change is invalid.
    Invalid(LoadErrors),
    /// 412: `If-Match` named another version.
    VersionMismatch { expected: u64, current: u64 },
    /// 409: the store's durable state moved (an unloaded hand edit).
    Conflict(String),
    /// 409: the store takes no changes (flags managed in Unleash).
    ReadOnly(String),
    /// 503: the store cannot be reached.
    Unavailable(String),
    /// 500.
    Internal(String),
}

impl AdminError {
    /// A 400 naming one field.
    pub(crate) fn field(flag: &str, field: &str, message: impl Into<String>) -> AdminError {
        AdminError::Invalid(LoadErrors::from(
            LoadError::new("admin api", message).flag(flag).field(field),
        ))
    }
}

impl From<CommitError> for AdminError {
    fn from(e: CommitError) -> Self {
        match e {
            CommitError::VersionMismatch { expected, current } => {
                AdminError::VersionMismatch { expected, current }
            }
            CommitError::Edit(EditError::NoSuchFlag { flag }) => AdminError::NotFound(flag),
            CommitError::Edit(EditError::AlreadyExists { flag }) => AdminError::Exists(flag),
            CommitError::Edit(e) => AdminError::Invalid(e.to_load_error("admin api").into()),
            CommitError::Invalid(e) | CommitError::Store(StoreError::Invalid(e)) => {
                AdminError::Invalid(e)
            }
            CommitError::Store(StoreError::Conflict(m)) => AdminError::Conflict(m),
            CommitError::Store(StoreError::ReadOnly(m)) => AdminError::ReadOnly(m),
            CommitError::Store(other) => AdminError::Unavailable(other.to_string()),
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let (status, code, message, extra) = match self {
            AdminError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a valid bearer token is required".to_owned(),
                json!({}),
            ),
            AdminError::CrossSite => (
                StatusCode::FORBIDDEN,
                "cross_site",
                "a change from another site's page is refused: this admin API takes no tokens, so it \
                 accepts changes only from its own pages and from clients that are not browsers"
                    .to_owned(),
                json!({}),
            ),
            AdminError::Forbidden(name) => (
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("token `{name}` may read but not change flags"),
                json!({}),
            ),
            AdminError::Disabled => (
                StatusCode::SERVICE_UNAVAILABLE,
                "disabled",
                "the admin API has no tokens configured".to_owned(),
                json!({}),
            ),
            AdminError::NotFound(name) => (
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no flag named `{name}`"),
                json!({}),
            ),
            AdminError::NoEndpoint(path) => (
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no admin endpoint at `{path}`"),
                json!({}),
            ),
            AdminError::NoGuard => (
                StatusCode::NOT_FOUND,
                "no_guard",
                "no rollout guard is attached to the admin API".to_owned(),
                json!({}),
            ),
            AdminError::NotGuarded(name) => (
                StatusCode::NOT_FOUND,
                "not_guarded",
                format!("flag `{name}` is not watched by the rollout guard"),
                json!({}),
            ),
            AdminError::Exists(name) => (
                StatusCode::CONFLICT,
                "already_exists",
                format!("a flag named `{name}` exists; PUT its definition to replace it"),
                json!({}),
            ),
            AdminError::BadRequest(m) => (StatusCode::BAD_REQUEST, "bad_request", m, json!({})),
            AdminError::Invalid(e) => (
                StatusCode::BAD_REQUEST,
                "invalid",
                e.to_string(),
                json!({ "errors": e.errors() }),
            ),
            AdminError::VersionMismatch { expected, current } => (
                StatusCode::PRECONDITION_FAILED,
                "version_mismatch",
                format!("If-Match was version {expected}, but the flags are at version {current}; reload and retry"),
                json!({ "current_version": current }),
            ),
            AdminError::Conflict(m) => (StatusCode::CONFLICT, "conflict", m, json!({})),
            AdminError::ReadOnly(m) => (StatusCode::CONFLICT, "read_only", m, json!({})),
            AdminError::Unavailable(m) => {
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable", m, json!({}))
            }
            AdminError::Internal(m) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", m, json!({})),
        };
        tracing::debug!(target: "flags::admin", status = status.as_u16(), error = code, %message, "admin request refused");
        let mut body = json!({ "error": code, "message": message });
        if let (Some(obj), Some(more)) = (body.as_object_mut(), extra.as_object()) {
            obj.extend(more.clone());
        }
        let mut resp = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"flags\""),
            );
        }
        resp
    }
}
