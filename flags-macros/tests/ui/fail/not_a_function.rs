use flags_middleware::feature_gated;

#[feature_gated("new_checkout_flow", fallback = legacy)]
struct Handler;

async fn legacy() {}

fn main() {
    let _ = (Handler, legacy);
}
