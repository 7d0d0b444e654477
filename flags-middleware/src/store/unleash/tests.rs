//! The Unleash store against a fake Unleash (a small axum app): headers,
//! ETags, back-off, the token refused, startup without Unleash, read-only
//! writes, the guard's kill, metrics.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;

use super::*;
use crate::change::CommitError;
use crate::edit::Edit;
use crate::{Context, Flags};

const TOKEN: &str = "default:development.client-secret";

fn features(enabled: bool) -> String {
    format!(
        r#"{{"version": 2, "features": [
          {{"name": "checkout", "project": "shop", "enabled": {enabled},
            "strategies": [{{"name": "flexibleRollout", "constraints": [],
              "parameters": {{"rollout": "100", "stickiness": "default", "groupId": "checkout"}},
              "segments": [1]}}]}}],
          "segments": [{{"id": 1, "constraints": [
            {{"contextName": "userId", "operator": "IN", "values": ["u1", "u2"]}}]}}],
          "meta": {{"revisionId": 1}}}}"#
    )
}

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

/// A fake Unleash: serves `body` under `etag` (304 for a matching
/// `If-None-Match`), or answers `status` to everything when set.
#[derive(Debug)]
struct Fake {
    body: Mutex<(String, String)>,
    status: Mutex<Option<u16>>,
    metrics_status: Mutex<Vec<u16>>,
    seen: Mutex<Vec<Seen>>,
    /// Takes requests to turn a flag off and never answers them.
    hold_off: AtomicBool,
}

impl Fake {
    fn new() -> Arc<Fake> {
        Arc::new(Fake {
            body: Mutex::new((features(true), "\"e1\"".into())),
            status: Mutex::new(None),
            metrics_status: Mutex::new(Vec::new()),
            seen: Mutex::new(Vec::new()),
            hold_off: AtomicBool::new(false),
        })
    }

    fn set_body(&self, body: String, etag: &str) {
        *self.body.lock().unwrap() = (body, etag.into());
    }

    fn answer(&self, status: Option<u16>) {
        *self.status.lock().unwrap() = status;
    }

    fn seen(&self, path_end: &str) -> Vec<Seen> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|s| s.path.ends_with(path_end))
            .cloned()
            .collect()
    }
}

async fn handle(State(fake): State<Arc<Fake>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let path = parts.uri.path().to_owned();
    fake.seen.lock().unwrap().push(Seen {
        method: parts.method.to_string(),
        path: path.clone(),
        headers: parts.headers.clone(),
        body,
    });
    if path.ends_with("/off") && fake.hold_off.load(Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    if path.ends_with("/client/metrics") {
        let mut queued = fake.metrics_status.lock().unwrap();
        let code = if queued.is_empty() {
            202
        } else {
            queued.remove(0)
        };
        return StatusCode::from_u16(code).unwrap().into_response();
    }
    if let Some(code) = *fake.status.lock().unwrap() {
        return StatusCode::from_u16(code).unwrap().into_response();
    }
    if path.ends_with("/client/features") {
        let (body, etag) = fake.body.lock().unwrap().clone();
        if parts
            .headers
            .get("if-none-match")
            .and_then(|v| v.to_str().ok())
            == Some(&etag)
        {
            return StatusCode::NOT_MODIFIED.into_response();
        }
        return ([("etag", etag)], body).into_response();
    }
    StatusCode::ACCEPTED.into_response()
}

/// Serves the fake on `listener`; stops when the returned handle is aborted.
fn serve(fake: &Arc<Fake>, listener: tokio::net::TcpListener) -> tokio::task::JoinHandle<()> {
    let app = Router::new().fallback(handle).with_state(fake.clone());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    })
}

async fn start(fake: &Arc<Fake>) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api", listener.local_addr().unwrap());
    (url, serve(fake, listener))
}

fn config(url: &str) -> UnleashConfig {
    UnleashConfig::new(url, TOKEN)
        .unwrap()
        .app_name("test-app")
        .instance_id("test-1")
        .refresh_interval(Duration::from_millis(20))
        .metrics_interval(None)
        .timeout(Duration::from_secs(2))
}

/// Polls `check` every 5 ms until it holds (or a generous deadline).
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..2000 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("never happened: {what}");
}

fn remote(flags: &Flags) -> RemoteStatus {
    flags.status().remote.expect("a remote status")
}

fn u(id: &str) -> Context {
    Context::new().user_id(id)
}

