use flags_middleware::feature_gated;

#[feature_gated("new_checkout_flow")]
async fn handler() -> &'static str {
    "new"
}

fn main() {
    let _ = handler;
}
