use axum::debug_handler;
use axum::extract::Path;
use flags_middleware::feature_gated;

#[debug_handler]
#[feature_gated("new_checkout_flow", fallback = legacy)]
async fn handler(Path(id): Path<u32>) -> String {
    id.to_string()
}

async fn legacy(Path(_id): Path<u32>) -> &'static str {
    "legacy"
}

fn main() {
    let _: axum::Router = axum::Router::new().route("/{id}", axum::routing::get(handler));
}
