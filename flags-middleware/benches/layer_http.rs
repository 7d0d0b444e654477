//! The layer's cost at saturation over real loopback HTTP, side by side with
//! a bare axum router.
//!
//! Each configuration is served by its own process on a current-thread
//! runtime pinned to core 0 (`taskset -c 0`); this process is the load
//! generator, pinned to core 1: 50 keep-alive HTTP/1.1 connections sending
//! `GET /api/v1/products/42` as fast as the server answers, as raw bytes
//! (benches/support/raw_http.rs), so the server, not the load generator,
//! sets the rate (its core is ~99% busy in every configuration). Rounds are
//! interleaved (every configuration once per round) so drift on a shared
//! machine hits all alike; the table shows the median over the rounds of
//! requests per second (and its ratio to bare axum) and of the server's CPU
//! time per request (utime + stime of the server process, from
//! `/proc/<pid>/stat`), and the capacity ratio that follows from it. The
//! layered configurations use `Router::layer`, and the last wraps the whole
//! router (`FlagsLayer::layer(router)`).
//!
//! Run: `cargo bench -p flags-middleware --bench layer_http`
//! (`FLAGS_BENCH_ROUNDS`, default 5; `FLAGS_BENCH_SECS` per measurement,
//! default 2; `FLAGS_BENCH_CONNS`, default 50).

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use flags_middleware::layer::DecisionLog;
use tower::Layer as _;
use tracing::Dispatch;

#[path = "support/pinned.rs"]
mod pinned;
#[path = "support/raw_http.rs"]
mod raw_http;

use raw_http::RawConnection;
#[path = "support/seed.rs"]
mod seed;

use seed::{flags_layer, hard_coded, with_flags};

/// What every connection sends, as bytes: the same user each time.
const REQUEST: &[u8] =
    b"GET /api/v1/products/42 HTTP/1.1\r\nhost: bench\r\nx-user-id: user_123\r\n\r\n";

/// The served configurations: name, and the filter of a JSON subscriber
/// writing to a sink (`None`: no subscriber).
const CONFIGS: &[(&str, Option<&str>)] = &[
    ("bare axum", None),
    ("layer, no subscriber", None),
    ("layer, JSON, flag events filtered", Some("flags=off,info")),
    (
        "layer, JSON events, per request (default)",
        Some("flags=info"),
    ),
    ("layer, JSON events, per decision", Some("flags=info")),
    ("layer around the router, no subscriber", None),
];

/// The configuration served with the layer around the whole router
/// (`FlagsLayer::layer(router)`) rather than through `Router::layer`.
const AROUND_THE_ROUTER: usize = 5;

fn app(config: usize) -> Router {
    if config == 0 {
        return Router::new().route("/api/v1/products/{id}", get(hard_coded));
    }
    let log = if config == 4 {
        DecisionLog::PerDecision
    } else {
        DecisionLog::PerRequest
    };
    Router::new()
        .route("/api/v1/products/{id}", get(with_flags))
        .layer(flags_layer(log))
}

/// The server process: serves configuration `config` on a current-thread
/// runtime and prints its port.
fn serve(config: usize) {
    let (_, filter) = CONFIGS[config];
    let dispatch = match filter {
        Some(filter) => Dispatch::new(
            tracing_subscriber::fmt()
                .json()
                .with_writer(std::io::sink)
                .with_env_filter(filter)
                .finish(),
        ),
        None => Dispatch::none(),
    };
    tracing::dispatcher::set_global_default(dispatch).expect("one subscriber");
    pinned::serve_here(|listener| async move {
        if config == AROUND_THE_ROUTER {
            let routes = Router::new().route("/api/v1/products/{id}", get(with_flags));
            let app = flags_layer(DecisionLog::PerRequest).layer(routes);
            let app = axum::ServiceExt::<axum::extract::Request>::into_make_service(app);
            axum::serve(listener, app).await.expect("serve");
        } else {
            axum::serve(listener, app(config)).await.expect("serve");
        }
    });
}

