//! The hook from a request to the provider: a task-local [`FlagContext`].
//!
//! OpenFeature's Rust client reaches the provider through a global registry,
//! with no way to pass a request along. So the request's [`FlagContext`]
//! travels beside the call instead: [`in_request`] (or
//! [`RequestScopeLayer`], which does it for every request) sets it for the
//! future it runs, and [`FlagsProvider`](crate::FlagsProvider) looks for it
//! on each evaluation. Nothing here touches the flags layer's request path:
//! an app that does not add the layer pays nothing.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use axum::extract::FromRequestParts;
use flags_middleware::FlagContext;
use http::Request;
use tower_layer::Layer;
use tower_service::Service;

tokio::task_local! {
    static REQUEST: FlagContext;
}

/// Runs `future` with `flags` as the request the OpenFeature provider
/// answers for: every evaluation through [`FlagsProvider`](crate::FlagsProvider)
/// inside it uses the request's pinned snapshot and memo and emits the
/// request's decision events (see the crate docs for which evaluation
/// contexts it applies to).
///
/// A task-local: it follows `.await`s inside `future`, not into tasks it
/// spawns (wrap those in `in_request(flags.clone(), ..)` too).
///
/// ```
/// use flags_middleware::{testing::TestFlags, Context, FlagContext};
/// use flags_openfeature::{in_request, FlagsProvider};
/// use open_feature::OpenFeature;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let flags = TestFlags::new().on("new_checkout_flow").build();
/// let mut api = OpenFeature::default();
/// api.set_provider(FlagsProvider::new(flags.clone())).await;
/// let client = api.create_client();
///
/// let request = FlagContext::for_test(&flags, Context::new().user_id("u1"));
/// let on = in_request(request, async {
///     client.get_bool_value("new_checkout_flow", None, None).await
/// })
/// .await;
/// assert_eq!(on, Ok(true));
/// # }
/// ```
pub async fn in_request<F: Future>(flags: FlagContext, future: F) -> F::Output {
    REQUEST.scope(flags, future).await
}

/// The request the current task runs for, if inside [`in_request`].
pub(crate) fn current() -> Option<FlagContext> {
    REQUEST.try_with(FlagContext::clone).ok()
}

/// A tower layer that runs each request inside [`in_request`] with the
/// request's [`FlagContext`], so OpenFeature evaluations anywhere in the
/// handler answer for that request.
///
/// Add it *inside* [`FlagsLayer`](flags_middleware::FlagsLayer) (with axum,
/// `.layer(RequestScopeLayer::new())` before `.layer(FlagsLayer::new(..))`).
/// It resolves the caller when the request arrives (the extractor would
/// otherwise do it on first use); a request the flags layer did not see
/// passes through untouched.
///
/// ```
/// use axum::{routing::get, Router};
/// use flags_middleware::{Flags, FlagsLayer};
/// use flags_openfeature::RequestScopeLayer;
///
/// async fn handler() -> String {
///     let client = open_feature::OpenFeature::singleton().await.create_client();
///     let on = client.get_bool_value("new_checkout_flow", None, None).await;
///     format!("{on:?}")
/// }
///
/// let flags = Flags::from_toml_str("[new_checkout_flow]\nrollout = 20\n", "flags.toml").unwrap();
/// let app: Router = Router::new()
///     .route("/", get(handler))
///     .layer(RequestScopeLayer::new())
///     .layer(FlagsLayer::new(flags));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestScopeLayer {
    _private: (),
}

impl RequestScopeLayer {
    /// The layer.
    ///
    /// ```
    /// use axum::{body::{to_bytes, Body}, http::Request, routing::get, Router};
    /// use flags_openfeature::RequestScopeLayer;
    /// use tower::ServiceExt as _;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// // Without a `FlagsLayer` around it, requests pass through untouched.
    /// let app: Router = Router::new().route("/health", get(|| async { "ok" })).layer(RequestScopeLayer::new());
    /// let res = app.oneshot(Request::get("/health").body(Body::empty()).unwrap()).await.unwrap();
    /// assert_eq!(res.status(), 200);
    /// assert_eq!(to_bytes(res.into_body(), 16).await.unwrap(), "ok");
    /// # }
    /// ```
    pub fn new() -> Self {
        RequestScopeLayer::default()
    }
}

impl<S> Layer<S> for RequestScopeLayer {
    type Service = RequestScope<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestScope { inner }
    }
}

/// The service [`RequestScopeLayer`] makes.
///
/// ```
/// use std::sync::Arc;
/// use axum::{body::Body, http::Request, routing::get, Router};
/// use flags_middleware::{Flags, FlagsLayer};
/// use flags_openfeature::{FlagsProvider, RequestScopeLayer};
/// use tower::ServiceExt as _;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let flags = Flags::from_toml_str("[new_checkout_flow]\nusers = [\"u1\"]\n", "flags.toml").unwrap();
/// let mut api = open_feature::OpenFeature::default();
/// api.set_provider(FlagsProvider::new(flags.clone())).await;
/// let client = Arc::new(api.create_client());
/// // No evaluation context: the provider answers for the request's user.
/// let handler = move || {
///     let client = client.clone();
///     async move { format!("{:?}", client.get_bool_value("new_checkout_flow", None, None).await) }
/// };
/// let app: Router = Router::new()
///     .route("/", get(handler))
///     .layer(RequestScopeLayer::new())
///     .layer(FlagsLayer::new(flags).user_header("x-user-id").unwrap());
/// for (user, answer) in [("u1", "Ok(true)"), ("u2", "Ok(false)")] {
///     let request = Request::get("/").header("x-user-id", user).body(Body::empty()).unwrap();
///     let response = app.clone().oneshot(request).await.unwrap();
///     let body = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
///     assert_eq!(body, answer, "for {user}");
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RequestScope<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for RequestScope<S>
where
    S: Service<Request<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The clone is the one to call later; the ready one stays here, as
        // tower asks of a service that calls its inner one from a future.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let flags = FlagContext::from_request_parts(&mut parts, &()).await.ok();
            let request = Request::from_parts(parts, body);
            match flags {
                Some(flags) => in_request(flags, inner.call(request)).await,
                None => inner.call(request).await,
            }
        })
    }
}
