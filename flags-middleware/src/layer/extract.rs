//! [`FlagContext`]: the axum extractor handlers ask flags through.

use std::fmt;
use std::mem;
use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::StatusCode;

use super::config::{Config, DecisionLog};
use super::events::{self, id_kind, logged_id};
use super::force::ForceFlags;
use super::request::{Answer, Asked, RequestState};
use super::resolve::{self, Resolved};
use super::slot::{self, Slot};
use crate::engine::{Evaluation, FlagId, Snapshot, Variant};
use crate::{Context, Flags};

/// The flags as one request sees them: one pinned version, the caller's
/// context, and a memo so a flag asked twice answers the same.
///
/// Extract it in a handler (it needs [`FlagsLayer`](crate::FlagsLayer) on
/// the router), then ask it; clone it (one `Arc`) to pass it to code below
/// the handler.
///
/// ```
/// use axum::{routing::get, Router};
/// use flags_middleware::{FlagContext, Flags, FlagsLayer};
///
/// async fn checkout(flags: FlagContext) -> &'static str {
///     if flags.is_enabled("new_checkout_flow") {
///         "new checkout"
///     } else {
///         "legacy checkout"
///     }
/// }
///
/// # let flags = Flags::from_unleash_json(r#"{"features": []}"#).unwrap();
/// let app: Router = Router::new()
///     .route("/checkout", get(checkout))
///     .layer(FlagsLayer::new(flags));
/// ```
///
/// Without the layer, extraction fails with
/// [`FlagContextRejection::MissingLayer`] (a 500 that says to add it); take
/// an `Option<FlagContext>` to handle that case yourself.
#[derive(Clone)]
pub struct FlagContext {
    state: Arc<RequestState>,
}

/// Shows the version and, of the caller, only what the layer's
/// [`IdLogging`](crate::layer::IdLogging) lets its events show: the user id
/// (else the session id) as it is, hashed or not at all, and which of the two
/// it is. Never the IP address or the properties. `#[tracing::instrument]`
/// records every argument with `Debug`, including the `FlagContext` a
/// `#[feature_gated]` handler takes, so this is what lands in spans.
/// (`FlagContext::context` gives the whole [`Context`] to code that asks.)
impl fmt::Debug for FlagContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let context = &self.state.resolved.context;
        let mut out = f.debug_struct("FlagContext");
        out.field("version", &self.version());
        if let Some(id) = logged_id(&self.state.config.ids, context) {
            out.field("id", &id);
        }
        out.field("id_kind", &id_kind(context))
            .finish_non_exhaustive()
    }
}

impl FlagContext {
    /// Whether `flag` is on for this request's caller (unknown flags: off).
    /// Takes a string or a [`FlagKey`](crate::FlagKey).
    ///
    /// ```
    /// use flags_middleware::{Context, FlagContext, Flags};
    ///
    /// let flags = Flags::from_toml_str("[coin]\nrollout = 50\n", "flags.toml").unwrap();
    /// // No user or session id: bucketed at random, once; the request keeps that answer.
    /// let ctx = FlagContext::for_test(&flags, Context::new());
    /// let first = ctx.is_enabled("coin");
    /// assert!((0..20).all(|_| ctx.is_enabled("coin") == first));
    /// assert!(ctx.details("coin").random);
    /// assert!(!ctx.is_enabled("no_such_flag"));
    /// ```
    pub fn is_enabled(&self, flag: impl AsRef<str>) -> bool {
        let (_, answer) = self.answer(flag.as_ref());
        self.state.enabled(answer)
    }

