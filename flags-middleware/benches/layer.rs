//! What the layer costs a request.
//!
//! In one run, over `tower::ServiceExt::oneshot`:
//! - `baseline`: a router without the layer, handler with 3 hard-coded branches;
//! - `layer/no_flags_asked`: the layer, a handler that asks no flag;
//! - `layer/events_filtered`: the layer, a handler asking 3 flags, with a JSON
//!   subscriber whose filter turns the `flags` events off;
//! - `layer/events_json`: the same with the request event (every decision
//!   on it, the default) written as JSON to `io::sink()`;
//! - `layer/events_json_per_decision`: the same with an event per decision;
//! - `wrapped/*`: the layer around the whole router (`layer.layer(router)`)
//!   instead of each route, which spares axum's re-boxing of the route;
//!   `wrapped/3_flags_peer_address` with the peer's address in the request
//!   (`ConnectInfo`, as `into_make_service_with_connect_info` serves it);
//! - `baseline/noop_layer`: a router with a layer that does nothing, the
//!   floor of any layer added with `Router::layer`.
//!
//! Then a summary with the added nanoseconds and ratios. The same over
//! loopback HTTP at saturation is the `layer_http` bench; instruction
//! counts per request (deterministic) come from
//! `scripts/callgrind-layer.sh`, which runs this bench's cases under
//! callgrind.
//!
//! Run: `cargo bench -p flags-middleware --bench layer`.

use std::hint::black_box;
use std::time::Instant;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::routing::get;
use axum::Router;
use criterion::Criterion;
use flags_middleware::layer::DecisionLog;
use flags_middleware::layer::FlagsService;
use futures_util::FutureExt;
use http::Request;
use tower::Layer;
use tower::ServiceExt;
use tracing::Dispatch;

#[path = "support/seed.rs"]
mod seed;

use seed::{flags_layer, hard_coded, with_flags};

async fn no_flags() -> &'static str {
    black_box("none")
}

fn flags_router() -> Router {
    flags_router_logging(DecisionLog::default())
}

fn flags_router_logging(log: DecisionLog) -> Router {
    routes().layer(flags_layer(log))
}

/// The flags router's routes, without the layer.
fn routes() -> Router {
    Router::new()
        .route("/api/v1/products/{id}", get(with_flags))
        .route("/static/{id}", get(no_flags))
}

/// The layer around the whole router (`FlagsLayer::layer(router)`) rather
/// than around each route (`Router::layer`): axum then does not re-box
/// every route's service and future.
fn wrapped_router() -> FlagsService<Router> {
    flags_layer(DecisionLog::default()).layer(routes())
}

fn baseline_router() -> Router {
    // The same routes as `flags_router`, so routing costs alike.
    Router::new()
        .route("/api/v1/products/{id}", get(hard_coded))
        .route("/static/{id}", get(no_flags))
}

fn noop_layer_router() -> Router {
    baseline_router().layer(tower::layer::util::Identity::new())
}

fn request(path: &str) -> Request<Body> {
    let mut req = Request::builder()
        .uri(path)
        .header("x-user-id", "user_123")
        .body(Body::empty())
        .expect("request");
    // `into_make_service_with_connect_info` gives every request its peer:
    // the layer reads it as the caller's remote address.
    if path.ends_with(PEER) {
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([203, 0, 113, 9], 40_000))));
    }
    req
}

/// A query that marks a request sent with its peer's address.
const PEER: &str = "?peer";

/// What a case sends requests to.
#[derive(Clone)]
enum App {
    /// A router, with or without layers of its own.
    Router(Router),
    /// A router wrapped in the flags layer as a whole, outside its routes.
    Wrapped(FlagsService<Router>),
}

/// One request through `app`. The routers here answer without waiting, so
/// one poll finishes the future and no executor is measured.
fn once(app: &App, path: &str) {
    let res = match app {
        App::Router(r) => r.clone().oneshot(request(path)).now_or_never(),
        App::Wrapped(s) => s.clone().oneshot(request(path)).now_or_never(),
    };
    black_box(res.expect("answered in one poll").expect("infallible"));
}

fn json_subscriber(filter: &str) -> Dispatch {
    Dispatch::new(
        tracing_subscriber::fmt()
            .json()
            .with_writer(std::io::sink)
            .with_env_filter(filter)
            .finish(),
    )
}

struct Case {
    name: &'static str,
    app: App,
    path: &'static str,
    /// The subscriber's filter, or `None` for no subscriber. Each case makes
    /// its own subscriber when it runs and drops it after, so (as in an app
    /// with one global subscriber) callsites see only that subscriber's
    /// interest.
    filter: Option<&'static str>,
}

