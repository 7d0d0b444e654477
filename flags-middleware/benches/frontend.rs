//! What the Frontend API and the client API cost, with 100 mixed flags.
//!
//! In one run:
//! - criterion, in-process (`tower::ServiceExt::oneshot`):
//!   `frontend/200_distinct_users` (every flag evaluated for a new user and
//!   the body written), `frontend/304` (the same user again, with
//!   `If-None-Match`), `client_api/200` and `client_api/304` (a poll);
//! - loopback HTTP/1.1 requests per second for the two Frontend API cases,
//!   from a small load generator (skip with `FLAGS_BENCH_NO_HTTP=1`).
//!
//! Unleash Edge, the peer to compare with, is not driven yet: the bench
//! says so, and whether its binary is at `target/edge/bin/unleash-edge`
//! (`cargo install unleash-edge --root target/edge`).
//!
//! Run: `cargo bench -p flags-middleware --bench frontend`.

use std::hint::black_box;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::Router;
use criterion::Criterion;
use flags_middleware::client_api::ClientApiConfig;
use flags_middleware::frontend::FrontendConfig;
use flags_middleware::Flags;
use futures_util::FutureExt;
use http::Request;
use tower::ServiceExt;

const TOKEN: &str = "bench-frontend-token";
const CLIENT: &str = "bench-client-token";

