use axum::extract::{Path, State};
use flags_middleware::feature_gated;

#[derive(Clone)]
struct Db;

#[feature_gated("new_checkout_flow", fallback = get_product_legacy)]
async fn get_product(Path(id): Path<String>, State(_db): State<Db>) -> String {
    id
}

async fn get_product_legacy(Path(id): Path<String>) -> String {
    id
}

fn main() {
    let _ = get_product;
}
