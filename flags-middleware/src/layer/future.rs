//! [`ResponseFuture`]: polls the inner service with the request's flags in
//! reach of its extractors, then settles the request's flag accounting
//! (session cookie, counters, the closing event).

use std::future::Future;
use std::mem;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use super::counting;
use super::events;
use super::request::RequestState;
use super::slot::{self, Slot};
use crate::metrics::CANCELLED;
use http::header::SET_COOKIE;
use http::{HeaderMap, HeaderValue, Response};
use pin_project_lite::pin_project;

pin_project! {
    /// Response future of [`FlagsService`](super::FlagsService).
    ///
    /// ```
    /// use axum::{body::Body, http::Request, routing::get, Router};
    /// use flags_middleware::{layer::ResponseFuture, FlagContext, Flags, FlagsLayer};
    /// use tower::{Layer as _, Service as _, ServiceExt};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
    /// let handler = |f: FlagContext| async move { f.is_enabled("new_checkout_flow").to_string() };
    /// let mut service = FlagsLayer::new(flags.clone()).layer(Router::new().route("/", get(handler)));
    /// let request = Request::get("/").body(Body::empty()).unwrap();
    /// let ready = ServiceExt::<Request<Body>>::ready(&mut service).await.unwrap();
    /// let future: ResponseFuture<_> = ready.call(request);
    /// assert!(flags.metrics().snapshot().flags.is_empty(), "not counted until it answers");
    /// let response = future.await.unwrap();
    /// assert!(response.headers()["set-cookie"].to_str().unwrap().starts_with("flags_sid="));
    /// assert_eq!(flags.metrics().snapshot().arm("new_checkout_flow", "on").unwrap().requests, 1);
    /// # }
    /// ```
    pub struct ResponseFuture<F> {
        #[pin]
        pub(crate) inner: F,
        // The request's flags; emptied when the request is settled, so it
        // is settled once.
        pub(crate) slot: Slot,
        // When the request entered the layer, if anything reads latency.
        pub(crate) started: Option<Instant>,
    }

    impl<F> PinnedDrop for ResponseFuture<F> {
        // Dropped before it answered (the client went away, or a timeout
        // layer outside this one gave up): the request still counts, as
        // `CANCELLED`, so an arm that hangs shows in its counters, its
        // latency and the guard's error rate rather than vanishing.
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            // Looked at before it is taken: nearly every future ends here
            // settled (`Empty`) or never asked (`Ready`), with nothing to do.
            if matches!(this.slot, Slot::Live(_)) {
                if let Slot::Live(state) = mem::take(this.slot) {
                    settle(&state, *this.started, CANCELLED, None);
                }
            }
        }
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut inner = this.inner;
        // A panic in the handler is a failed request: count it as a 500, then
        // let it continue to whoever catches it (a catch-panic layer, or
        // hyper, which closes the connection).
        let polled = slot::enter(this.slot, || {
            catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx)))
        });
        let mut result = match polled {
            Ok(poll) => ready!(poll),
            Err(panic) => {
                if let Slot::Live(state) = mem::take(this.slot) {
                    settle(&state, *this.started, 500, None);
                }
                resume_unwind(panic)
            }
        };
        // Unasked (`Ready`): nothing to settle.
        if let Slot::Live(state) = mem::take(this.slot) {
            match &mut result {
                Ok(res) => {
                    let status = res.status().as_u16();
                    settle(&state, *this.started, status, Some(res.headers_mut()));
                }
                // The service failed outright: no response, so a 5xx.
                Err(_) => settle(&state, *this.started, 500, None),
            }
        }
        Poll::Ready(result)
    }
}

/// Sets the session cookie, records counters and emits the closing event,
/// for a request that asked for its flags.
pub(crate) fn settle(
    state: &RequestState,
    started: Option<Instant>,
    status: u16,
    headers: Option<&mut HeaderMap>,
) {
    let resolved = &state.resolved;
    if let (Some(id), Some(cookie), Some(headers)) =
        (&resolved.new_session, &state.config.session, headers)
    {
        // A layer inside this one (or the app) set it already: one id for
        // the browser to keep, not two of the same name.
        if !sets_cookie(headers, &cookie.name) {
            if let Ok(value) = HeaderValue::from_str(&cookie.set_cookie(id)) {
                headers.append(SET_COOKIE, value);
            }
        }
    }
    let memo = state.memo.read();
    if memo.is_empty() {
        return;
    }
    let latency = started.map_or(Duration::ZERO, |t| t.elapsed());
    counting::record(state, &memo, status, latency, started);
    events::request(state, status, latency, &memo);
}

/// Whether `headers` already set cookie `name`.
fn sets_cookie(headers: &HeaderMap, name: &str) -> bool {
    headers.get_all(SET_COOKIE).iter().any(|v| {
        let v = v.as_bytes();
        v.len() > name.len() && v.starts_with(name.as_bytes()) && v[name.len()] == b'='
    })
}
