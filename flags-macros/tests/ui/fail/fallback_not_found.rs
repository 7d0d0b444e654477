use flags_middleware::feature_gated;

#[feature_gated("new_checkout_flow", fallback = get_product_legacy)]
async fn get_product(id: String) -> String {
    id
}

fn main() {
    let _ = get_product;
}
