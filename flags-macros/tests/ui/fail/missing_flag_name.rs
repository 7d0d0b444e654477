use flags_middleware::feature_gated;

#[feature_gated]
async fn handler() -> &'static str {
    "new"
}

fn main() {
    let _ = handler;
}
