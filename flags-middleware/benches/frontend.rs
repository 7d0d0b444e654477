//! What the Frontend API and the client API cost, with 100 mixed flags,
//! and how many requests per second it serves next to Unleash Edge.
//!
//! In one run:
//! - criterion, in-process (`tower::ServiceExt::oneshot`):
//!   `frontend/200_distinct_users` (every flag evaluated for a new user and
//!   the body written), `frontend/304` (the same user again, with
//!   `If-None-Match`), `client_api/200` and `client_api/304` (a poll);
//! - over loopback HTTP/1.1, side by side with Unleash Edge serving the same
//!   flags offline from a bootstrap file: requests per second for distinct
//!   users (200) and for an unchanged user (`If-None-Match`), both servers
//!   pinned to core 0 and the one load generator on core 1
//!   (`frontend_http/side_by_side.rs`). Edge is installed by
//!   `scripts/unleash-edge.sh` into `target/edge`; without it the bench says
//!   Edge was skipped and measures ours alone.
//!
//! Run: `cargo bench -p flags-middleware --bench frontend`
//! (`-- none` skips criterion; `FLAGS_BENCH_NO_HTTP=1` skips HTTP;
//! `FLAGS_BENCH_ROUNDS`, default 5; `FLAGS_BENCH_SECS` per measurement,
//! default 2; `FLAGS_BENCH_CONNS`, default 16).

#[path = "frontend_http/flag_set.rs"]
mod flag_set;
#[path = "frontend_http/load.rs"]
mod load;
#[path = "support/pinned.rs"]
mod pinned;
#[path = "frontend_http/servers.rs"]
mod servers;
#[path = "frontend_http/side_by_side.rs"]
mod side_by_side;

use std::hint::black_box;

use axum::body::Body;
use axum::Router;
use criterion::Criterion;
use flags_middleware::client_api::ClientApiConfig;
use flags_middleware::frontend::FrontendConfig;
use flags_middleware::Flags;
use futures_util::FutureExt;
use http::Request;
use tower::ServiceExt;

/// The frontend token, for both servers: Edge reads a token as
/// `project:environment.secret`, here all projects of `development`.
const TOKEN: &str = "*:development.bench-frontend-token";
const CLIENT: &str = "bench-client-token";

fn flags() -> Flags {
    Flags::from_unleash_json(&flag_set::unleash_json()).expect("bench flags")
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

/// The server half of the HTTP part: our Frontend API on a current-thread
/// runtime (the process is pinned to one core by `taskset`), its port on
/// the first line of stdout.
fn serve_ours() {
    let app = router(&flags());
    pinned::serve_here(|listener| async move {
        axum::serve(listener, app).await.expect("serve");
    });
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if std::env::var_os(servers::SERVE_ENV).is_some() {
        serve_ours();
        return;
    }
    let flags = flags();
    let app = router(&flags);
    let mut c = Criterion::default().configure_from_args();
    criterion_benches(&mut c, &app);
    c.final_summary();
    if std::env::args().any(|a| a == "--profile-time" || a == "--list")
        || std::env::var_os("FLAGS_BENCH_NO_HTTP").is_some()
    {
        return;
    }
    side_by_side::run(&side_by_side::Settings {
        rounds: env_or("FLAGS_BENCH_ROUNDS", 5),
        secs: env_or("FLAGS_BENCH_SECS", 2.0),
        conns: env_or("FLAGS_BENCH_CONNS", 16),
    });
}
