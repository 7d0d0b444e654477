//! Gates chain: a fallback or variant function that is itself
//! `#[feature_gated]` gets the request's context from the gate above it, so
//! each handler keeps the signature its user wrote.
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use flags_middleware::feature_gated;
use serde::Deserialize;

#[derive(Clone)]
struct Db;

#[derive(Deserialize)]
struct Params {
    q: String,
}

#[feature_gated("search_v3", fallback = search_v2)]
async fn search_v3(Path(shop): Path<u32>, Query(p): Query<Params>, State(_db): State<Db>) -> String {
    format!("v3 {shop} {}", p.q)
}

#[feature_gated("search_v2", fallback = search_v1)]
async fn search_v2(Path(shop): Path<u32>, Query(p): Query<Params>, State(_db): State<Db>) -> Json<String> {
    Json(format!("v2 {shop} {}", p.q))
}

async fn search_v1(Path(_shop): Path<u32>, Query(_p): Query<Params>, State(_db): State<Db>) -> &'static str {
    "v1"
}

/// A gated variant arm, and a gated fallback, in one A/B gate.
#[feature_gated("checkout_experiment", variants(blue = checkout_blue), fallback = checkout_control)]
async fn checkout(Path(cart): Path<u32>) -> String {
    format!("unlisted {cart}")
}

#[feature_gated("blue_v2", fallback = checkout_blue_v1)]
async fn checkout_blue(Path(cart): Path<u32>) -> String {
    format!("blue v2 {cart}")
}

async fn checkout_blue_v1(Path(_cart): Path<u32>) -> &'static str {
    "blue v1"
}

#[feature_gated("control_v2", fallback = checkout_blue_v1)]
async fn checkout_control(Path(cart): Path<u32>) -> String {
    format!("control v2 {cart}")
}

fn main() {
    let _app: Router = Router::new()
        .route("/shops/{shop}/search", get(search_v3))
        .route("/legacy/shops/{shop}/search", get(search_v2))
        .with_state(Db)
        .route("/checkout/{cart}", get(checkout));
}