    /// The caller's variant of `flag` (`disabled` when none).
    /// Takes a string or a [`FlagKey`](crate::FlagKey).
    ///
    /// ```
    /// use flags_middleware::{Context, FlagContext, Flags};
    ///
    /// let flags = Flags::from_toml_str(r##"[[button_color.variants]]
    /// name = "blue"
    /// payload = { type = "string", value = "#00f" }
    /// overrides = { userId = ["user_123"] }
    /// [[button_color.variants]]
    /// name = "green""##, "flags.toml").unwrap();
    /// let ctx = FlagContext::for_test(&flags, Context::new().user_id("user_123"));
    /// let v = ctx.variant("button_color");
    /// assert_eq!((v.name, v.payload.map(|p| p.value.as_str())), ("blue", Some("#00f")));
    /// assert_eq!(ctx.variant("no_such_flag").name, "disabled");
    /// ```
    pub fn variant(&self, flag: impl AsRef<str>) -> Variant<'_> {
        let flag = flag.as_ref();
        let (id, answer) = self.answer(flag);
        self.state.variant(flag, id, answer)
    }

    /// Everything about the caller's answer for `flag`: value, variant,
    /// reason, version. Takes a string or a [`FlagKey`](crate::FlagKey), by
    /// reference (the evaluation borrows the name as its key).
    ///
    /// ```
    /// use flags_middleware::{flag, Context, FlagContext, Flags};
    ///
    /// flag!(CHECKOUT = "new_checkout_flow");
    ///
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\nenabled = true\n", "flags.toml").unwrap();
    /// let ctx = FlagContext::for_test(&flags, Context::new().user_id("u1"));
    /// let by_key = ctx.details(&CHECKOUT);
    /// assert!(by_key.enabled);
    /// assert_eq!(by_key.key, "new_checkout_flow");
    /// assert_eq!(ctx.details("new_checkout_flow").version, by_key.version);
    /// ```
    pub fn details<'a, K>(&'a self, flag: &'a K) -> Evaluation<'a>
    where
        K: AsRef<str> + ?Sized,
    {
        let flag = flag.as_ref();
        let (id, answer) = self.answer(flag);
        self.state.evaluation(flag, id, answer)
    }

    /// The request's memoized answer for `flag`; the first one emits the
    /// decision event.
    fn answer(&self, flag: &str) -> (Option<FlagId>, Answer) {
        match self.state.answer(flag) {
            Asked::Again(id, answer) => (id, answer),
            Asked::First(id, answer) => {
                let forced = matches!(answer, Answer::Forced(_));
                if id.is_none() && !forced {
                    self.unknown(flag);
                }
                if self.state.decision_events {
                    events::decision(&self.state, forced, || {
                        self.state.evaluation(flag, id, answer)
                    });
                }
                (id, answer)
            }
        }
    }

    /// The cold path: the snapshot has no flag `flag` (counted per name).
    #[cold]
    fn unknown(&self, flag: &str) {
        if let Some(tracker) = &self.state.config.tracker {
            tracker.unknown().record(flag);
        }
    }

    /// Who is asking, as the layer resolved it.
    ///
    /// ```
    /// # use axum::{body::{to_bytes, Body}, http::Request, routing::get, Router};
    /// # use tower::ServiceExt as _;
    /// use flags_middleware::{FlagContext, Flags, FlagsLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
    /// async fn who(flags: FlagContext) -> String {
    ///     let c = flags.context();
    ///     format!("{} in {}", c.get_user_id().unwrap_or("anonymous"), c.get("environment").unwrap_or("-"))
    /// }
    /// let layer = FlagsLayer::new(flags).user_header("x-user-id").unwrap().environment("production");
    /// let app = Router::new().route("/", get(who)).layer(layer);
    /// let request = Request::get("/").header("x-user-id", "user_123").body(Body::empty()).unwrap();
    /// let res = app.oneshot(request).await.unwrap();
    /// assert_eq!(to_bytes(res.into_body(), 64).await.unwrap(), "user_123 in production");
    /// # }
    /// ```
    pub fn context(&self) -> &Context {
        &self.state.resolved.context
    }

    /// Whether the layer made this request's session id up just now (no
    /// user, no session cookie yet; the response sets the cookie). A hook
    /// for code holding a steadier anonymous id of its own, such as the
    /// [Frontend API](crate::frontend) with the browser SDK's `sessionId`.
    ///
    /// ```
    /// # use axum::{body::{to_bytes, Body}, http::Request, routing::get, Router};
    /// # use tower::ServiceExt as _;
    /// use flags_middleware::{FlagContext, Flags, FlagsLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let flags = Flags::from_toml_str("[new_checkout_flow]\nrollout = 50\n", "flags.toml").unwrap();
    /// let app = Router::new()
    ///     .route("/", get(|f: FlagContext| async move { f.session_is_new().to_string() }))
    ///     .layer(FlagsLayer::new(flags));
    /// let first = app.clone().oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
    /// let cookie = first.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    /// assert_eq!(to_bytes(first.into_body(), 64).await.unwrap(), "true");
    /// // The visitor comes back with the cookie: the same session, not a new one.
    /// let again = Request::get("/").header("cookie", cookie).body(Body::empty()).unwrap();
    /// assert_eq!(to_bytes(app.oneshot(again).await.unwrap().into_body(), 64).await.unwrap(), "false");
    /// # }
    /// ```
    pub fn session_is_new(&self) -> bool {
        self.state.resolved.new_session.is_some()
    }

    /// The version of the flag set this request sees; with
    /// [`snapshot`](FlagContext::snapshot), the whole of it, pinned for the
    /// request even when the flags change meanwhile.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use flags_middleware::{edit::Edit, Context, FlagContext, Flags};
    ///
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
    /// let ctx = FlagContext::for_test(&flags, Context::new().user_id("u1"));
    /// flags.writer("ops").commit(Edit::kill("new_checkout_flow")).await.unwrap();
    /// assert_eq!((ctx.version(), flags.version()), (1, 2));
    /// assert!(ctx.is_enabled("new_checkout_flow")); // the version it started with
    /// assert!(ctx.snapshot().is_enabled("new_checkout_flow", ctx.context()));
    /// # }
    /// ```
    pub fn version(&self) -> u64 {
        self.state.snapshot.version()
    }

    /// The snapshot this request pinned: the version its answers come from.
    /// Asking the snapshot directly skips the request's memo, forced flags,
    /// events and counters; ask the `FlagContext` to decide, and read the
    /// snapshot for what the version defines.
    ///
    /// ```
    /// use flags_middleware::{Context, FlagContext, Flags};
    ///
    /// let flags = Flags::from_toml_str("[a]\n[b]\nenabled = false\n[c]\n", "flags.toml").unwrap();
    /// let ctx = FlagContext::for_test(&flags, Context::new());
    /// let mut defined: Vec<&str> = ctx.snapshot().names().collect();
    /// defined.sort_unstable();
    /// assert_eq!(defined, ["a", "b", "c"]);
    /// assert_eq!(ctx.snapshot().version(), ctx.version());
    /// ```
    pub fn snapshot(&self) -> &Arc<Snapshot> {
        &self.state.snapshot
    }

    /// A context outside any request, for unit tests of code that takes a
    /// `FlagContext`: it answers from `flags`' current snapshot for `context`,
    /// memoizes like a request, and emits decision events. Nothing global is
    /// touched, so tests can run in parallel.
    ///
    /// ```
    /// use flags_middleware::{testing::TestFlags, Context, FlagContext};
    ///
    /// let flags = TestFlags::new().on("new_checkout_flow").variant("exp", "blue").build();
    /// let ctx = FlagContext::for_test(&flags, Context::new().user_id("u1"));
    /// assert!(ctx.is_enabled("new_checkout_flow"));
    /// assert_eq!(ctx.variant("exp").name, "blue");
    /// ```
    pub fn for_test(flags: &Flags, context: Context) -> FlagContext {
        Self::for_test_forced(flags, context, None)
    }

    /// Like [`FlagContext::for_test`], with some flags forced.
    ///
    /// ```
    /// use flags_middleware::{testing::{ForceFlags, TestFlags}, Context, FlagContext};
    ///
    /// let flags = TestFlags::new().off("new_checkout_flow").variant("exp", "blue").build();
    /// let forced = ForceFlags::new().on("new_checkout_flow").variant("exp", "red");
    /// let ctx = FlagContext::for_test_forced(&flags, Context::new(), forced);
    /// assert!(ctx.is_enabled("new_checkout_flow"));
    /// assert_eq!(ctx.variant("exp").name, "red");
    /// assert!(!FlagContext::for_test(&flags, Context::new()).is_enabled("new_checkout_flow"));
    /// ```
    pub fn for_test_forced(
        flags: &Flags,
        context: Context,
        forced: impl Into<Option<ForceFlags>>,
    ) -> FlagContext {
        let config = Config {
            decision_log: DecisionLog::PerDecision,
            tracker: Some(flags.tracker().clone()),
            ..Config::new(flags.clone(), None)
        };
        let decision_events = events::decisions_wanted(&config);
        let resolved = Resolved {
            context,
            new_session: None,
            forced: forced.into(),
        };
        let state = RequestState::new(
            flags.snapshot(),
            Arc::new(config),
            (http::Method::GET, None),
            resolved,
            decision_events,
        );
        FlagContext {
            state: Arc::new(state),
        }
    }

    /// The request's context, resolving it on first use.
    async fn from_parts(parts: &Parts) -> Option<FlagContext> {
        // Asked before, or resolvable without waiting: done in one visit.
        let config = match slot::with_current(|slot| match slot {
            Slot::Empty => Err(None),
            Slot::Live(state) => Ok(Arc::clone(state)),
            Slot::Ready(config) => match resolve::resolve_now(config, parts) {
                Some(resolved) => Ok(go_live(slot, parts, resolved)),
                None => Err(Some(Arc::clone(config))),
            },
        }) {
            Ok(state) => return Some(FlagContext::new(state, parts)),
            Err(None) => return None,
            Err(Some(config)) => config,
        };
        // Boxed: the waiting state (the resolver's future, the context it
        // builds) would otherwise sit in every handler's future, which axum
        // moves and boxes, for requests that never wait.
        Box::pin(Self::after_resolving(config, parts)).await
    }

    /// [`FlagContext::from_parts`] with an asynchronous resolver: the slot
    /// is back with the layer while this waits, so it looks again after.
    async fn after_resolving(config: Arc<Config>, parts: &Parts) -> Option<FlagContext> {
        let resolved = resolve::resolve(&config, parts).await;
        let state = slot::with_current(|slot| match slot {
            Slot::Empty => None,
            // Another extractor of this request resolved first and wins, so
            // the request keeps one id.
            Slot::Live(state) => Some(Arc::clone(state)),
            Slot::Ready(_) => Some(go_live(slot, parts, resolved)),
        })?;
        Some(FlagContext::new(state, parts))
    }

    fn new(state: Arc<RequestState>, parts: &Parts) -> FlagContext {
        state.learn_route(parts);
        FlagContext { state }
    }
}

