use flags_middleware::{feature_gated, FlagContext};

#[feature_gated("new_pricing", fallback = price_legacy)]
async fn price(flags: &FlagContext, cents: u64) -> u64 {
    let _ = flags;
    cents
}

async fn price_legacy(_flags: &FlagContext, cents: u64) -> String {
    cents.to_string()
}

fn main() {
    let _ = price;
}
