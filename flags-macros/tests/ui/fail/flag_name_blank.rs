//! A blank name: no flag file can define it, so the gate would stay off.
use flags_middleware::feature_gated;

#[feature_gated("   ", fallback = legacy)]
async fn handler() -> &'static str {
    "new"
}

async fn legacy() -> &'static str {
    "legacy"
}

fn main() {
    let _ = (handler, legacy);
}
