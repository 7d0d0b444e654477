use axum::extract::{Path, State};
use flags_middleware::feature_gated;

#[derive(Clone)]
struct Db;

#[feature_gated("new_checkout_flow", fallback = get_product_v2)]
async fn get_product_v3(Path(id): Path<String>, State(_db): State<Db>) -> String {
    id
}

/// A gated fallback takes the same arguments as the gate above it, too.
#[feature_gated("checkout_v2", fallback = get_product_v1)]
async fn get_product_v2(Path(id): Path<u64>, State(_db): State<Db>) -> String {
    id.to_string()
}

async fn get_product_v1(Path(id): Path<u64>, State(_db): State<Db>) -> String {
    id.to_string()
}

fn main() {
    let _ = get_product_v3;
}
