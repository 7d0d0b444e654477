//! Hygiene: an argument named like the fallback or a variant function does
//! not hide the function from the generated call.
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::Router;
use flags_middleware::{feature_gated, FlagContext};
use serde::Deserialize;

#[derive(Deserialize)]
struct Params {
    q: String,
}

#[feature_gated("search_v2", fallback = search)]
async fn search_v2(search: Query<Params>) -> String {
    format!("v2 {}", search.q)
}

async fn search(Query(p): Query<Params>) -> String {
    format!("v1 {}", p.q)
}

#[feature_gated("checkout_experiment", variants(blue = blue, green = green), fallback = control)]
async fn checkout(blue: Path<u32>, green: State<u8>, control: String) -> String {
    format!("{} {} {control}", blue.0, green.0)
}

async fn blue(Path(_cart): Path<u32>, State(_s): State<u8>, _body: String) -> &'static str {
    "blue"
}

async fn green(Path(_cart): Path<u32>, State(_s): State<u8>, _body: String) -> &'static str {
    "green"
}

async fn control(Path(_cart): Path<u32>, State(_s): State<u8>, _body: String) -> &'static str {
    "control"
}

/// Service code: the context's own argument named like the fallback.
#[feature_gated("new_pricing", fallback = price_legacy)]
async fn price(price_legacy: &FlagContext, cents: u64) -> u64 {
    let _ = price_legacy;
    cents * 9 / 10
}

async fn price_legacy(_flags: &FlagContext, cents: u64) -> u64 {
    cents
}

async fn quote(flags: FlagContext) -> String {
    price(&flags, 1000).await.to_string()
}

/// Arguments named like the gate's generated bindings are distinct from them.
#[feature_gated("odd_names", fallback = odd_legacy)]
async fn odd(Path(id): Path<u32>, __flags_ctx: State<u8>, __flags_arg0: String) -> String {
    format!("{id} {} {__flags_arg0}", __flags_ctx.0)
}

async fn odd_legacy(Path(_id): Path<u32>, State(_s): State<u8>, _body: String) -> &'static str {
    "legacy"
}

fn main() {
    let _app: Router = Router::new()
        .route("/search", get(search_v2))
        .route("/checkout/{cart}", get(checkout).post(checkout))
        .route("/quote", get(quote))
        .route("/odd/{id}", get(odd))
        .with_state(7u8);
}
