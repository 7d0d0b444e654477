//! A flag name in any script, with symbols such as emoji, is legal: the
//! macro accepts what a flag file can define.
use axum::routing::get;
use axum::Router;
use flags_middleware::feature_gated;

#[feature_gated("Feature.UTF-8.Hellø_Wørld_😊_φίλος_你好", fallback = legacy)]
async fn handler() -> &'static str {
    "new"
}

async fn legacy() -> &'static str {
    "legacy"
}

fn main() {
    let _: Router = Router::new().route("/", get(handler));
}
