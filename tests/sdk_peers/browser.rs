//! The browser SDK in headless Chromium (Debian's, through chromedriver),
//! on a page served from another loopback port than the app: a real
//! browser enforces CORS, and hides `ETag` from the SDK unless the app
//! exposes it.

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use axum::Router;
use flags_middleware::Context;
use serde_json::{json, Value};

use crate::app::{self, FRONTEND};
use crate::chromium::Driver;
use crate::node::node_dir;

/// The page and the SDK's browser bundle, on their own port.
async fn serve_page() -> SocketAddr {
    let dir = node_dir();
    let page = std::fs::read_to_string(dir.join("browser_sdk.html")).unwrap();
    let bundle =
        std::fs::read_to_string(dir.join("node_modules/unleash-proxy-client/build/main.min.js"))
            .unwrap();
    let router = Router::new()
        .route(
            "/",
            get(move || async move { ([(CONTENT_TYPE, "text/html; charset=utf-8")], page) }),
        )
        .route(
            "/unleash-proxy-client.js",
            get(move || async move { ([(CONTENT_TYPE, "application/javascript")], bundle) }),
        );
    app::serve(router).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_sdk_in_chromium_calls_the_app_from_another_origin() {
    let flags = app::flags();
    let app_addr = app::serve(app::router(&flags)).await;
    let page_addr = serve_page().await;
    let driver = Driver::start();
    let browser = driver.browser(false).await.client;
    let user = "user_123";
    let url = format!("http://{page_addr}/?app=http://{app_addr}&token={FRONTEND}&user={user}");
    browser.goto(&url).await.unwrap();
    let mut result = Value::Null;
    for _ in 0..150 {
        result = browser
            .execute("return window.__result || null;", vec![])
            .await
            .unwrap();
        if !result.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    browser.close().await.unwrap();
    assert!(!result.is_null(), "the page never finished");
    assert!(result.get("error").is_none(), "{result}");
    assert_eq!(result["errors"], json!([]), "{result}");
    assert_ne!(result["origin"], json!(format!("http://{app_addr}")));

    // What the app decides for the user its resolver sees (beta = false).
    let ctx = Context::new().user_id(user).property("beta", "false");
    let snapshot = flags.snapshot();
    let mut want: Vec<Value> = app::FLAGS
        .iter()
        .filter(|f| snapshot.is_enabled(f, &ctx))
        .map(|f| json!({"name": f, "variant": snapshot.variant(f, &ctx).name}))
        .collect();
    want.sort_by_key(|v| v["name"].as_str().unwrap_or("").to_owned());
    assert_eq!(result["toggles"], json!(want), "{result}");
    assert!(want.iter().any(|t| t["name"] == "ai_recommendations"));

    // CORS let the calls through; the exposed ETag came back as If-None-Match.
    let calls = result["calls"].as_array().unwrap();
    assert_eq!(calls[0]["status"], 200, "{result}");
    assert!(
        calls[0]["etag"]
            .as_str()
            .is_some_and(|e| e.starts_with("W/\"")),
        "{result}"
    );
    assert!(calls.iter().skip(1).any(|c| c["status"] == 304), "{result}");
    // The same API with other origins configured is refused by the browser.
    assert_eq!(result["strict"], "blocked", "{result}");
}
