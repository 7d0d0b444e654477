//! The README's walk-through, step by step, against the example service over
//! real HTTP, so the README cannot rot. Flags come from a copy of
//! `examples/flags.toml` in a temp dir (the admin API writes to it).

use std::net::SocketAddr;
use std::path::Path;

use axum::body::Bytes;
use axum::http::{Method, Request, StatusCode};
use flags_examples::checkout_app::app;
use flags_middleware::admin::{AdminConfig, Role};
use flags_middleware::Flags;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

const TOKEN: &str = "walkthrough-token";

struct Service {
    addr: SocketAddr,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Service {
    async fn start(flags: Flags) -> Service {
        let admin = AdminConfig::new().token("admin", TOKEN, Role::Write);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = app(flags, admin);
        tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        Service {
            addr,
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (StatusCode, String) {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = self
            .client
            .request(req.body(Full::new(Bytes::from(body.to_owned()))).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    async fn get_json(&self, path: &str, user: Option<&str>, beta: bool) -> Value {
        let mut headers = Vec::new();
        if let Some(u) = user {
            headers.push(("x-user-id", u));
        }
        if beta {
            headers.push(("x-beta", "true"));
        }
        let (status, body) = self.send(Method::GET, path, &headers, "").await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    async fn admin(&self, method: Method, path: &str, body: &str) -> Value {
        let auth = format!("Bearer {TOKEN}");
        let (status, text) = self
            .send(
                method,
                &format!("/admin/flags{path}"),
                &[
                    ("authorization", &auth),
                    ("content-type", "application/json"),
                ],
                body,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "admin {path}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// Which of `users` get the new checkout right now.
    async fn new_checkout_users(&self, users: &[String]) -> Vec<bool> {
        let mut out = Vec::with_capacity(users.len());
        for u in users {
            let v = self.get_json("/api/v1/products/42", Some(u), false).await;
            out.push(v["data"]["checkout"] == "new");
        }
        out
    }
}

fn share(on: &[bool]) -> f64 {
    on.iter().filter(|x| **x).count() as f64 / on.len() as f64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_walkthrough() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("flags.toml");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/flags.toml");
    std::fs::copy(&example, &file).unwrap();
    let flags = Flags::from_file(&file).unwrap();
    let svc = Service::start(flags.clone()).await;
    let users: Vec<String> = (0..400).map(|i| format!("user_{i}")).collect();

    // 1. A few users: about 20% get the new checkout, each always the same one.
    let first = svc.new_checkout_users(&users).await;
    let s = share(&first);
    assert!((0.14..=0.26).contains(&s), "20% rollout gave {s}");
    assert_eq!(
        svc.new_checkout_users(&users).await,
        first,
        "sticky per user"
    );

    // 2. AI recommendations for the two named users only; beta search for beta users.
    for (user, want) in [
        ("user_123", "ai"),
        ("user_456", "ai"),
        ("user_789", "legacy"),
    ] {
        let v = svc
            .get_json("/api/v1/recommendations", Some(user), false)
            .await;
        assert_eq!(v["recommendations"], want, "{user}");
    }
    assert_eq!(
        svc.get_json("/api/v1/search", Some("ann"), true).await["search"],
        "v2"
    );
    assert_eq!(
        svc.get_json("/api/v1/search", Some("bob"), false).await["search"],
        "v1"
    );

    // 3. The legacy API is behind its kill switch: 404.
    let (status, _) = svc.send(Method::GET, "/api/v0/products/1", &[], "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // 4. Kill the new checkout: everyone is on legacy on the next request.
    svc.admin(Method::POST, "/new_checkout_flow/kill", "").await;
    assert!(svc.new_checkout_users(&users).await.iter().all(|on| !on));

    // 5. Day 1/3/5/7: 5% -> 25% -> 50% -> 100%, nobody ever turned off.
    svc.admin(Method::POST, "/new_checkout_flow/enable", "")
        .await;
    let mut previous = vec![false; users.len()];
    let mut day1 = Vec::new();
    for (pct, lo, hi) in [
        (5, 0.01, 0.10),
        (25, 0.18, 0.32),
        (50, 0.42, 0.58),
        (100, 1.0, 1.0),
    ] {
        svc.admin(
            Method::PUT,
            "/new_checkout_flow/rollout",
            &format!("{{\"percent\": {pct}}}"),
        )
        .await;
        let now = svc.new_checkout_users(&users).await;
        let s = share(&now);
        assert!((lo..=hi).contains(&s), "{pct}% gave {s}");
        for (was, is) in previous.iter().zip(&now) {
            assert!(!was || *is, "raising to {pct}% turned a user off");
        }
        if pct == 5 {
            day1 = now.clone();
        }
        previous = now;
    }

    // 6. Error spike: kill; fix; restart at 5%: the same 5% come back.
    svc.admin(Method::POST, "/new_checkout_flow/kill", "").await;
    assert!(svc.new_checkout_users(&users).await.iter().all(|on| !on));
    svc.admin(
        Method::PUT,
        "/new_checkout_flow/rollout",
        "{\"percent\": 5}",
    )
    .await;
    svc.admin(Method::POST, "/new_checkout_flow/enable", "")
        .await;
    assert_eq!(svc.new_checkout_users(&users).await, day1);

    // 7. The A/B test routes by weight (50/30/20), and the admin API shows
    //    the per-arm counters the layer collected.
    let mut arms = std::collections::BTreeMap::<String, usize>::new();
    for u in &users {
        let v = svc
            .get_json("/api/v1/checkout/button", Some(u), false)
            .await;
        *arms
            .entry(v["button"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    let frac = |arm: &str| arms.get(arm).copied().unwrap_or(0) as f64 / users.len() as f64;
    assert!((frac("blue") - 0.5).abs() < 0.08, "{arms:?}");
    assert!((frac("green") - 0.3).abs() < 0.08, "{arms:?}");
    assert!((frac("control") - 0.2).abs() < 0.08, "{arms:?}");
    let view = svc.admin(Method::GET, "/checkout_experiment", "").await;
    let counters = &view["flag"]["counters"];
    assert_eq!(
        counters["blue"]["requests"], arms["blue"] as u64,
        "{counters}"
    );
    assert_eq!(
        counters["green"]["requests"], arms["green"] as u64,
        "{counters}"
    );

    // 8. Every change was persisted to the file, comments kept, and audited.
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("rollout = 5"), "{text}");
    assert!(text.contains("# KILL SWITCH: off for everyone"), "{text}");
    let audit = svc.admin(Method::GET, "/_audit", "").await;
    assert!(audit.to_string().contains("new_checkout_flow"), "{audit}");
    let restarted = Flags::from_file(&file).unwrap();
    assert_eq!(
        restarted.snapshot().feature("new_checkout_flow"),
        flags.snapshot().feature("new_checkout_flow")
    );
}