#[tokio::test]
async fn polls_with_the_sdk_headers_and_etags_and_serves_changes() {
    let fake = Fake::new();
    let (url, _server) = start(&fake).await;
    let flags = Flags::from_unleash(config(&url)).await.unwrap();
    // Segments by reference: only u1 and u2.
    assert!(flags.is_enabled("checkout", &u("u1")));
    assert!(!flags.is_enabled("checkout", &u("u3")));
    let first = flags.version();
    flags.wait_until_ready(Duration::ZERO).await.unwrap();

    eventually("two 304s", || remote(&flags).unchanged >= 2).await;
    let calls = fake.seen("/api/client/features");
    let h = &calls[0].headers;
    let header = |name: &str| h.get(name).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(header("authorization").as_deref(), Some(TOKEN));
    assert_eq!(header("unleash-appname").as_deref(), Some("test-app"));
    assert_eq!(header("unleash-instanceid").as_deref(), Some("test-1"));
    assert_eq!(header("unleash-interval").as_deref(), Some("20"));
    assert_eq!(header("unleash-client-spec").as_deref(), Some("5.2.0"));
    assert!(header("unleash-sdk").unwrap().starts_with("flags-rust:"));
    let id = header("unleash-connection-id").unwrap();
    assert_eq!((id.len(), id.matches('-').count()), (36, 4), "{id}");
    assert_eq!(header("if-none-match"), None);
    // Later calls carry the ETag and the same connection id.
    let later = &calls[1].headers;
    assert_eq!(later.get("if-none-match").unwrap(), "\"e1\"");
    assert_eq!(later.get("unleash-connection-id").unwrap(), id.as_str());
    let status = remote(&flags);
    assert_eq!(
        (status.fetched, status.serving, status.ready),
        (1, "unleash", true)
    );
    assert_eq!(flags.version(), first, "a 304 changes nothing");

    // A change in Unleash: a new version, audited under `unleash`.
    fake.set_body(features(false), "\"e2\"");
    eventually("the change served", || {
        !flags.is_enabled("checkout", &u("u1"))
    })
    .await;
    assert_eq!(flags.version(), first + 1);
    // The entry is written just after the swap, so it may trail it.
    eventually("the change audited", || {
        flags.audit_log(0, 1).is_ok_and(|e| !e.is_empty())
    })
    .await;
    let entry = &flags.audit_log(0, 1).unwrap()[0];
    assert_eq!(
        (entry.actor.as_str(), entry.flag.as_str()),
        ("unleash", "checkout")
    );
    assert_eq!(flags.status().source, format!("unleash {url}"));
}

#[tokio::test]
async fn failures_back_off_and_successes_recover_one_step_at_a_time() {
    let fake = Fake::new();
    let (url, _server) = start(&fake).await;
    let flags = Flags::from_unleash(config(&url).refresh_interval(Duration::from_millis(2)))
        .await
        .unwrap();
    let calls = || fake.seen("/client/features").len();
    fake.answer(Some(503));
    let at = calls();
    eventually("three 503s", || calls() >= at + 3).await;
    eventually("counted", || remote(&flags).failures >= 3).await;
    let status = remote(&flags);
    let failure = status.last_failure.unwrap();
    assert_eq!(failure.status, Some(503));
    assert!(failure.reason.contains("503"), "{}", failure.reason);
    assert!(status.polling);
    assert!(
        flags.is_enabled("checkout", &u("u1")),
        "the last good flags serve"
    );
    eventually("capped at 10", || {
        remote(&flags).failures == backoff::MAX_FAILURES
    })
    .await;
    // 429 and 404 back off the same way; the count stays capped.
    fake.answer(Some(429));
    let at = calls();
    eventually("a 429", || calls() > at + 1).await;
    assert_eq!(remote(&flags).failures, backoff::MAX_FAILURES);
    // Back: each success takes one failure off, the failure is cleared.
    fake.answer(None);
    eventually("recovered", || remote(&flags).failures == 0).await;
    assert!(remote(&flags).last_failure.is_none());
}

#[tokio::test]
async fn a_refused_token_stops_polling_with_a_clear_error() {
    let fake = Fake::new();
    fake.answer(Some(401));
    let (url, _server) = start(&fake).await;
    let flags = Flags::from_unleash(config(&url)).await.unwrap();
    let e = flags
        .wait_until_ready(Duration::from_secs(30))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("refused the token") && e.contains("401"), "{e}");
    let status = remote(&flags);
    assert!(!status.polling && !status.ready);
    assert_eq!(status.serving, "empty");
    assert!(status
        .last_failure
        .unwrap()
        .reason
        .contains("polling stopped"));
    // No hot loop, no retry at all: ten intervals later, still one call.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(fake.seen("/client/features").len(), 1);
    assert!(!flags.is_enabled("checkout", &u("u1")));
}