/// Turns a ready slot into the request's state (its one allocation),
/// pinning the snapshot every answer of the request comes from.
#[inline(always)]
fn go_live(slot: &mut Slot, parts: &Parts, resolved: Resolved) -> Arc<RequestState> {
    let Slot::Ready(config) = mem::take(slot) else {
        unreachable!("go_live is called on a ready slot")
    };
    let snapshot = config.flags.snapshot();
    let decision_events = events::decisions_wanted(&config);
    let route = parts.extensions.get::<MatchedPath>().cloned();
    let state = Arc::new(RequestState::new(
        snapshot,
        config,
        (parts.method.clone(), route),
        resolved,
        decision_events,
    ));
    *slot = Slot::Live(Arc::clone(&state));
    state
}

impl<S: Send + Sync> FromRequestParts<S> for FlagContext {
    type Rejection = FlagContextRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        FlagContext::from_parts(parts)
            .await
            .ok_or(FlagContextRejection::MissingLayer)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for FlagContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(FlagContext::from_parts(parts).await)
    }
}

/// Why a [`FlagContext`] could not be extracted.
///
/// ```
/// use axum::{body::Body, http::Request, routing::get, Router};
/// use flags_middleware::FlagContext;
/// use tower::ServiceExt as _;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// async fn handler(_flags: FlagContext) -> &'static str { "ok" }
/// // No `FlagsLayer` around the route: a 500 saying so, not a panic.
/// let app = Router::new().route("/", get(handler));
/// let res = app.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
/// assert_eq!(res.status(), 500);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FlagContextRejection {
    /// The router has no [`FlagsLayer`](crate::FlagsLayer) around this route.
    MissingLayer,
}

