//! The example: pattern arguments, `State`, and arms returning
//! different `IntoResponse` types.
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use flags_middleware::feature_gated;
use serde::Serialize;

#[derive(Clone)]
struct Db;

#[derive(Serialize)]
struct Product {
    id: String,
}

#[derive(Serialize)]
struct ProductV2 {
    id: String,
    checkout: &'static str,
}

#[feature_gated("new_checkout_flow", fallback = get_product_legacy)]
async fn get_product(Path(id): Path<String>, State(_db): State<Db>) -> Json<ProductV2> {
    Json(ProductV2 { id, checkout: "v2" })
}

async fn get_product_legacy(Path(id): Path<String>, State(_db): State<Db>) -> Json<Product> {
    Json(Product { id })
}

fn main() {
    let _app: Router = Router::new()
        .route("/api/v1/products/{id}", get(get_product))
        .with_state(Db);
}
