use flags_middleware::feature_gated;

#[feature_gated("checkout_experiment", variants(blue = blue))]
async fn handler() -> &'static str {
    "new"
}

async fn blue() -> &'static str {
    "blue"
}

fn main() {
    let _ = (handler, blue);
}
