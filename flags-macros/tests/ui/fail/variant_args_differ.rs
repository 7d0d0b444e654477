use flags_middleware::feature_gated;

#[feature_gated("checkout_experiment", variants(blue = blue), fallback = control)]
async fn handler(body: String) -> String {
    body
}

async fn blue(body: Vec<u8>) -> Vec<u8> {
    body
}

async fn control(body: String) -> String {
    body
}

fn main() {
    let _ = handler;
}