/// Requests per second from `conns` keep-alive connections for `secs`, the
/// server's CPU microseconds per request, and the share of its core the
/// server used (near 1: saturated).
async fn measure(addr: SocketAddr, pid: u32, conns: usize, secs: f64) -> (f64, f64, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (stop, done) = (Arc::clone(&stop), Arc::clone(&done));
        tasks.push(tokio::spawn(async move {
            let mut conn = RawConnection::connect(addr).await;
            while !stop.load(Ordering::Relaxed) {
                let status = conn.round_trip(REQUEST).await;
                assert_eq!(status, 200);
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // Warm up (connections, allocator, caches), then measure.
    tokio::time::sleep(Duration::from_secs_f64(secs / 4.0)).await;
    let (n0, cpu0, t0) = (
        done.load(Ordering::Relaxed),
        pinned::cpu_seconds(pid),
        Instant::now(),
    );
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    let (n1, cpu1, elapsed) = (
        done.load(Ordering::Relaxed),
        pinned::cpu_seconds(pid),
        t0.elapsed(),
    );
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let n = (n1 - n0).max(1) as f64;
    let busy = (cpu1 - cpu0) / elapsed.as_secs_f64();
    (n / elapsed.as_secs_f64(), (cpu1 - cpu0) * 1e6 / n, busy)
}

/// Starts the server for `config` on core 0; its address.
fn start(config: usize) -> (Child, SocketAddr) {
    pinned::spawn_self("0", ("FLAGS_BENCH_SERVE", &config.to_string()))
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    if let Some(config) = std::env::var_os("FLAGS_BENCH_SERVE") {
        serve(config.to_string_lossy().parse().expect("a configuration"));
        return;
    }
    // `cargo bench` passes `--bench`; a filter or `--list` runs nothing here.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    // The load generator on the other core.
    let pinned = Command::new("taskset")
        .args(["-pc", "1", &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let (rounds, secs, conns) = (
        env_or("FLAGS_BENCH_ROUNDS", 5usize),
        env_or("FLAGS_BENCH_SECS", 2.0f64),
        env_or("FLAGS_BENCH_CONNS", 50usize),
    );
    let mut servers: Vec<(Child, SocketAddr)> = (0..CONFIGS.len()).map(start).collect();
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let mut results = vec![Vec::new(); CONFIGS.len()];
    for round in 0..rounds {
        for (i, (child, addr)) in servers.iter().enumerate() {
            results[i].push(client.block_on(measure(*addr, child.id(), conns, secs)));
        }
        eprintln!("round {} of {rounds} done", round + 1);
    }
    for (child, _) in &mut servers {
        let _ = child.kill();
        let _ = child.wait();
    }
    println!(
        "\nloopback HTTP/1.1, {conns} keep-alive connections, server on core 0 (current-thread \
         runtime), load on core 1{}, median of {rounds} interleaved rounds x {secs} s\n",
        if pinned { "" } else { " (pinning failed)" }
    );
    // Requests/s says what the pair of cores did; when the bare server's
    // core is not saturated (the load generator is the bottleneck), the
    // capacity ratio (bare CPU per request over this one's) says what the
    // server could do with its whole core.
    println!(
        "| configuration | requests/s | vs bare | server CPU/request | capacity vs bare | server core busy |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let base = median(results[0].iter().map(|r| r.0).collect());
    let base_cpu = median(results[0].iter().map(|r| r.1).collect());
    for (i, (name, _)) in CONFIGS.iter().enumerate() {
        let rate = median(results[i].iter().map(|r| r.0).collect());
        let cpu = median(results[i].iter().map(|r| r.1).collect());
        let busy = median(results[i].iter().map(|r| r.2).collect());
        println!(
            "| {name} | {rate:.0} | {:.1}% | {cpu:.2} µs | {:.1}% | {:.0}% |",
            rate / base * 100.0,
            base_cpu / cpu * 100.0,
            busy * 100.0
        );
    }
}
