//! CORS for browser apps on another origin: preflights answered before the
//! token is checked (browsers send none with them), `ETag` exposed so the
//! SDK can send `If-None-Match`, and `Vary: Origin` so caches keep one
//! answer per origin.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, VARY,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode};

use super::config::{FrontendConfig, Origins, SDK_HEADERS};

/// The CORS middleware of the Frontend API.
pub(crate) async fn cors(
    State(config): State<Arc<FrontendConfig>>,
    req: Request,
    next: Next,
) -> Response {
    let origin = req.headers().get(ORIGIN).cloned();
    let allowed = origin
        .as_ref()
        .and_then(|o| allow_origin(&config.origins, o));
    let preflight = req.method() == Method::OPTIONS
        && req.headers().contains_key(ACCESS_CONTROL_REQUEST_METHOD);
    let mut res = if preflight {
        let mut res = StatusCode::NO_CONTENT.into_response();
        if allowed.is_some() {
            let h = res.headers_mut();
            h.insert(
                ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST, OPTIONS"),
            );
            let mut names: Vec<&str> = SDK_HEADERS.to_vec();
            names.extend(config.extra_headers.iter().map(String::as_str));
            if let Ok(v) = HeaderValue::from_str(&names.join(", ")) {
                h.insert(ACCESS_CONTROL_ALLOW_HEADERS, v);
            }
            h.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
        }
        res
    } else {
        next.run(req).await
    };
    let h = res.headers_mut();
    h.append(VARY, HeaderValue::from_static("Origin"));
    if let Some(value) = allowed {
        set_origin(h, &config.origins, value);
    }
    res
}

/// The `Access-Control-Allow-Origin` value for `origin`, if it may call.
fn allow_origin(origins: &Origins, origin: &HeaderValue) -> Option<HeaderValue> {
    match origins {
        Origins::Any => Some(HeaderValue::from_static("*")),
        Origins::List(list) => {
            let o = origin.to_str().ok()?;
            list.iter()
                .any(|allowed| allowed.trim_end_matches('/') == o)
                .then(|| origin.clone())
        }
    }
}

fn set_origin(h: &mut HeaderMap, origins: &Origins, value: HeaderValue) {
    h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, value);
    h.insert(
        ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("ETag"),
    );
    if matches!(origins, Origins::List(_)) {
        h.insert(
            ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
}
