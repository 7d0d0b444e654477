use flags_middleware::feature_gated;

struct Catalog;

impl Catalog {
    const NAME: &'static str = "catalog";

    #[feature_gated("new_catalog", fallback = legacy)]
    async fn handler() -> &'static str {
        Self::NAME
    }
}

async fn legacy() -> &'static str {
    "legacy"
}

fn main() {
    let _ = Catalog::handler;
}