#[tokio::test]
async fn a_403_later_stops_polling_too() {
    let fake = Fake::new();
    let (url, _server) = start(&fake).await;
    let flags = Flags::from_unleash(config(&url)).await.unwrap();
    fake.answer(Some(403));
    eventually("stopped", || !remote(&flags).polling).await;
    let n = fake.seen("/client/features").len();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(fake.seen("/client/features").len(), n);
    assert!(
        flags.is_enabled("checkout", &u("u1")),
        "the last good flags serve"
    );
}

/// A port nobody listens on (yet).
async fn free_port() -> std::net::SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

#[tokio::test]
async fn startup_without_unleash_serves_last_known_good_then_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let lkg = dir.path().join("unleash.last-good.json");
    let fake = Fake::new();
    let (url, server) = start(&fake).await;
    let flags = Flags::from_unleash(config(&url).last_known_good(&lkg))
        .await
        .unwrap();
    eventually("the file written", || lkg.exists()).await;
    let served = flags.version();
    drop(flags);
    server.abort();

    // Unleash away: a restart serves the last-known-good flags.
    let addr = free_port().await;
    let url = format!("http://{addr}/api");
    let flags = Flags::from_unleash(config(&url).last_known_good(&lkg))
        .await
        .unwrap();
    assert!(flags.is_enabled("checkout", &u("u1")));
    assert!(flags.version() > served, "versions go on rising");
    let status = remote(&flags);
    assert_eq!(
        (status.serving, status.ready, status.polling),
        ("last-known-good", false, true)
    );
    assert!(status
        .last_failure
        .unwrap()
        .reason
        .contains("cannot reach Unleash"));
    let e = flags
        .wait_until_ready(Duration::from_millis(50))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not ready"), "{e}");

    // Unleash back, with a change: the next poll serves it.
    fake.set_body(features(false), "\"e9\"");
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let _server = serve(&fake, listener);
    flags
        .wait_until_ready(Duration::from_secs(10))
        .await
        .unwrap();
    // Ready means served: the fetched flags, not the last-known-good ones.
    assert!(!flags.is_enabled("checkout", &u("u1")));
    assert_eq!(remote(&flags).serving, "unleash");
}

#[tokio::test]
async fn startup_without_unleash_or_files_serves_a_bootstrap_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let boot = dir.path().join("boot.toml");
    std::fs::write(&boot, "[checkout]\nusers = [\"u7\"]\n").unwrap();
    let url = format!("http://{}/api", free_port().await);
    let flags = Flags::from_unleash(config(&url).bootstrap(&boot))
        .await
        .unwrap();
    assert!(flags.is_enabled("checkout", &u("u7")));
    assert_eq!(remote(&flags).serving, "bootstrap");
    let flags = Flags::from_unleash(config(&url)).await.unwrap();
    assert_eq!(
        (remote(&flags).serving, flags.snapshot().len()),
        ("empty", 0)
    );
}

#[tokio::test]
async fn writes_are_refused_but_the_guards_kill_holds_until_unleash_changes() {
    let fake = Fake::new();
    let (url, _server) = start(&fake).await;
    let flags = Flags::from_unleash(config(&url)).await.unwrap();
    let e = flags
        .writer("ops")
        .commit(Edit::kill("checkout"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, CommitError::Store(StoreError::ReadOnly(m)) if m.contains("managed in Unleash")),
        "{e}"
    );
    assert!(flags.is_enabled("checkout", &u("u1")));
    // Also a write that would change nothing (`checkout` is on): refused,
    // not answered "no change".
    let e = flags
        .writer("ops")
        .commit(Edit::enable("checkout"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, CommitError::Store(StoreError::ReadOnly(_))),
        "{e}"
    );
    // The guard's kill, no admin token: applied here.
    let v = flags.version();
    flags
        .writer("guard")
        .commit(Edit::kill("checkout"))
        .await
        .unwrap();
    assert!(!flags.is_enabled("checkout", &u("u1")));
    assert_eq!(flags.version(), v + 1);
    assert!(fake.seen("/off").is_empty());
    // 304s keep it; Unleash's next change replaces it.
    let at = remote(&flags).unchanged;
    eventually("a 304", || remote(&flags).unchanged > at).await;
    assert!(!flags.is_enabled("checkout", &u("u1")));
    fake.set_body(features(true), "\"e3\"");
    eventually("Unleash's flags back", || {
        flags.is_enabled("checkout", &u("u1"))
    })
    .await;
}

