//! The browser SDK in headless Chromium (Debian's, through chromedriver),
//! on a page served from another loopback port than the app: a real
//! browser enforces CORS, and hides `ETag` from the SDK unless the app
//! exposes it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use axum::Router;
use fantoccini::ClientBuilder;
use flags_middleware::Context;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

use crate::app::{self, FRONTEND};
use crate::node::node_dir;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver, stopped when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_driver() -> (Driver, u16) {
    for bin in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            PathBuf::from(bin).exists(),
            "{bin} is missing: run scripts/chromium.sh (scripts/test.sh does)"
        );
    }
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver(child);
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return (driver, port);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not listen on port {port}");
}

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
    let (_driver, port) = start_driver().await;

    let caps: serde_json::Map<String, Value> = serde_json::from_value(json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]
        }
    }))
    .unwrap();
    let browser = ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a chromium session");
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
