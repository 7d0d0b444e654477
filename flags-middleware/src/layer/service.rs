//! [`FlagsService`]: the middleware the layer wraps around a service.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::config::Config;
use super::future::ResponseFuture;
use super::request::{RequestHandle, RequestState};
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

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        // Only pinning happens here (an `Arc` clone); resolving the user and
        // evaluating wait until a handler asks.
        let state = Arc::new(RequestState::new(
            self.flags.snapshot(),
            Arc::clone(&self.config),
            req.method().clone(),
        ));
        req.extensions_mut()
            .insert(RequestHandle(Arc::clone(&state)));
        ResponseFuture {
            inner: self.inner.call(req),
            state: Some(state),
        }
    }
}