impl FlagContextRejection {
    /// The response status: 500, since this is a bug in the app's wiring.
    /// With [`body_text`](Self::body_text), what an app with its own error
    /// format answers instead:
    ///
    /// ```
    /// # use axum::{body::{to_bytes, Body}, http::Request, routing::get, Router};
    /// # use tower::ServiceExt as _;
    /// use axum::{http::StatusCode, response::{IntoResponse, Response}, Json};
    /// use flags_middleware::{FlagContext, FlagContextRejection};
    ///
    /// async fn handler(flags: Result<FlagContext, FlagContextRejection>) -> Response {
    ///     match flags {
    ///         Ok(flags) => flags.version().to_string().into_response(),
    ///         Err(e) => {
    ///             // Taking the `Result` skips the rejection's own ERROR event: log it here.
    ///             tracing::error!(target: "flags::rejection", "{e}");
    ///             (e.status(), Json(serde_json::json!({ "error": e.body_text() }))).into_response()
    ///         }
    ///     }
    /// }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let app = Router::new().route("/", get(handler)); // no FlagsLayer
    /// let res = app.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
    /// assert_eq!(res.status(), 500);
    /// let body = to_bytes(res.into_body(), 1024).await.unwrap();
    /// let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    /// assert!(json["error"].as_str().unwrap().starts_with("FlagContext needs FlagsLayer"));
    /// # }
    /// ```
    pub fn status(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    /// The response body.
    ///
    /// ```
    /// use flags_middleware::FlagContextRejection;
    ///
    /// let text = FlagContextRejection::MissingLayer.body_text();
    /// assert!(text.contains("FlagsLayer::new(flags)"), "it says how to fix it");
    /// ```
    pub fn body_text(&self) -> &'static str {
        match self {
            FlagContextRejection::MissingLayer => {
                "FlagContext needs FlagsLayer: add `.layer(FlagsLayer::new(flags))` to the router \
                 (or `.route_layer(...)`) so it wraps this route"
            }
        }
    }
}

