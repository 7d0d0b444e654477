use flags_middleware::feature_gated;

#[feature_gated("checkout_experiment", variants(disabled = off), fallback = control)]
async fn handler() -> &'static str {
    "new"
}

async fn off() -> &'static str {
    "off"
}

async fn control() -> &'static str {
    "control"
}

fn main() {
    let _ = (handler, off, control);
}
