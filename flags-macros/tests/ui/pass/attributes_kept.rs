//! Doc comments, visibility and lint attributes survive: the handler is used
//! from another module, and `deny(warnings)` sees no warning in the expansion.
#![deny(warnings, missing_docs)]
//! Crate docs.

mod handlers {
    use flags_middleware::feature_gated;

    /// The new search.
    #[feature_gated("beta_search", fallback = search_legacy)]
    #[allow(clippy::unused_async)]
    pub(crate) async fn search(query: String) -> String {
        query
    }

    async fn search_legacy(_query: String) -> &'static str {
        "legacy"
    }
}

fn main() {
    let _app: axum::Router = axum::Router::new().route("/search", axum::routing::post(handlers::search));
}
