//! [`FlagsService`]: the middleware the layer wraps around a service.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{Request, Response};
use tower_service::Service;

use super::config::Config;
use super::future::ResponseFuture;
use super::slot::Slot;
use crate::Flags;

/// Pins the current flag snapshot for each request and makes it available to
/// [`FlagContext`](crate::FlagContext); built by
/// [`FlagsLayer`](super::FlagsLayer).
#[derive(Debug, Clone)]
pub struct FlagsService<S> {
    pub(crate) inner: S,
    pub(crate) flags: Flags,
    pub(crate) config: Arc<Config>,
}

impl<S> FlagsService<S> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for FlagsService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        // Only pinning happens here (an `Arc` clone); resolving the user and
        // evaluating wait until a handler asks, and nothing is allocated.
        // Extractors run in the inner future, which the response future
        // polls with the slot in place (axum does nothing in `call`).
        ResponseFuture {
            inner: self.inner.call(req),
            slot: Slot::Pinned {
                snapshot: self.flags.snapshot(),
                config: Arc::clone(&self.config),
            },
            started: self.config.needs_clock().then(Instant::now),
        }
    }
}
