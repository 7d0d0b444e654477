use flags_middleware::feature_gated;

#[feature_gated("new_checkout_flow", fallback = legacy)]
fn handler() -> &'static str {
    "new"
}

async fn legacy() -> &'static str {
    "legacy"
}

fn main() {
    let _ = (handler, legacy);
}