impl Case {
    fn run<T>(&self, f: impl FnOnce() -> T) -> T {
        match self.filter {
            Some(filter) => tracing::dispatcher::with_default(&json_subscriber(filter), f),
            None => tracing::dispatcher::with_default(&Dispatch::none(), f),
        }
    }
}

fn cases() -> Vec<Case> {
    const PRODUCTS: &str = "/api/v1/products/42";
    const STATIC: &str = "/static/42";
    const FILTERED: Option<&str> = Some("flags=off,info");
    const JSON: Option<&str> = Some("flags=info");
    let case = |name, app, path, filter| Case {
        name,
        app,
        path,
        filter,
    };
    let router = App::Router;
    vec![
        case("baseline", router(baseline_router()), PRODUCTS, None),
        case("baseline/static", router(baseline_router()), STATIC, None),
        // What `Router::layer` costs with any layer at all: axum boxes the
        // layered route's service and future again.
        case(
            "baseline/noop_layer",
            router(noop_layer_router()),
            PRODUCTS,
            None,
        ),
        case("layer/no_flags_asked", router(flags_router()), STATIC, None),
        case("layer/3_flags", router(flags_router()), PRODUCTS, None),
        case(
            "wrapped/3_flags_peer_address",
            App::Wrapped(wrapped_router()),
            "/api/v1/products/42?peer",
            None,
        ),
        case(
            "wrapped/no_flags_asked",
            App::Wrapped(wrapped_router()),
            STATIC,
            None,
        ),
        case(
            "wrapped/3_flags",
            App::Wrapped(wrapped_router()),
            PRODUCTS,
            None,
        ),
        case(
            "baseline/json_filtered",
            router(baseline_router()),
            PRODUCTS,
            FILTERED,
        ),
        case(
            "layer/events_filtered",
            router(flags_router()),
            PRODUCTS,
            FILTERED,
        ),
        case("layer/events_json", router(flags_router()), PRODUCTS, JSON),
        case(
            "layer/events_json_per_decision",
            router(flags_router_logging(DecisionLog::PerDecision)),
            PRODUCTS,
            JSON,
        ),
    ]
}

fn criterion_benches(c: &mut Criterion, cases: &[Case]) {
    let mut group = c.benchmark_group("oneshot");
    for case in cases {
        case.run(|| {
            group.bench_function(case.name, |b| b.iter(|| once(&case.app, case.path)));
        });
    }
    group.finish();
}

/// Median of several timed batches, in ns per request.
fn measure(case: &Case) -> f64 {
    case.run(|| {
        let batch = 20_000;
        let mut samples: Vec<f64> = (0..15)
            .map(|_| {
                let start = Instant::now();
                for _ in 0..batch {
                    once(&case.app, case.path);
                }
                start.elapsed().as_nanos() as f64 / f64::from(batch)
            })
            .collect();
        samples.sort_by(f64::total_cmp);
        samples[samples.len() / 2]
    })
}

fn summary(cases: &[Case]) {
    // Interleave the cases so machine noise hits them alike.
    let mut totals = vec![Vec::new(); cases.len()];
    for _ in 0..3 {
        for (i, case) in cases.iter().enumerate() {
            totals[i].push(measure(case));
        }
    }
    let medians: Vec<f64> = totals
        .into_iter()
        .map(|mut v| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        })
        .collect();
    let base = medians[0];
    println!("\nsummary (median ns per request over oneshot)");
    for (case, ns) in cases.iter().zip(&medians) {
        println!(
            "  {:<24} {:>8.0} ns   added {:>6.0} ns   ratio {:.2}",
            case.name,
            ns,
            ns - base,
            ns / base
        );
    }
}

fn main() {
    let cases = cases();
    // `FLAGS_BENCH_LIST=1`: print the case names (scripts/callgrind-layer.sh).
    if std::env::var_os("FLAGS_BENCH_LIST").is_some() {
        cases.iter().for_each(|c| println!("{}", c.name));
        return;
    }
    // `FLAGS_BENCH_COUNT=<case>:<n>`: run one case n times and exit, for an
    // instruction counter (`valgrind --tool=callgrind`), which a loaded
    // machine cannot disturb; the difference between two values of n gives
    // instructions per request.
    if let Some(spec) = std::env::var_os("FLAGS_BENCH_COUNT") {
        let spec = spec.to_string_lossy().into_owned();
        let (name, n) = spec.rsplit_once(':').expect("FLAGS_BENCH_COUNT=<case>:<n>");
        let n: u32 = n.parse().expect("a count");
        let case = cases.iter().find(|c| c.name == name).expect("a case name");
        case.run(|| (0..n).for_each(|_| once(&case.app, case.path)));
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    criterion_benches(&mut c, &cases);
    c.final_summary();
    // `--profile-time` runs are for a profiler: just the chosen bench.
    if std::env::args().any(|a| a == "--profile-time") {
        return;
    }
    summary(&cases);
}