/// 100 flags: rollouts, user lists, property constraints, variants, kills.
fn flags() -> Flags {
    let mut features = Vec::new();
    for i in 0..100 {
        let f = match i % 5 {
            0 => format!(
                r#"{{"name": "rollout_{i}", "enabled": true, "strategies": [{{"name": "flexibleRollout",
                   "parameters": {{"rollout": "{}", "stickiness": "default", "groupId": "rollout_{i}"}}}}]}}"#,
                (i * 7) % 100
            ),
            1 => format!(
                r#"{{"name": "users_{i}", "enabled": true, "strategies": [{{"name": "default",
                   "constraints": [{{"contextName": "userId", "operator": "IN", "values": ["u1", "u2", "u{i}"]}}]}}]}}"#
            ),
            2 => format!(
                r#"{{"name": "plan_{i}", "enabled": true, "strategies": [{{"name": "default",
                   "constraints": [{{"contextName": "plan", "operator": "IN", "values": ["pro"]}}]}}]}}"#
            ),
            3 => format!(
                r#"{{"name": "exp_{i}", "enabled": true, "strategies": [{{"name": "flexibleRollout",
                   "parameters": {{"rollout": "50", "stickiness": "default", "groupId": "exp_{i}"}}}}],
                   "variants": [{{"name": "a", "weight": 500, "payload": {{"type": "string", "value": "A"}}}},
                                {{"name": "b", "weight": 500}}]}}"#
            ),
            _ => format!(
                r#"{{"name": "killed_{i}", "enabled": false, "strategies": [{{"name": "default"}}]}}"#
            ),
        };
        features.push(f);
    }
    Flags::from_unleash_json(&format!(r#"{{"features": [{}]}}"#, features.join(",")))
        .expect("bench flags")
}

fn router(flags: &Flags) -> Router {
    Router::new()
        .nest_service(
            "/api/frontend",
            flags.frontend_router(FrontendConfig::new([TOKEN]).client_fields(["userId", "*"])),
        )
        .nest_service(
            "/api/client",
            flags.client_router(ClientApiConfig::new([CLIENT])),
        )
}

fn request(path: &str, token: &str, etag: Option<&str>) -> Request<Body> {
    let mut b = Request::get(path).header("authorization", token);
    if let Some(e) = etag {
        b = b.header("if-none-match", e);
    }
    b.body(Body::empty()).expect("request")
}

/// One request through the router, polled to completion on this thread.
fn once(app: &Router, req: Request<Body>) -> (u16, Option<String>) {
    let res = app
        .clone()
        .oneshot(req)
        .now_or_never()
        .expect("ready without waiting")
        .expect("infallible");
    let status = res.status().as_u16();
    let etag = res
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let _ = black_box(res.into_body());
    (status, etag)
}

fn criterion_benches(c: &mut Criterion, app: &Router) {
    let mut group = c.benchmark_group("frontend");
    let mut n = 0u64;
    group.bench_function("200_distinct_users", |b| {
        b.iter(|| {
            n += 1;
            let path =
                format!("/api/frontend?userId=user_{n}&sessionId={n}&properties%5Bplan%5D=pro");
            once(app, request(&path, TOKEN, None))
        })
    });
    let path = "/api/frontend?userId=user_7&sessionId=7";
    let (_, tag) = once(app, request(path, TOKEN, None));
    let tag = tag.expect("an etag");
    group.bench_function("304", |b| {
        b.iter(|| {
            let (status, _) = once(app, request(path, TOKEN, Some(&tag)));
            assert_eq!(status, 304);
        })
    });
    group.finish();
    let mut group = c.benchmark_group("client_api");
    group.bench_function("200", |b| {
        b.iter(|| once(app, request("/api/client/features", CLIENT, None)))
    });
    let (_, tag) = once(app, request("/api/client/features", CLIENT, None));
    let tag = tag.expect("an etag");
    group.bench_function("304", |b| {
        b.iter(|| {
            let (status, _) = once(app, request("/api/client/features", CLIENT, Some(&tag)));
            assert_eq!(status, 304);
        })
    });
    group.finish();
}

/// Requests per second over loopback HTTP/1.1 keep-alive from `conns`
/// connections for `secs`; `distinct` gives every request a new user,
/// otherwise each sends the same user with its `If-None-Match`.
async fn throughput(
    addr: SocketAddr,
    distinct: bool,
    etag: String,
    conns: usize,
    secs: f64,
) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for c in 0..conns {
        let (stop, done, etag) = (Arc::clone(&stop), Arc::clone(&done), etag.clone());
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
            stream.set_nodelay(true).expect("nodelay");
            let (mut send, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                    .await
                    .expect("handshake");
            tokio::spawn(conn);
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let mut b = Request::builder()
                    .header("host", "bench")
                    .header("authorization", TOKEN);
                b = if distinct {
                    b.uri(format!("/api/frontend?userId=c{c}_{i}&sessionId={i}"))
                } else {
                    b.uri("/api/frontend?userId=user_7&sessionId=7")
                        .header("if-none-match", etag.as_str())
                };
                let req = b
                    .body(http_body_util::Empty::<Bytes>::new())
                    .expect("request");
                send.ready().await.expect("ready");
                let res = send.send_request(req).await.expect("response");
                let body = http_body_util::BodyExt::collect(res.into_body())
                    .await
                    .expect("body");
                black_box(body);
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(secs * 0.2)).await;
    let start_count = done.load(Ordering::Relaxed);
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    let n = done.load(Ordering::Relaxed) - start_count;
    let elapsed = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    n as f64 / elapsed
}

fn http_rates(app: Router, etag: String) {
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("server runtime");
    let listener = server
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    server.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("client runtime");
    let rounds = 3;
    let mut distinct = Vec::new();
    let mut not_modified = Vec::new();
    for _ in 0..rounds {
        distinct.push(client.block_on(throughput(addr, true, etag.clone(), 16, 2.0)));
        not_modified.push(client.block_on(throughput(addr, false, etag.clone(), 16, 2.0)));
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "\nFrontend API, 100 flags, loopback HTTP/1.1, 16 keep-alive connections, \
         server on 1 worker thread, median of {rounds} x 2 s"
    );
    println!("  distinct users (200)   {:>9.0} req/s", median(distinct));
    println!(
        "  unchanged (304)        {:>9.0} req/s",
        median(not_modified)
    );
}

fn main() {
    let flags = flags();
    let app = router(&flags);
    let mut c = Criterion::default().configure_from_args();
    criterion_benches(&mut c, &app);
    c.final_summary();
    if std::env::args().any(|a| a == "--profile-time") {
        return;
    }
    let edge = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/edge/bin/unleash-edge");
    println!(
        "\nUnleash Edge not measured: this bench does not drive it yet (binary at {}: {})",
        edge.display(),
        if edge.exists() { "present" } else { "absent" }
    );
    if std::env::var_os("FLAGS_BENCH_NO_HTTP").is_none() {
        let (_, etag) = once(
            &app,
            request("/api/frontend?userId=user_7&sessionId=7", TOKEN, None),
        );
        http_rates(app, etag.expect("an etag"));
    }
}
