use flags_middleware::{feature_gated, FlagContext};

#[feature_gated("new_pricing", fallback = price_legacy)]
async fn price(a: &FlagContext, b: &FlagContext) -> u64 {
    let _ = (a, b);
    1
}

async fn price_legacy(_a: &FlagContext, _b: &FlagContext) -> u64 {
    0
}

fn main() {
    let _ = (price, price_legacy);
}
