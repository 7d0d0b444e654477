use flags_middleware::feature_gated;

struct Product;

#[feature_gated("new_checkout_flow", fallback = legacy)]
async fn handler() -> Product {
    Product
}

async fn legacy() -> &'static str {
    "legacy"
}

fn main() {
    let _ = handler;
}
