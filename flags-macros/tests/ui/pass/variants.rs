//! A/B routing: listed variants, the body for "on without a listed
//! variant", the fallback for "off"; quoted variant names.
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use flags_middleware::feature_gated;

#[feature_gated(
    "checkout_experiment",
    variants(blue = checkout_blue, "green-2" = checkout_green),
    fallback = checkout_control,
)]
async fn checkout(body: String) -> &'static str {
    let _ = body;
    "on"
}

async fn checkout_blue(_body: String) -> Html<&'static str> {
    Html("<b>blue</b>")
}

async fn checkout_green(_body: String) -> String {
    "green".to_owned()
}

async fn checkout_control(_body: String) -> &'static str {
    "control"
}

fn main() {
    let _app: Router = Router::new().route("/checkout", get(checkout).post(checkout));
}
