//! Associated functions (no `self`): `Self::` fallbacks, a chain inside the
//! impl, and an argument named like a free fallback.
use axum::extract::{Path, Query};
use axum::routing::get;
use axum::Router;
use flags_middleware::feature_gated;
use serde::Deserialize;

#[derive(Deserialize)]
struct Params {
    q: String,
}

struct Search;

impl Search {
    #[feature_gated("search_v3", fallback = Self::v2)]
    async fn v3(Path(shop): Path<u32>, Query(p): Query<Params>) -> String {
        format!("v3 {shop} {}", p.q)
    }

    #[feature_gated("search_v2", fallback = legacy)]
    async fn v2(Path(shop): Path<u32>, legacy: Query<Params>) -> String {
        format!("v2 {shop} {}", legacy.q)
    }
}

async fn legacy(Path(_shop): Path<u32>, Query(_p): Query<Params>) -> &'static str {
    "v1"
}

fn main() {
    let _app: Router = Router::new().route("/shops/{shop}/search", get(Search::v3));
}
