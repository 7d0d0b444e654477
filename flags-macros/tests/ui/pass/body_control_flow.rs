//! The body keeps its meaning: `?`, early `return`, `mut` and ignored
//! arguments, `impl IntoResponse`, no return type at all.
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use flags_middleware::feature_gated;

#[feature_gated("strict_parse", fallback = parse_legacy)]
async fn parse(mut body: String, ) -> Result<String, StatusCode> {
    body.push('!');
    if body.len() > 100 {
        return Err(StatusCode::PAYLOAD_TOO_LARGE);
    }
    let n: u32 = body.trim_end_matches('!').parse().map_err(|_| StatusCode::BAD_REQUEST)?;
    Ok(n.to_string())
}

async fn parse_legacy(body: String) -> impl IntoResponse {
    body
}

#[feature_gated("ping_v2", fallback = ping_legacy)]
async fn ping(_: axum::http::HeaderMap) -> impl IntoResponse {
    (StatusCode::OK, "pong")
}

async fn ping_legacy(_: axum::http::HeaderMap) {}

#[feature_gated("noop", fallback = nothing_legacy)]
async fn nothing() {}

async fn nothing_legacy() {}

fn main() {
    let _app: Router = Router::new()
        .route("/parse", post(parse))
        .route("/ping", get(ping))
        .route("/nothing", get(nothing));
}
