use flags_middleware::feature_gated;

#[feature_gated("new_checkout_flow", fallback = legacy)]
async fn handler(body: String) -> String {
    body
}

fn legacy(body: String) -> String {
    body
}

fn main() {
    let _ = handler;
}
