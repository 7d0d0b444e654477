//! Every admin API error has the documented JSON shape
//! (`{"error": code, "message": ..}`), including the ones axum answers
//! before a handler runs, and the bearer scheme is case-insensitive. A flag
//! name that breaks the naming rule is a 400 naming the field.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use flags_middleware::admin::{AdminConfig, Role};
use flags_middleware::Flags;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

const WRITE: &str = "write-token-0123456789";

fn app() -> Router {
    let flags = Flags::from_toml_str("[a]\nrollout = 20\n", "flags.toml").unwrap();
    // Mounted as documented: `nest_service` serves the root at `/admin/flags/` too.
    Router::new().nest_service(
        "/admin/flags",
        flags.admin_router(AdminConfig::new().token("ops", WRITE, Role::Write)),
    )
}

async fn send(req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
    send_to(app(), req).await
}

async fn send_to(app: Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
    let resp = app.oneshot(req).await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "{status}: body is not JSON ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    (status, headers, body)
}

fn request(method: Method, path: &str, auth: &str, body: Body) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, auth)
        .body(body)
        .unwrap()
}

fn assert_shape(body: &Value, code: &str) {
    assert_eq!(body["error"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn a_too_large_body_is_a_json_413() {
    let big = format!("{{\"percent\": 5, \"pad\": \"{}\"}}", "x".repeat(3 << 20));
    let (status, headers, body) = send(request(
        Method::PUT,
        "/admin/flags/a/rollout",
        &format!("Bearer {WRITE}"),
        Body::from(big),
    ))
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_shape(&body, "too_large");
}

#[tokio::test]
async fn a_bad_query_is_a_json_400() {
    let (status, _, body) = send(request(
        Method::GET,
        "/admin/flags/_audit?limit=abc",
        &format!("Bearer {WRITE}"),
        Body::empty(),
    ))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_shape(&body, "bad_request");
    assert!(
        body["message"].as_str().unwrap().contains("limit"),
        "{body}"
    );
}

#[tokio::test]
async fn a_wrong_method_is_a_json_405_that_keeps_allow() {
    let (status, headers, body) = send(request(
        Method::PATCH,
        "/admin/flags/a/kill",
        &format!("Bearer {WRITE}"),
        Body::empty(),
    ))
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(headers.contains_key(header::ALLOW));
    assert_shape(&body, "method_not_allowed");
}

#[tokio::test]
async fn an_unknown_endpoint_is_a_json_404() {
    let (status, _, body) = send(request(
        Method::GET,
        "/admin/flags/a/b/c",
        &format!("Bearer {WRITE}"),
        Body::empty(),
    ))
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_shape(&body, "not_found");
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let (status, _, body) = send(request(
            Method::GET,
            "/admin/flags/a",
            &format!("{scheme} {WRITE}"),
            Body::empty(),
        ))
        .await;
        assert_eq!(status, StatusCode::OK, "{scheme}: {body}");
    }
    let (status, _, body) = send(request(
        Method::GET,
        "/admin/flags/a",
        &format!("Basic {WRITE}"),
        Body::empty(),
    ))
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_shape(&body, "unauthorized");
}

/// The start of `flags_core::name::FLAG_NAME_RULE` (flags-middleware does
/// not re-export the module).
const RULE: &str = "a flag name is 1 to 100 characters";

#[tokio::test]
async fn a_create_with_an_illegal_name_is_a_400_that_states_the_rule() {
    // `_status` would collide with the system endpoint; `a b` is no URL
    // path segment. Both break the one naming rule.
    let app = app();
    for create in [
        serde_json::json!({"name": "_status", "rollout": 5}),
        serde_json::json!({"name": "a b"}),
    ] {
        let name = create["name"].as_str().unwrap();
        let (status, _, body) = send_to(
            app.clone(),
            request(
                Method::POST,
                "/admin/flags/",
                &format!("Bearer {WRITE}"),
                Body::from(create.to_string()),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {body}");
        assert_shape(&body, "invalid");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains("field `name`"), "{name}: {body}");
        assert!(message.contains(RULE), "{name}: {body}");
        let problem = &body["errors"][0];
        assert_eq!(problem["field"], "name", "{body}");
        assert_eq!(problem["flag"], name, "{body}");
        assert!(
            problem["message"].as_str().unwrap().contains(RULE),
            "{body}"
        );
    }
    // The same app still answers `/_status` with the status, unchanged.
    let (status, _, body) = send_to(
        app,
        request(
            Method::GET,
            "/admin/flags/_status",
            &format!("Bearer {WRITE}"),
            Body::empty(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["version"], 1, "{body}");
    assert_eq!(body["source"], "memory", "{body}");
    assert!(body["last_error"].is_null(), "{body}");
}
