//! 1,000 kill/enable flips through the admin API while clients hammer the
//! app over loopback: no request fails, and every response is consistent
//! with exactly one flag version.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use flags_middleware::admin::{AdminConfig, Role};
use flags_middleware::{Context, Flags};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

const TOKEN: &str = "load-test-token-0123456789";
const FLIPS: usize = 1000;
const CLIENTS: usize = 6;

/// The app's handler: pins one snapshot and echoes its version with the
/// decision, so the test can check each response against the flips.
async fn check(State(flags): State<Flags>) -> Json<Value> {
    let snap = flags.snapshot();
    let on = snap.is_enabled("new_checkout_flow", &Context::new().user_id("user_123"));
    Json(json!({ "version": snap.version(), "enabled": on }))
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

async fn send(
    client: &HttpClient,
    method: &str,
    url: &str,
    token: Option<&str>,
) -> Result<(u16, Value), String> {
    let mut req = hyper::Request::builder().method(method).uri(url);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = req
        .body(Full::new(Bytes::new()))
        .map_err(|e| e.to_string())?;
    let resp = client.request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    let json = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    Ok((status, json))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_flips_under_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flags.toml");
    std::fs::write(&path, "# The switch.\n[new_checkout_flow]\n").unwrap();
    let flags = Flags::from_file(&path).unwrap();
    let app = Router::new()
        .route("/check", get(check))
        .nest(
            "/admin/flags",
            flags.admin_router(AdminConfig::new().token("ops", TOKEN, Role::Write)),
        )
        .with_state(flags.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();

    let stop = Arc::new(AtomicBool::new(false));
    let mut load = Vec::new();
    for _ in 0..CLIENTS {
        let (client, stop, url) = (client.clone(), stop.clone(), format!("{base}/check"));
        load.push(tokio::spawn(async move {
            let (mut seen, mut failures) = (Vec::new(), Vec::new());
            while !stop.load(Ordering::Relaxed) {
                match send(&client, "GET", &url, None).await {
                    Ok((200, body)) => seen.push((
                        body["version"].as_u64().unwrap(),
                        body["enabled"].as_bool().unwrap(),
                    )),
                    other => failures.push(format!("{other:?}")),
                }
            }
            (seen, failures)
        }));
    }

    // Version → the state the flip that produced it set.
    let mut state_at: HashMap<u64, bool> = HashMap::from([(1, true)]);
    let mut kill_latency = Vec::new();
    let mut visible_next = 0;
    let mut enabled_now = true;
    for i in 0..FLIPS {
        let kill = i % 2 == 0;
        let action = if kill { "kill" } else { "enable" };
        let url = format!("{base}/admin/flags/new_checkout_flow/{action}");
        let start = Instant::now();
        let (status, body) = send(&client, "POST", &url, Some(TOKEN)).await.unwrap();
        let took = start.elapsed();
        assert_eq!(status, 200, "{action}: {body}");
        let version = body["version"].as_u64().unwrap();
        assert!(
            state_at.insert(version, !kill).is_none(),
            "version {version} reused"
        );
        // The next request after the 200 sees the change.
        let (_, next) = send(&client, "GET", &format!("{base}/check"), None)
            .await
            .unwrap();
        if next["enabled"] == json!(!kill) && next["version"].as_u64() >= Some(version) {
            visible_next += 1;
        }
        if kill {
            kill_latency.push(took);
        }
        enabled_now = !kill;
    }
    stop.store(true, Ordering::Relaxed);

    let mut observed = 0;
    for task in load {
        let (seen, failures) = task.await.unwrap();
        assert!(failures.is_empty(), "failed requests: {failures:?}");
        for (version, enabled) in seen {
            assert_eq!(
                state_at.get(&version),
                Some(&enabled),
                "a response at version {version} said enabled={enabled}"
            );
            observed += 1;
        }
    }
    assert_eq!(state_at.len(), FLIPS + 1);
    assert_eq!(visible_next, FLIPS);
    assert!(observed > FLIPS, "too little load: {observed} requests");
    assert_eq!(flags.version(), FLIPS as u64 + 1);
    // The file holds the last state; the audit log every flip.
    let reopened = Flags::from_file(&path).unwrap();
    assert_eq!(
        reopened.is_enabled("new_checkout_flow", &Context::new()),
        enabled_now
    );
    assert_eq!(flags.audit_log(0, 2000).unwrap().len(), FLIPS);

    kill_latency.sort();
    println!(
        "{FLIPS} flips under {CLIENTS} loopback clients: {observed} requests, 0 failed; \
         kill -> 200 median {:?}, p99 {:?}; visible to the next request {visible_next}/{FLIPS}",
        percentile(&kill_latency, 0.5),
        percentile(&kill_latency, 0.99),
    );
}
