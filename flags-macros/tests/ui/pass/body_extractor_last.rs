//! A body extractor stays last, after the gate's `FlagContext`; `post` and a
//! fallback in another module.
use axum::extract::Path;
use axum::routing::post;
use axum::{Json, Router};
use flags_middleware::feature_gated;
use serde::Deserialize;

#[derive(Deserialize)]
struct Order {
    items: Vec<String>,
}

#[feature_gated("new_checkout_flow", fallback = legacy::place_order)]
async fn place_order(Path(cart): Path<u64>, Json(order): Json<Order>) -> String {
    format!("cart {cart}: {} items", order.items.len())
}

mod legacy {
    use super::Order;
    use axum::extract::Path;
    use axum::http::StatusCode;
    use axum::Json;

    pub(crate) async fn place_order(Path(_cart): Path<u64>, Json(_order): Json<Order>) -> StatusCode {
        StatusCode::ACCEPTED
    }
}

fn main() {
    let _app: Router = Router::new().route("/carts/{cart}/order", post(place_order));
}
