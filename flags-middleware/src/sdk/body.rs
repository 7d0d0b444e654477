//! Reading SDK request bodies, and the error answer SDKs understand.

use axum::body::{Body, Bytes};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::StatusCode;
use serde_json::json;

/// The body limit of SDK requests (a context or a metrics report).
const MAX_BODY: usize = 1 << 20;

/// The whole body, or a 413 naming the limit.
pub(crate) async fn read_bytes(body: Body) -> Result<Bytes, Response> {
    axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            Json(json!({"message": format!("the body is over {MAX_BODY} bytes")})),
        )
            .into_response()
    })
}

/// A 400 with Unleash's error shape, `{"message": ..}`.
pub(crate) fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "message": message }))).into_response()
}
