//! A `/`, which would make the name two URL path segments.
use flags_middleware::feature_gated;

#[feature_gated("a/b", fallback = legacy)]
async fn handler() -> &'static str {
    "new"
}

async fn legacy() -> &'static str {
    "legacy"
}

fn main() {
    let _ = (handler, legacy);
}
