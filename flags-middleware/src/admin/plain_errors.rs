//! The admin API's errors all have one shape, `{"error": code, "message": ..}`,
//! including those axum writes itself before a handler runs: a body over
//! the size limit (413), a query string that does not parse (400), a method
//! a path does not take (405), an unknown path (404). Those come as plain
//! text; this middleware rewrites them, keeping their status and headers
//! (`Allow` on a 405), so a client needs one error parser.

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::{header, HeaderValue, StatusCode};

/// Plain-text bodies longer than this are cut (axum's are one line).
const MAX_MESSAGE: usize = 4 * 1024;

/// Rewrites an error response that is not JSON into the JSON error shape.
pub(crate) async fn as_json(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&resp) {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, MAX_MESSAGE)
        .await
        .unwrap_or_default();
    let mut message = String::from_utf8_lossy(&text).trim().to_owned();
    if message.is_empty() {
        message = status
            .canonical_reason()
            .unwrap_or("request refused")
            .to_owned();
    }
    let body = serde_json::json!({ "error": code(status), "message": message }).to_string();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body))
}

fn is_json(resp: &Response) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// The stable code for a status axum answers on its own.
fn code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_client_error() => "bad_request",
        _ => "internal",
    }
}
