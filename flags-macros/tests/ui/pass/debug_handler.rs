//! axum-macros' `#[debug_handler]` below the gate checks the generated handler.
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{debug_handler, Router};
use flags_middleware::feature_gated;

#[feature_gated("new_checkout_flow", fallback = legacy)]
#[debug_handler]
async fn handler(Path(id): Path<u32>, State(state): State<u32>) -> String {
    format!("{id} {state}")
}

async fn legacy(Path(_id): Path<u32>, State(_state): State<u32>) -> &'static str {
    "legacy"
}

fn main() {
    let _app: Router = Router::new().route("/{id}", get(handler)).with_state(7u32);
}
