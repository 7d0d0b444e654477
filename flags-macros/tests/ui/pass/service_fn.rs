//! Service code below the handler: the function's own `FlagContext` (by
//! reference or by value) decides, and the signature is kept.
use axum::routing::get;
use axum::Router;
use flags_middleware::{feature_gated, FlagContext};

#[feature_gated("new_pricing", fallback = price_legacy)]
async fn price(flags: &FlagContext, cents: u64) -> u64 {
    let _ = flags;
    cents * 9 / 10
}

async fn price_legacy(_flags: &FlagContext, cents: u64) -> u64 {
    cents
}

#[feature_gated("new_receipts", fallback = receipt_legacy)]
async fn receipt(total: u64, flags: flags_middleware::FlagContext) -> Result<String, String> {
    let _ = flags;
    Ok(format!("total {total}"))
}

async fn receipt_legacy(total: u64, _flags: FlagContext) -> Result<String, String> {
    Err(format!("no receipt for {total}"))
}

async fn handler(flags: FlagContext) -> String {
    let cents = price(&flags, 1000).await;
    receipt(cents, flags).await.unwrap_or_else(|e| e)
}

fn main() {
    let _app: Router = Router::new().route("/price", get(handler));
}
