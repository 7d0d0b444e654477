use flags_middleware::feature_gated;

#[feature_gated("new_search", fallback = legacy)]
#[feature_gated("newer_search", fallback = legacy)]
async fn handler(body: String) -> String {
    body
}

async fn legacy(_body: String) -> &'static str {
    "legacy"
}

fn main() {
    let _app: axum::Router = axum::Router::new().route("/", axum::routing::post(handler));
}
