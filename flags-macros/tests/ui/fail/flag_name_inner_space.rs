//! A space inside the name.
use flags_middleware::feature_gated;

#[feature_gated("new checkout", fallback = legacy)]
async fn handler() -> &'static str {
    "new"
}

async fn legacy() -> &'static str {
    "legacy"
}

fn main() {
    let _ = (handler, legacy);
}
