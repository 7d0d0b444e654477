//! [`ResponseFuture`]: waits for the inner service, then settles the request's
//! flag accounting (session cookie, counters, the closing event).

use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, PoisonError};
use std::task::{ready, Context, Poll};

use http::header::SET_COOKIE;
use http::{HeaderMap, HeaderValue, Response};
use pin_project_lite::pin_project;

use super::events;
use super::request::{arm, Answer, RequestState};

pin_project! {
    /// Response future of [`FlagsService`](super::FlagsService).
    pub struct ResponseFuture<F> {
        #[pin]
        pub(crate) inner: F,
        // Taken when the request is settled, so it is settled once.
        pub(crate) state: Option<Arc<RequestState>>,
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
        let mut this = self.project();
        // A panic in the handler is a failed request: count it as a 500, then
        // let it continue to whoever catches it (a catch-panic layer, or
        // hyper, which closes the connection).
        let polled = catch_unwind(AssertUnwindSafe(|| this.inner.as_mut().poll(cx)));
        let mut result = match polled {
            Ok(poll) => ready!(poll),
            Err(panic) => {
                if let Some(state) = this.state.take() {
                    settle(&state, 500, None);
                }
                resume_unwind(panic)
            }
        };
        if let Some(state) = this.state.take() {
            match &mut result {
                Ok(res) => {
                    let status = res.status().as_u16();
                    settle(&state, status, Some(res.headers_mut()));
                }
                // The service failed outright: no response, so a 5xx.
                Err(_) => settle(&state, 500, None),
            }
        }
        Poll::Ready(result)
    }
}

/// Sets the session cookie, records counters and emits the closing event;
/// does nothing for a request that never asked for a flag.
pub(crate) fn settle(state: &RequestState, status: u16, headers: Option<&mut HeaderMap>) {
    let Some(resolved) = state.resolved.get() else {
        return;
    };
    if let (Some(id), Some(cookie), Some(headers)) =
        (&resolved.new_session, &state.config.session, headers)
    {
        if let Ok(value) = HeaderValue::from_str(&cookie.set_cookie(id)) {
            headers.append(SET_COOKIE, value);
        }
    }
    let memo = state.memo.lock().unwrap_or_else(PoisonError::into_inner);
    if memo.is_empty() {
        return;
    }
    let latency = state.started.elapsed();
    if let Some(metrics) = &state.config.metrics {
        let pairs = memo.iter().filter_map(|m| {
            // Forced answers are test traffic, and unknown flags are typos:
            // neither says anything about how an arm performs.
            let (Answer::Decided(_), Some(id)) = (m.answer, m.id) else {
                return None;
            };
            let name = state.snapshot.name(id)?;
            Some((name, arm(&state.variant(resolved, name, m.id, m.answer))))
        });
        metrics.record_each(pairs, status, latency);
    }
    if let Some(tracker) = &state.config.tracker {
        // Once per request, not per decision: the route and the flags asked.
        let asked = memo.iter().filter_map(|m| state.snapshot.name(m.id?));
        let route = state.route.get().map(|route| route.as_str());
        tracker.usage().record(route, state.started, asked);
    }
    events::request(state, resolved, status, latency, &memo);
}
