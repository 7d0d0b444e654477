//! `#[cfg]` on a parameter: the generated handler, the body and the call of
//! each arm leave out the same arguments.
use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use flags_middleware::feature_gated;

#[feature_gated("new_checkout_flow", fallback = legacy)]
async fn handler(
    #[cfg(any())] never: axum::http::HeaderMap,
    Path(id): Path<u32>,
    #[cfg(all())] State(state): State<u32>,
    #[cfg(any())] body: String,
) -> String {
    format!("{id} {state}")
}

async fn legacy(
    #[cfg(any())] _never: axum::http::HeaderMap,
    Path(_id): Path<u32>,
    #[cfg(all())] State(_state): State<u32>,
    #[cfg(any())] _body: String,
) -> &'static str {
    "legacy"
}

fn main() {
    let _app: Router = Router::new().route("/{id}", get(handler)).with_state(7u32);
}
