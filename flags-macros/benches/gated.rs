//! `#[feature_gated]` against the `if` one would write by hand, in one run.
//!
//! Both handlers sit behind the same `FlagsLayer` on the same router and are
//! called with `tower::ServiceExt::oneshot`, for a flag that is on for
//! everyone, off for everyone, and rolled out to 20% of 1,000 users. Criterion
//! measures each; then (under `cargo bench`) interleaved rounds of both give a
//! paired ratio, which is steadier than comparing two separate measurements
//! on a busy machine:
//!
//! ```text
//! cargo bench -p flags-macros --bench gated
//! ```

use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use criterion::Criterion;
use flags_middleware::{feature_gated, FlagContext, Flags, FlagsLayer};
use serde::Serialize;
use tower::ServiceExt;

#[derive(Clone)]
struct Db;

#[derive(Serialize)]
struct Product {
    id: String,
    checkout: &'static str,
}

#[derive(Serialize)]
struct ProductV2 {
    id: String,
    checkout: &'static str,
    version: u32,
}

#[feature_gated("new_checkout_flow", fallback = get_product_legacy)]
async fn gated(Path(id): Path<String>, State(_db): State<Db>) -> Json<ProductV2> {
    Json(ProductV2 {
        id,
        checkout: "new",
        version: 2,
    })
}

async fn get_product_legacy(Path(id): Path<String>, State(_db): State<Db>) -> Json<Product> {
    Json(Product {
        id,
        checkout: "legacy",
    })
}

/// The same routing written by hand.
async fn handwritten(flags: FlagContext, Path(id): Path<String>, State(db): State<Db>) -> Response {
    if flags.is_enabled("new_checkout_flow") {
        Json(ProductV2 {
            id,
            checkout: "new",
            version: 2,
        })
        .into_response()
    } else {
        get_product_legacy(Path(id), State(db))
            .await
            .into_response()
    }
}

fn app(rollout: u32) -> Router {
    let flags = Flags::from_unleash_json(&format!(
        r#"{{"features": [{{"name": "new_checkout_flow", "enabled": true, "strategies": [
            {{"name": "flexibleRollout", "parameters":
              {{"rollout": "{rollout}", "stickiness": "default", "groupId": "new_checkout_flow"}}}}]}}]}}"#
    ))
    .expect("bench flags load");
    Router::new()
        .route("/gated/{id}", get(gated))
        .route("/handwritten/{id}", get(handwritten))
        .with_state(Db)
        .layer(
            FlagsLayer::new(flags)
                .user_header("x-user-id")
                .expect("valid header name"),
        )
}

struct Load {
    app: Router,
    users: Vec<HeaderValue>,
}

impl Load {
    fn new(rollout: u32) -> Load {
        Load {
            app: app(rollout),
            users: (0..1_000)
                .map(|i| HeaderValue::from_str(&format!("user-{i}")).expect("ascii"))
                .collect(),
        }
    }

    /// One request to `route` as the `n`th user (cycling), body read to the end.
    async fn call(&self, uri: &'static str, n: usize) -> Bytes {
        let req = Request::builder()
            .uri(uri)
            .header("x-user-id", self.users[n % self.users.len()].clone())
            .body(Body::empty())
            .expect("valid request");
        let res = self.app.clone().oneshot(req).await.expect("infallible");
        axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .expect("small body")
    }

    /// Interleaved rounds (the order alternating) of `per_round` requests to
    /// each route; the median of gated / hand-written time per round.
    fn paired_ratio(&self, rt: &tokio::runtime::Runtime, rounds: usize, per_round: usize) -> f64 {
        let time = |uri: &'static str| {
            let start = Instant::now();
            rt.block_on(async {
                for n in 0..per_round {
                    std::hint::black_box(self.call(uri, n).await);
                }
            });
            start.elapsed()
        };
        let mut ratios: Vec<f64> = (0..rounds)
            .map(|round| {
                let (g, h): (Duration, Duration) = if round % 2 == 0 {
                    let g = time(GATED);
                    (g, time(HANDWRITTEN))
                } else {
                    let h = time(HANDWRITTEN);
                    (time(GATED), h)
                };
                g.as_secs_f64() / h.as_secs_f64()
            })
            .collect();
        ratios.sort_by(f64::total_cmp);
        ratios[ratios.len() / 2]
    }
}

const GATED: &str = "/gated/p-7";
const HANDWRITTEN: &str = "/handwritten/p-7";

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and
    // then criterion runs each routine once and the paired rounds are skipped.
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let mut ratios = Vec::new();

    for (case, rollout) in [("on", 100), ("off", 0), ("rollout_20", 20)] {
        let load = Load::new(rollout);
        // Both routes must do the same work for the comparison to mean anything.
        rt.block_on(async {
            for n in 0..200 {
                assert_eq!(load.call(GATED, n).await, load.call(HANDWRITTEN, n).await);
            }
        });
        let mut group = criterion.benchmark_group(format!("gated_vs_handwritten/{case}"));
        for (name, uri) in [("gated", GATED), ("handwritten", HANDWRITTEN)] {
            group.bench_function(name, |b| {
                let mut n = 0usize;
                b.to_async(&rt).iter(|| {
                    n += 1;
                    load.call(uri, n)
                });
            });
        }
        group.finish();
        if measuring {
            ratios.push((case, load.paired_ratio(&rt, 31, 2_000)));
        }
    }

    criterion.final_summary();
    for (case, ratio) in ratios {
        println!("gated / hand-written, flag {case}: {ratio:.3} (median of 31 interleaved rounds of 2,000 requests)");
    }
}
