use flags_middleware::feature_gated;

#[feature_gated("checkout_experiment", variants(blue = blue, blue = blue), fallback = control)]
async fn handler() -> &'static str {
    "new"
}

async fn blue() -> &'static str {
    "blue"
}

async fn control() -> &'static str {
    "control"
}

fn main() {
    let _ = (handler, blue, control);
}