/// An admin token that happens to be named like the guard does not pass
/// for it: its kill through the admin API is refused like any write, and
/// Unleash is not called.
#[tokio::test]
async fn an_admin_token_named_guard_cannot_write() {
    use tower::ServiceExt;

    use crate::admin::{AdminConfig, Role};

    let fake = Fake::new();
    let (url, _server) = start(&fake).await;
    let flags = Flags::from_unleash(config(&url).admin_token("admin-secret"))
        .await
        .unwrap();
    let admin =
        flags.admin_router(AdminConfig::new().token("guard", "a-long-enough-secret", Role::Write));
    let req = axum::http::Request::post("/checkout/kill")
        .header("authorization", "Bearer a-long-enough-secret")
        .body(axum::body::Body::empty())
        .unwrap();
    let res = admin.oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let body = axum::body::to_bytes(res.into_body(), 1 << 16)
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&body).contains("read_only"));
    assert!(flags.is_enabled("checkout", &u("u1")));
    assert!(fake.seen("/off").is_empty());
}

#[tokio::test]
async fn with_an_admin_token_the_guards_kill_is_made_in_unleash() {
    let fake = Fake::new();
    let (url, _server) = start(&fake).await;
    let flags = Flags::from_unleash(config(&url).admin_token("admin-secret"))
        .await
        .unwrap();
    flags
        .writer("guard")
        .commit(Edit::kill("checkout"))
        .await
        .unwrap();
    assert!(!flags.is_enabled("checkout", &u("u1")));
    // Made in Unleash in the background.
    eventually("the kill is made in Unleash", || {
        !fake.seen("/off").is_empty()
    })
    .await;
    let off = fake.seen("/off");
    assert_eq!(off.len(), 1);
    assert_eq!(off[0].method, "POST");
    assert_eq!(
        off[0].path,
        "/api/admin/projects/shop/features/checkout/environments/development/off"
    );
    assert_eq!(off[0].headers.get("authorization").unwrap(), "admin-secret");
}

#[tokio::test]
async fn the_guards_kill_is_served_here_without_waiting_for_unleash() {
    let fake = Fake::new();
    fake.hold_off.store(true, Ordering::SeqCst);
    let (url, _server) = start(&fake).await;
    // Unleash takes the kill and never answers; the client would wait a
    // minute for it.
    let config = config(&url)
        .admin_token("admin-secret")
        .timeout(Duration::from_secs(60));
    let flags = Flags::from_unleash(config).await.unwrap();
    let kill = flags.writer("guard").commit(Edit::kill("checkout"));
    // Bounded only so that a regression fails rather than hangs: the
    // commit does not depend on Unleash's answer at all.
    tokio::time::timeout(Duration::from_secs(20), kill)
        .await
        .expect("the kill waited for Unleash")
        .unwrap();
    assert!(!flags.is_enabled("checkout", &u("u1")));
    eventually("the kill is asked of Unleash", || {
        !fake.seen("/off").is_empty()
    })
    .await;
}

#[tokio::test]
async fn usage_is_registered_and_posted_and_a_refused_bucket_is_merged() {
    let fake = Fake::new();
    // The first bucket is refused; the second is taken.
    *fake.metrics_status.lock().unwrap() = vec![503];
    let (url, _server) = start(&fake).await;
    let every = Duration::from_millis(30);
    let flags = Flags::from_unleash(config(&url).metrics_interval(Some(every)))
        .await
        .unwrap();
    eventually("registered", || !fake.seen("/client/register").is_empty()).await;
    let ms = Duration::from_millis(1);
    flags.metrics().record("checkout", "on", 200, ms);
    flags.metrics().record("checkout", "off", 200, ms);
    eventually("a bucket refused", || {
        fake.seen("/client/metrics").len() == 1
    })
    .await;
    flags.metrics().record("checkout", "on", 200, ms);
    eventually("a bucket taken", || remote(&flags).metrics_sent == 1).await;
    let posts = fake.seen("/client/metrics");
    let body: serde_json::Value = serde_json::from_slice(&posts[1].body).unwrap();
    assert_eq!(body["appName"], "test-app");
    assert_eq!(body["instanceId"], "test-1");
    assert_eq!(
        body["bucket"]["toggles"]["checkout"],
        serde_json::json!({"yes": 2, "no": 1, "variants": {}})
    );
    let first: serde_json::Value = serde_json::from_slice(&posts[0].body).unwrap();
    assert_eq!(
        body["bucket"]["start"], first["bucket"]["start"],
        "merged, not restarted"
    );
    // Nothing counted since: nothing sent.
    tokio::time::sleep(every * 5).await;
    assert_eq!(fake.seen("/client/metrics").len(), 2);
    let reg: serde_json::Value =
        serde_json::from_slice(&fake.seen("/client/register")[0].body).unwrap();
    assert_eq!(
        (reg["appName"].as_str(), reg["interval"].as_u64()),
        (Some("test-app"), Some(30))
    );
}

mod https;
