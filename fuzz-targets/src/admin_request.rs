//! Target `admin_request`: a write through the real admin router
//! (`Flags::admin_router`, called with `tower::ServiceExt::oneshot`) on an
//! in-memory `Flags` serving the mixed set. Oracle: no panic, never a 5xx,
//! and every error in the documented JSON shape (`{"error": code, ..}`).
//!
//! Input layout, so that a corpus file is a readable request body:
//! byte 0 picks the endpoint ([`ENDPOINTS`], low 7 bits) and whether to
//! send `If-Match: "1"` (high bit), byte 1 the flag in the path
//! ([`path_name`]), the rest is the body.

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use flags_middleware::admin::{AdminConfig, Role};
use flags_middleware::Flags;
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::mixed;

const TOKEN: &str = "fuzz-write-token-0123456789";

/// The endpoints that read a body: method and path under the admin
/// router (`{name}` is replaced). The router is nested at `/admin`, where
/// its `/` is `/admin` itself.
pub const ENDPOINTS: &[(Method, &str)] = &[
    (Method::POST, ""),
    (Method::PUT, "/{name}"),
    (Method::PUT, "/{name}/rollout"),
    (Method::PUT, "/{name}/users"),
    (Method::PUT, "/{name}/guard"),
    (Method::PUT, "/{name}/plan"),
];

/// The flag named in the path for byte `b`: one of the mixed set's, a
/// new one, or a name no flag may have (percent-encoded).
pub fn path_name(b: u8) -> &'static str {
    let names = mixed::names();
    match usize::from(b) % (names.len() + 2) {
        i if i < names.len() => &names[i],
        i if i == names.len() => "fresh_flag",
        _ => "no%20such%20flag",
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime")
    })
}

/// The target.
pub fn run(data: &[u8]) {
    let Some(reply) = answer(data) else {
        return;
    };
    let Reply {
        endpoint,
        uri,
        status,
        body,
    } = &reply;
    let method = &ENDPOINTS[*endpoint].0;
    let sent = String::from_utf8_lossy(data.get(2..).unwrap_or_default());
    assert!(
        !status.is_server_error(),
        "{method} {uri} answered {status}: {body}\n--- body:\n{sent}"
    );
    let json: serde_json::Value = serde_json::from_str(body)
        .unwrap_or_else(|e| panic!("{method} {uri} answered {status} with no JSON ({e}): {body}"));
    if !status.is_success() {
        assert!(
            json["error"].as_str().is_some_and(|c| !c.is_empty())
                && json["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{method} {uri} answered {status} without the error shape: {body}\n--- body:\n{sent}"
        );
    }
}

/// What the admin API answered to one input.
#[derive(Debug)]
pub struct Reply {
    /// The endpoint, by its index in [`ENDPOINTS`].
    pub endpoint: usize,
    /// The URI requested.
    pub uri: String,
    /// The answer's status.
    pub status: StatusCode,
    /// The answer's body.
    pub body: String,
}

/// Sends the request `data` describes to a fresh admin router; `None`
/// when `data` is too short to describe one.
pub fn answer(data: &[u8]) -> Option<Reply> {
    let [pick, name, body @ ..] = data else {
        return None;
    };
    let endpoint = usize::from(pick & 0x7f) % ENDPOINTS.len();
    let (method, path) = &ENDPOINTS[endpoint];
    let uri = format!("/admin{}", path.replace("{name}", path_name(*name)));
    let mut request = Request::builder()
        .method(method.clone())
        .uri(&uri)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .header(header::CONTENT_TYPE, "application/json");
    if pick & 0x80 != 0 {
        request = request.header(header::IF_MATCH, "\"1\"");
    }
    let request = request
        .body(Body::from(body.to_vec()))
        .expect("a valid request");
    let (status, body) = runtime().block_on(send(request));
    Some(Reply {
        endpoint,
        uri,
        status,
        body,
    })
}

async fn send(request: Request<Body>) -> (StatusCode, String) {
    // A fresh handle per input: no state leaks from one input to the next.
    let flags = Flags::from_snapshot(mixed::snapshot().clone().with_version(1));
    let app = axum::Router::new().nest(
        "/admin",
        flags.admin_router(AdminConfig::new().token("fuzz", TOKEN, Role::Write)),
    );
    let response = app
        .oneshot(request)
        .await
        .unwrap_or_else(|never| match never {});
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}
