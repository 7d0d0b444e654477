//! The ways of finding the user a [`FlagsLayer`](super::FlagsLayer) is
//! built with; [`resolve`](super::resolve) runs them.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use http::request::Parts;
use http::{HeaderName, HeaderValue};

use crate::Context;

type SyncFn = dyn Fn(&Parts) -> Option<Context> + Send + Sync;
type AsyncFn = dyn Fn(&Parts) -> BoxFuture<'static, Option<Context>> + Send + Sync;

/// One way of finding the user; see the builder methods on
/// [`FlagsLayer`](super::FlagsLayer).
#[derive(Clone)]
pub(crate) enum Resolver {
    Sync(Arc<SyncFn>),
    Async(Arc<AsyncFn>),
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Resolver::Sync(_) => "Resolver::Sync(..)",
            Resolver::Async(_) => "Resolver::Async(..)",
        })
    }
}

impl Resolver {
    /// A value of type `U` in the request extensions, mapped by `f`.
    pub(crate) fn extension<U, F, R>(f: F) -> Resolver
    where
        U: Send + Sync + 'static,
        F: Fn(&U) -> R + Send + Sync + 'static,
        R: Into<Option<Context>>,
    {
        Resolver::Sync(Arc::new(move |parts: &Parts| {
            parts.extensions.get::<U>().and_then(|u| f(u).into())
        }))
    }

    /// The user id is the value of header `name`.
    pub(crate) fn header(name: HeaderName) -> Resolver {
        Resolver::Sync(Arc::new(move |parts: &Parts| {
            // UTF-8, not `to_str`'s visible ASCII: a proxy may pass a name
            // like `jürgen`, and refusing it would make the user anonymous.
            // ASCII trimming: HTTP's whitespace (and cheaper than `trim`'s
            // Unicode table).
            let value = text(parts.headers.get(&name)?)?.trim_ascii();
            (!value.is_empty()).then(|| Context::new().user_id(value))
        }))
    }

    /// The user id is the value of cookie `name`.
    pub(crate) fn cookie(name: String) -> Resolver {
        Resolver::Sync(Arc::new(move |parts: &Parts| {
            let value = cookie(parts, &name)?;
            (!value.is_empty()).then(|| Context::new().user_id(value))
        }))
    }

    /// Any async function of the request parts.
    pub(crate) fn with_fn<F, Fut, R>(f: F) -> Resolver
    where
        F: Fn(&Parts) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: Into<Option<Context>>,
    {
        Resolver::Async(Arc::new(move |parts: &Parts| {
            let fut = f(parts);
            Box::pin(async move { fut.await.into() })
        }))
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(text)
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (k.trim_ascii() == name).then(|| v.trim_ascii().trim_matches('"'))
        })
}

/// A header's value as text, if it is UTF-8.
fn text(value: &HeaderValue) -> Option<&str> {
    std::str::from_utf8(value.as_bytes()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_across_headers() {
        let (p, ()) = http::Request::builder()
            .header("cookie", "a=1; flags_sid=xyz")
            .header("cookie", "b=\"2\"")
            .body(())
            .unwrap()
            .into_parts();
        assert_eq!(cookie(&p, "flags_sid"), Some("xyz"));
        assert_eq!(cookie(&p, "b"), Some("2"));
        assert_eq!(cookie(&p, "c"), None);
    }
}
