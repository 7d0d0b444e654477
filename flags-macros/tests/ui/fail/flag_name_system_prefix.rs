//! A leading `_`: the admin API's system paths (`/_status`) start so.
use flags_middleware::feature_gated;

#[feature_gated("_status", fallback = legacy)]
async fn handler() -> &'static str {
    "new"
}

async fn legacy() -> &'static str {
    "legacy"
}

fn main() {
    let _ = (handler, legacy);
}
