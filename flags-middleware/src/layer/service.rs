//! [`FlagsService`]: the middleware the layer wraps around a service.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{Request, Response};
use tower_service::Service;

use super::config::Config;
use super::future::ResponseFuture;
use super::slot::Slot;

/// Makes the flags available to each request's
/// [`FlagContext`](crate::FlagContext), which pins one snapshot for the
/// request when it is first extracted; built by
/// [`FlagsLayer`](super::FlagsLayer).
///
/// `Router::layer` wraps each route on its own, and axum then boxes every
/// layered route's service and future again on each request (about 1,100
/// instructions, for any layer). Wrapping the whole router instead spares
/// that; extractors work the same:
///
/// ```no_run
/// use axum::{extract::Request, routing::get, Router, ServiceExt};
/// use flags_middleware::{FlagContext, Flags, FlagsLayer};
/// use tower_layer::Layer as _;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let flags = Flags::from_unleash_json(r#"{"features": []}"#)?;
/// let router = Router::new().route(
///     "/",
///     get(|f: FlagContext| async move { f.is_enabled("new_checkout_flow").to_string() }),
/// );
/// let app = FlagsLayer::new(flags).layer(router);
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// axum::serve(listener, ServiceExt::<Request>::into_make_service(app)).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct FlagsService<S> {
    pub(crate) inner: S,
    pub(crate) config: Arc<Config>,
}

impl<S> FlagsService<S> {
    /// The wrapped service.
    ///
    /// ```
    /// use flags_middleware::{layer::FlagsService, Flags, FlagsLayer};
    /// use tower_layer::Layer as _;
    ///
    /// #[derive(Clone)]
    /// struct Api { calls: u32 } // the app's own service
    ///
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
    /// let service: FlagsService<Api> = FlagsLayer::new(flags).layer(Api { calls: 0 });
    /// assert_eq!(service.get_ref().calls, 0);
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    ///
    /// ```
    /// use flags_middleware::{layer::FlagsService, Flags, FlagsLayer};
    /// use tower_layer::Layer as _;
    ///
    /// #[derive(Clone)]
    /// struct Api { calls: u32 } // the app's own service
    ///
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
    /// let mut service = FlagsLayer::new(flags).layer(Api { calls: 0 });
    /// service.get_mut().calls = 7;
    /// assert_eq!(service.get_ref().calls, 7);
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the service.
    ///
    /// ```
    /// use flags_middleware::{layer::FlagsService, Flags, FlagsLayer};
    /// use tower_layer::Layer as _;
    ///
    /// #[derive(Clone)]
    /// struct Api { calls: u32 } // the app's own service
    ///
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
    /// let service = FlagsLayer::new(flags).layer(Api { calls: 3 });
    /// let api: Api = service.into_inner(); // the layer gone, the service as it was
    /// assert_eq!(api.calls, 3);
    /// ```
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
        // One `Arc` clone: pinning the snapshot, resolving the user and
        // evaluating wait until a handler asks, and nothing is allocated.
        // Extractors run in the inner future, which the response future
        // polls with the slot in place (axum does nothing in `call`).
        ResponseFuture {
            inner: self.inner.call(req),
            slot: Slot::Ready(Arc::clone(&self.config)),
            started: self.config.needs_clock().then(Instant::now),
        }
    }
}
