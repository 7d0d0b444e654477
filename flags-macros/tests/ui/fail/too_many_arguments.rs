use flags_middleware::feature_gated;
use axum::http::{HeaderMap, Method, Uri, Version};

#[feature_gated("new_checkout_flow", fallback = legacy)]
async fn handler(
    _a: HeaderMap, _b: Method, _c: Uri, _d: Version,
    _e: HeaderMap, _f: Method, _g: Uri, _h: Version,
    _i: HeaderMap, _j: Method, _k: Uri, _l: Version,
    _m: HeaderMap, _n: Method, _o: Uri, _p: String,
) {}

#[allow(clippy::too_many_arguments)]
async fn legacy(
    _a: HeaderMap, _b: Method, _c: Uri, _d: Version,
    _e: HeaderMap, _f: Method, _g: Uri, _h: Version,
    _i: HeaderMap, _j: Method, _k: Uri, _l: Version,
    _m: HeaderMap, _n: Method, _o: Uri, _p: String,
) {}

fn main() {
    let _ = (handler, legacy);
}
