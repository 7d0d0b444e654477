//! Every admin API error has the documented JSON shape
//! (`{"error": code, "message": ..}`), including the ones axum answers
//! before a handler runs, and the bearer scheme is case-insensitive.

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
    Router::new().nest(
        "/admin/flags",
        flags.admin_router(AdminConfig::new().token("ops", WRITE, Role::Write)),
    )
}

async fn send(req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
    let resp = app().oneshot(req).await.unwrap();
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
