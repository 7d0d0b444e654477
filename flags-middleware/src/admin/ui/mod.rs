//! The admin web page: one HTML page, a style sheet and a few scripts,
//! compiled into the binary with `include_str!` (no CDN, no build step).
//!
//! It is served at `_ui/` under the admin router, without a token: the
//! files hold no data. The page signs in with an admin token kept in
//! `sessionStorage` and calls the JSON API with `Authorization: Bearer`, so
//! there is no cookie and nothing for a cross-site request to ride on.
//! Every response carries a Content-Security-Policy that allows scripts,
//! styles and requests from this origin only (no inline script, no
//! `eval`), `X-Frame-Options: DENY` and `X-Content-Type-Options: nosniff`.
//!
//! A browser opening the admin root (`GET /` with `Accept: text/html` and
//! no `Authorization`) is redirected to the page.

use axum::extract::{OriginalUri, Path, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use http::{header, HeaderValue, Method, StatusCode};

/// The page's policy: everything from this origin only; no inline script,
/// no inline style attributes, no plugins, no framing, no form posts.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// One embedded file: its name under `_ui/`, its media type, its text.
struct Asset {
    name: &'static str,
    media_type: &'static str,
    body: &'static str,
}

const JS: &str = "text/javascript; charset=utf-8";

/// The file `name` beside this module, served as `media_type` (a script
/// when not said): the name is written once, so it cannot drift from the
/// file embedded.
macro_rules! asset {
    ($name:literal) => {
        asset!($name, JS)
    };
    ($name:literal, $media_type:expr) => {
        Asset {
            name: $name,
            media_type: $media_type,
            body: include_str!($name),
        }
    };
}

/// Every file of the page. `index.html` is also served at `_ui/`.
const ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("app.js"),
    asset!("api.js"),
    asset!("dom.js"),
    asset!("summary.js"),
    asset!("actions.js"),
    asset!("list.js"),
    asset!("flag.js"),
    asset!("chart.js"),
    asset!("audit.js"),
];

/// The page's routes, relative to the admin router: `_ui` (a redirect to
/// `_ui/`), `_ui/` and `_ui/{file}`. No token needed.
pub(super) fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/_ui", get(to_page))
        .route("/_ui/", get(|| async { serve("index.html") }))
        .route(
            "/_ui/{file}",
            get(|Path(file): Path<String>| async move { serve(&file) }),
        )
}

/// The total size of the page's files, uncompressed, in bytes.
#[cfg(test)]
pub(crate) fn total_bytes() -> usize {
    ASSETS.iter().map(|a| a.body.len()).sum()
}

fn serve(name: &str) -> Response {
    let mut resp = match ASSETS.iter().find(|a| a.name == name) {
        Some(asset) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.media_type),
            )],
            asset.body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    };
    protect(resp.headers_mut());
    resp
}

/// The headers every file of the page is served with.
fn protect(headers: &mut http::HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // The files change with the binary; a reload must not mix versions.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
}

/// Where the page is, relative to the path the request came in on (so it
/// holds behind a proxy that strips a prefix, and wherever the admin router
/// is nested): `_ui/` from `/admin/flags/`, `flags/_ui/` from `/admin/flags`.
fn page_location(original: &http::Uri) -> String {
    let path = original.path();
    if path.ends_with('/') {
        return "_ui/".to_owned();
    }
    let last = path.rsplit('/').next().unwrap_or_default();
    if last == "_ui" {
        "_ui/".to_owned()
    } else {
        format!("{last}/_ui/")
    }
}

async fn to_page(OriginalUri(original): OriginalUri) -> Redirect {
    Redirect::to(&page_location(&original))
}

/// Sends a browser that opens the admin root to the page; API clients (a
/// token, or no `text/html` in `Accept`) go on to the JSON API.
pub(super) async fn browser_root(req: Request, next: Next) -> Response {
    let is_root = req.uri().path() == "/" && matches!(*req.method(), Method::GET | Method::HEAD);
    let wants_html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if is_root && wants_html && !req.headers().contains_key(header::AUTHORIZATION) {
        let original = req
            .extensions()
            .get::<OriginalUri>()
            .map_or_else(|| req.uri().clone(), |o| o.0.clone());
        return Redirect::to(&page_location(&original)).into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_found_from_any_mount_point() {
        for (path, page, resolved) in [
            ("/", "_ui/", "/_ui/"),
            ("/admin/flags", "flags/_ui/", "/admin/flags/_ui/"),
            ("/admin/flags/", "_ui/", "/admin/flags/_ui/"),
            ("/admin/flags/_ui", "_ui/", "/admin/flags/_ui/"),
        ] {
            assert_eq!(page_location(&path.parse().unwrap()), page, "{path}");
            // As a browser resolves it: against the path up to its last `/`.
            let base = &path[..=path.rfind('/').unwrap()];
            assert_eq!(format!("{base}{page}"), resolved, "{path}");
        }
    }

    #[test]
    fn the_page_is_small() {
        assert!(total_bytes() <= 100 * 1024, "{} bytes", total_bytes());
    }
}