impl fmt::Display for FlagContextRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.body_text())
    }
}

impl std::error::Error for FlagContextRejection {}

impl IntoResponse for FlagContextRejection {
    fn into_response(self) -> Response {
        tracing::error!(
            target: "flags::rejection",
            status = self.status().as_u16(),
            body = self.body_text(),
            "rejecting request: FlagContext used without FlagsLayer"
        );
        (self.status(), self.body_text()).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::config::{IdHashKey, IdLogging};

    /// A context as the layer would resolve it, logging ids per `ids`.
    fn flag_context(ids: IdLogging, context: Context) -> FlagContext {
        let flags = Flags::from_unleash_json(r#"{"features": []}"#).unwrap();
        let mut config = Config::new(flags.clone(), None);
        config.ids = ids;
        let resolved = Resolved {
            context,
            new_session: None,
            forced: None,
        };
        let state = RequestState::new(
            flags.snapshot(),
            Arc::new(config),
            (http::Method::GET, None),
            resolved,
            false,
        );
        FlagContext {
            state: Arc::new(state),
        }
    }

    #[test]
    fn debug_shows_only_the_id_that_id_logging_allows() {
        let key = IdHashKey::new([7; 16]);
        let user = Context::new()
            .user_id("alice@example.com")
            .session_id("sess-5f2a")
            .remote_address("203.0.113.9")
            .property("email", "alice@example.com")
            .property("tenant", "acme");
        let anonymous = Context::new()
            .session_id("sess-5f2a")
            .remote_address("203.0.113.9");
        let cases = [
            (
                IdLogging::Plain,
                user.clone(),
                r#"FlagContext { version: 1, id: "alice@example.com", id_kind: "user", .. }"#
                    .to_owned(),
            ),
            (
                IdLogging::Plain,
                anonymous.clone(),
                r#"FlagContext { version: 1, id: "sess-5f2a", id_kind: "session", .. }"#.to_owned(),
            ),
            (
                IdLogging::Hashed(key.clone()),
                user.clone(),
                format!(
                    r#"FlagContext {{ version: 1, id: "{}", id_kind: "user", .. }}"#,
                    key.hash("alice@example.com")
                ),
            ),
            (
                IdLogging::Omitted,
                user,
                r#"FlagContext { version: 1, id_kind: "user", .. }"#.to_owned(),
            ),
            (
                IdLogging::Omitted,
                anonymous,
                r#"FlagContext { version: 1, id_kind: "session", .. }"#.to_owned(),
            ),
        ];
        for (ids, context, expected) in cases {
            let shown = format!("{:?}", flag_context(ids.clone(), context));
            assert_eq!(shown, expected, "{ids:?}");
            // The IP address and the properties never show.
            assert!(!shown.contains("203.0.113.9") && !shown.contains("acme"));
        }
    }
}
