//! The layer and the extractor, driven with `tower::ServiceExt::oneshot`.

use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::extract::State;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum::{Extension, Router};
use flags_middleware::testing::{ForceFlags, TestFlags, FORCE_HEADER};
use flags_middleware::{Context, FlagContext, Flags, FlagsLayer};
use tower::ServiceExt;

const SEED: &str = r##"{"features": [
  {"name": "ai_recommendations", "enabled": true, "strategies": [
    {"name": "userWithId", "parameters": {"userIds": "user_123, user_456"}}]},
  {"name": "beta_search", "enabled": true, "strategies": [
    {"name": "default", "constraints": [
      {"contextName": "beta", "operator": "IN", "values": ["true"]}]}]},
  {"name": "coin", "enabled": true, "strategies": [
    {"name": "flexibleRollout", "parameters": {"rollout": "50", "stickiness": "default", "groupId": "coin"}}]},
  {"name": "legacy_api", "enabled": false, "strategies": [{"name": "default"}]},
  {"name": "exp", "enabled": true, "strategies": [{"name": "default"}], "variants": [
    {"name": "blue", "weight": 1000, "payload": {"type": "string", "value": "#00f"}}]}
]}"##;

fn seed() -> Flags {
    Flags::from_unleash_json(SEED).unwrap()
}

async fn body(res: axum::response::Response) -> String {
    String::from_utf8(to_bytes(res.into_body(), 1 << 16).await.unwrap().to_vec()).unwrap()
}

async fn get_text(app: &Router, req: Request<Body>) -> (StatusCode, String) {
    let res = app.clone().oneshot(req).await.unwrap();
    (res.status(), body(res).await)
}

fn req(uri: &str) -> axum::http::request::Builder {
    Request::builder().uri(uri)
}

/// Answers "<user id or -> <ai_recommendations> <beta_search>".
async fn who(flags: FlagContext) -> String {
    format!(
        "{} {} {}",
        flags.context().get_user_id().unwrap_or("-"),
        flags.is_enabled("ai_recommendations"),
        flags.is_enabled("beta_search"),
    )
}

#[derive(Clone)]
struct AppUser {
    id: &'static str,
    beta: bool,
}

#[tokio::test]
async fn user_from_an_extension_of_the_apps_type() {
    let app = |user: AppUser| {
        Router::new()
            .route("/", get(who))
            .layer(FlagsLayer::new(seed()).user(|u: &AppUser| {
                Context::new()
                    .user_id(u.id)
                    .property("beta", u.beta.to_string())
            }))
            .layer(Extension(user))
    };
    let (_, text) = get_text(
        &app(AppUser {
            id: "user_123",
            beta: false,
        }),
        req("/").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(text, "user_123 true false");
    let (_, text) = get_text(
        &app(AppUser {
            id: "user_999",
            beta: true,
        }),
        req("/").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(text, "user_999 false true");
}

#[tokio::test]
async fn user_from_a_header_or_a_cookie() {
    let layer = FlagsLayer::new(seed())
        .user_header("x-user-id")
        .unwrap()
        .user_cookie("uid")
        .unwrap();
    let app = Router::new().route("/", get(who)).layer(layer);
    let cases = [
        (
            req("/").header("x-user-id", "user_456"),
            "user_456 true false",
        ),
        (
            req("/").header("cookie", "a=b; uid=user_123"),
            "user_123 true false",
        ),
        // The header resolver was added first, so it wins.
        (
            req("/")
                .header("x-user-id", "user_9")
                .header("cookie", "uid=user_123"),
            "user_9 false false",
        ),
        // An empty header is no answer: the cookie is next.
        (
            req("/")
                .header("x-user-id", " ")
                .header("cookie", "uid=user_123"),
            "user_123 true false",
        ),
        (req("/"), "- false false"),
        // Not ASCII (an upstream proxy passing a UTF-8 name): still the
        // user, not an anonymous visitor.
        (
            req("/").header("x-user-id", utf8("jürgen")),
            "jürgen false false",
        ),
        (
            req("/").header("cookie", utf8("uid=zoë")),
            "zoë false false",
        ),
    ];
    fn utf8(text: &str) -> axum::http::HeaderValue {
        axum::http::HeaderValue::from_bytes(text.as_bytes()).unwrap()
    }
    for (builder, want) in cases {
        let (status, text) = get_text(&app, builder.body(Body::empty()).unwrap()).await;
        assert_eq!((status, text.as_str()), (StatusCode::OK, want));
    }
}

#[tokio::test]
async fn user_from_an_async_function_with_fallthrough() {
    let layer = FlagsLayer::new(seed())
        // Answers only for bearer tokens, after an await (a database lookup).
        .resolve_with(|parts: &axum::http::request::Parts| {
            let token = parts
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::to_owned);
            async move {
                tokio::task::yield_now().await;
                let token = token?;
                Some(
                    Context::new()
                        .user_id(token.clone())
                        .property("beta", (token == "user_456").to_string()),
                )
            }
        })
        .user_header("x-user-id")
        .unwrap();
    let app = Router::new().route("/", get(who)).layer(layer);
    let (_, text) = get_text(
        &app,
        req("/")
            .header("authorization", "Bearer user_456")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(text, "user_456 true true");
    let text = as_user_123(&app).await;
    assert_eq!(
        text, "user_123 true false",
        "the async resolver said None, the header answered"
    );
}

/// Turns every flag of `flags` off, as an outside change would.
fn turn_all_off(flags: &Flags) {
    let mut set = flags.snapshot().to_flag_set();
    for f in &mut set.features {
        f.enabled = false;
    }
    flags_middleware::testing::swap_unpersisted(flags, &set).unwrap();
}

/// `route` at `/`, behind the layer (users from `x-user-id`), with `flags`
/// as the router's state.
fn with_flags_state(flags: &Flags, route: axum::routing::MethodRouter<Flags>) -> Router {
    Router::new()
        .route("/", route)
        .layer(
            FlagsLayer::new(flags.clone())
                .user_header("x-user-id")
                .unwrap(),
        )
        .with_state(flags.clone())
}

/// The body `app` answers `user_123` at `/`.
async fn as_user_123(app: &Router) -> String {
    let request = req("/").header("x-user-id", "user_123");
    get_text(app, request.body(Body::empty()).unwrap()).await.1
}

#[tokio::test]
async fn one_snapshot_per_request_even_when_flags_change_mid_request() {
    async fn handler(State(flags): State<Flags>, ctx: FlagContext) -> String {
        let before = (ctx.is_enabled("ai_recommendations"), ctx.version());
        // Turn everything off while the request is in flight.
        turn_all_off(&flags);
        // A flag not asked before the change still answers from the pinned version.
        let after = (
            ctx.is_enabled("exp"),
            ctx.details("exp").version,
            ctx.version(),
        );
        format!("{before:?} {after:?} now={}", flags.version())
    }
    let flags = seed();
    let app = with_flags_state(&flags, get(handler));
    let text = as_user_123(&app).await;
    assert_eq!(text, "(true, 1) (true, 1, 1) now=2");
    // The next request sees the change.
    let text = as_user_123(&app).await;
    assert_eq!(text, "(false, 2) (false, 2, 2) now=3");
}

#[tokio::test]
async fn the_snapshot_is_pinned_when_the_request_first_asks() {
    // A change made while the request is in flight, before it asks (here
    // by a handler that awaits first), is what it sees: the layer pins
    // nothing on the way in, so a request that asks no flag never loads
    // the flags at all.
    async fn handler(State(flags): State<Flags>, request: Request<Body>) -> String {
        let entered = flags.version();
        turn_all_off(&flags);
        let (mut parts, _) = request.into_parts();
        let ctx = <FlagContext as axum::extract::FromRequestParts<()>>::from_request_parts(
            &mut parts,
            &(),
        )
        .await
        .unwrap();
        format!(
            "entered={entered} pinned={} on={}",
            ctx.version(),
            ctx.is_enabled("ai_recommendations")
        )
    }
    let flags = seed();
    let app = with_flags_state(&flags, get(handler));
    let text = as_user_123(&app).await;
    assert_eq!(text, "entered=1 pinned=2 on=false");
}

#[tokio::test]
async fn decisions_are_memoized_per_request() {
    // No user and no session cookie: `coin` is bucketed at random each time
    // the engine is asked, so only the memo keeps a request consistent.
    async fn handler(ctx: FlagContext) -> String {
        let first = ctx.is_enabled("coin");
        let again: Vec<bool> = (0..50).map(|_| ctx.is_enabled("coin")).collect();
        let below = {
            let ctx = ctx.clone();
            tokio::spawn(async move { ctx.details("coin").enabled })
                .await
                .unwrap()
        };
        assert!(
            again.iter().all(|&v| v == first),
            "asked twice, answered differently"
        );
        assert_eq!(below, first, "a clone passed down sees the same answer");
        assert!(ctx.details("coin").random);
        first.to_string()
    }
    let app = Router::new()
        .route("/", get(handler))
        .layer(FlagsLayer::new(seed()).without_session_cookie());
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..64 {
        let (status, text) = get_text(&app, req("/").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        seen.insert(text);
    }
    // Across requests the answer really is random (both within 64 tries,
    // except with probability 2^-63), so the memo is what kept it fixed.
    assert_eq!(seen.len(), 2, "{seen:?}");
}

#[tokio::test]
async fn variants_and_details() {
    async fn handler(ctx: FlagContext) -> String {
        let v = ctx.variant("exp");
        let d = ctx.details("exp");
        let missing = ctx.details("no_such_flag");
        format!(
            "{} {} {:?} {} | {} {:?} {:?} | {}",
            v.name,
            v.payload.map(|p| p.value.as_str()).unwrap_or("-"),
            d.reason,
            d.enabled,
            missing.enabled,
            missing.reason,
            missing.error,
            ctx.variant("legacy_api").name,
        )
    }
    let app = Router::new()
        .route("/", get(handler))
        .layer(FlagsLayer::new(seed()));
    let (_, text) = get_text(&app, req("/").body(Body::empty()).unwrap()).await;
    assert_eq!(
        text,
        "blue #00f Static true | false Error Some(FlagNotFound) | disabled"
    );
}

#[tokio::test]
async fn missing_layer_is_a_500_that_names_the_fix() {
    async fn optional(ctx: Option<FlagContext>) -> &'static str {
        if ctx.is_some() {
            "some"
        } else {
            "none"
        }
    }
    let app = Router::new()
        .route(
            "/",
            get(|ctx: FlagContext| async move { ctx.version().to_string() }),
        )
        .route("/optional", get(optional));
    let (status, text) = get_text(&app, req("/").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        text.contains("add `.layer(FlagsLayer::new(flags))`"),
        "{text}"
    );
    let (status, text) = get_text(&app, req("/optional").body(Body::empty()).unwrap()).await;
    assert_eq!((status, text.as_str()), (StatusCode::OK, "none"));

    let app = app.layer(FlagsLayer::new(seed()));
    let (status, _) = get_text(&app, req("/").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let (_, text) = get_text(&app, req("/optional").body(Body::empty()).unwrap()).await;
    assert_eq!(text, "some");
}

#[tokio::test]
async fn route_layer_with_app_state() {
    #[derive(Clone)]
    struct AppState {
        greeting: Arc<str>,
    }
    async fn handler(State(s): State<AppState>, ctx: FlagContext) -> String {
        format!("{} {}", s.greeting, ctx.is_enabled("ai_recommendations"))
    }
    let app = Router::new()
        .route("/hello", get(handler))
        .route_layer(FlagsLayer::new(seed()).user_header("x-user-id").unwrap())
        .route(
            "/plain",
            get(|ctx: Option<FlagContext>| async move { ctx.is_some().to_string() }),
        )
        .with_state(AppState {
            greeting: "hi".into(),
        });
    let (_, text) = get_text(
        &app,
        req("/hello")
            .header("x-user-id", "user_123")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(text, "hi true");
    // Routes added after `route_layer` are not wrapped.
    let (_, text) = get_text(&app, req("/plain").body(Body::empty()).unwrap()).await;
    assert_eq!(text, "false");
}

#[tokio::test]
async fn flags_forced_for_one_request_only_when_allowed() {
    async fn handler(ctx: FlagContext) -> String {
        format!(
            "{} {} {}",
            ctx.is_enabled("legacy_api"),
            ctx.is_enabled("ai_recommendations"),
            ctx.variant("exp").name
        )
    }
    let force = ForceFlags::new().on("legacy_api").variant("exp", "red");
    for allow in [true, false] {
        let app = Router::new().route("/", get(handler)).layer(
            FlagsLayer::new(seed())
                .user_header("x-user-id")
                .unwrap()
                .allow_overrides(allow),
        );
        let mut with_ext = req("/")
            .header("x-user-id", "user_123")
            .body(Body::empty())
            .unwrap();
        with_ext.extensions_mut().insert(force.clone());
        let with_header = req("/")
            .header("x-user-id", "user_123")
            .header(FORCE_HEADER, "ai_recommendations=off")
            .body(Body::empty())
            .unwrap();
        let (_, a) = get_text(&app, with_ext).await;
        let (_, b) = get_text(&app, with_header).await;
        if allow {
            assert_eq!(a, "true true red");
            assert_eq!(b, "false false blue");
        } else {
            assert_eq!(a, "false true blue");
            assert_eq!(b, "false true blue");
        }
    }
}

#[tokio::test]
async fn test_flags_and_for_test_need_no_server() {
    // Code below the handler takes a FlagContext; test it directly.
    fn checkout_label(flags: &FlagContext) -> &'static str {
        if flags.is_enabled("new_checkout_flow") {
            "new"
        } else {
            "legacy"
        }
    }
    let on = TestFlags::new().on("new_checkout_flow").build();
    let off = TestFlags::new().off("new_checkout_flow").build();
    assert_eq!(
        checkout_label(&FlagContext::for_test(&on, Context::new())),
        "new"
    );
    assert_eq!(
        checkout_label(&FlagContext::for_test(&off, Context::new())),
        "legacy"
    );
    let forced = FlagContext::for_test_forced(
        &off,
        Context::new(),
        ForceFlags::new().on("new_checkout_flow"),
    );
    assert_eq!(checkout_label(&forced), "new");
}

#[tokio::test]
async fn any_body_type_and_plain_tower_services() {
    // Not axum: a tower service over `Request<String>`, reading the context
    // from the extensions through the extractor API.
    use axum::extract::FromRequestParts;
    let svc = tower::ServiceBuilder::new()
        .layer(FlagsLayer::new(seed()).user_header("x-user-id").unwrap())
        .service_fn(|req: Request<String>| async move {
            let (mut parts, body) = req.into_parts();
            let ctx = FlagContext::from_request_parts(&mut parts, &())
                .await
                .unwrap();
            let text = format!("{body} {}", ctx.is_enabled("ai_recommendations"));
            Ok::<_, std::convert::Infallible>(axum::http::Response::new(text))
        });
    let req = req("/")
        .header("x-user-id", "user_456")
        .body("hello".to_owned())
        .unwrap();
    let res = svc.oneshot(req).await.unwrap();
    assert_eq!(res.into_body(), "hello true");
}

#[tokio::test]
async fn environment_and_app_name_fill_what_resolvers_leave_out() {
    async fn handler(ctx: FlagContext) -> String {
        let c = ctx.context();
        format!(
            "{} {} {}",
            c.get("environment").unwrap_or("-"),
            c.get("appName").unwrap_or("-"),
            c.get_user_id().unwrap_or("-")
        )
    }
    let layer = FlagsLayer::new(seed())
        .environment("production")
        .app_name("shop")
        .resolve_with(|parts: &axum::http::request::Parts| {
            let staging = parts.headers.contains_key("x-staging");
            async move { staging.then(|| Context::new().user_id("tester").environment("staging")) }
        });
    let app = Router::new().route("/", get(handler)).layer(layer);
    let (_, text) = get_text(&app, req("/").body(Body::empty()).unwrap()).await;
    assert_eq!(text, "production shop -");
    let (_, text) = get_text(
        &app,
        req("/")
            .header("x-staging", "1")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        text, "staging shop tester",
        "the resolver's environment wins"
    );
}

#[test]
fn bad_builder_settings_are_errors_not_panics() {
    let err = FlagsLayer::new(seed()).user_header("x user").unwrap_err();
    assert_eq!(err.to_string(), "`x user` is not a valid header name");
    let err = FlagsLayer::new(seed()).user_cookie("a;b").unwrap_err();
    assert_eq!(err.to_string(), "`a;b` is not a valid cookie name");
    let err = FlagsLayer::new(seed())
        .trusted_proxies(["10.0.0.0/33"])
        .unwrap_err();
    assert!(err.to_string().contains("`10.0.0.0/33`"), "{err}");
}

#[tokio::test]
async fn counters_follow_the_flags_across_a_change_and_across_layers() {
    // The counters are settled through a per-thread cache keyed by the
    // snapshot's flag ids: a change, or a second layer with flags of its
    // own, must not send a sample to another flag's or arm's counters.
    let flags = seed();
    let other = seed();
    let app = Router::new().route("/", get(who)).layer(
        FlagsLayer::new(flags.clone())
            .user_header("x-user-id")
            .unwrap(),
    );
    let other_app = Router::new().route("/", get(who)).layer(
        FlagsLayer::new(other.clone())
            .user_header("x-user-id")
            .unwrap(),
    );
    let ask = |app: &Router| {
        let app = app.clone();
        async move {
            let req = req("/").header("x-user-id", "user_123").body(Body::empty());
            get_text(&app, req.unwrap()).await
        }
    };
    assert_eq!(ask(&app).await.1, "user_123 true false");
    assert_eq!(ask(&other_app).await.1, "user_123 true false");
    // Turn ai_recommendations off, which also swaps in a new snapshot.
    let mut set = flags.snapshot().to_flag_set();
    for f in &mut set.features {
        if f.name == "ai_recommendations" {
            f.enabled = false;
        }
    }
    flags_middleware::testing::swap_unpersisted(&flags, &set).unwrap();
    assert_eq!(ask(&app).await.1, "user_123 false false");
    assert_eq!(ask(&app).await.1, "user_123 false false");

    let m = flags.metrics().snapshot();
    let requests = |flag: &str, arm: &str| m.arm(flag, arm).map_or(0, |a| a.requests);
    assert_eq!(requests("ai_recommendations", "on"), 1);
    assert_eq!(requests("ai_recommendations", "off"), 2);
    assert_eq!(requests("beta_search", "off"), 3);
    let o = other.metrics().snapshot();
    assert_eq!(
        o.arm("ai_recommendations", "on").map(|a| a.requests),
        Some(1)
    );
    assert_eq!(o.arm("beta_search", "off").map(|a| a.requests), Some(1));
}

/// Two layers around one route (an app serving two `Flags` handles), each
/// asked for its flags by an anonymous visitor: one session cookie for the
/// browser to keep, not two of the same name.
#[tokio::test]
async fn nested_layers_set_one_session_cookie() {
    async fn ask_outer(
        flags: FlagContext,
        req: axum::extract::Request,
        next: axum::middleware::Next,
    ) -> axum::response::Response {
        let _ = flags.is_enabled("beta_search");
        next.run(req).await
    }
    let app = Router::new()
        .route("/", get(who))
        .layer(FlagsLayer::new(seed()))
        .layer(axum::middleware::from_fn(ask_outer))
        .layer(FlagsLayer::new(seed()));
    let res = app
        .oneshot(req("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let cookies: Vec<_> = res.headers().get_all("set-cookie").iter().collect();
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    assert!(cookies[0].to_str().unwrap().starts_with("flags_sid="));
}

/// The peer's address from `ConnectInfo` reaches the `remoteAddress`
/// strategy and a text constraint on `remoteAddress` (the layer hands the
/// engine the parsed address; its text is made only when read).
#[tokio::test]
async fn the_peer_address_reaches_ip_strategies_and_text_constraints() {
    use std::net::SocketAddr;

    use axum::extract::ConnectInfo;

    let flags = Flags::from_unleash_json(
        r#"{"features": [
          {"name": "office", "enabled": true, "strategies": [
            {"name": "remoteAddress", "parameters": {"IPs": "10.0.0.0/8"}}]},
          {"name": "office_text", "enabled": true, "strategies": [
            {"name": "default", "constraints": [
              {"contextName": "remoteAddress", "operator": "STR_STARTS_WITH", "values": ["10.1."]}]}]}
        ]}"#,
    )
    .unwrap();
    let app = Router::new()
        .route(
            "/",
            get(|flags: FlagContext| async move {
                format!(
                    "{} {} {}",
                    flags.is_enabled("office"),
                    flags.is_enabled("office_text"),
                    flags.context().get_remote_address().unwrap_or("-"),
                )
            }),
        )
        .layer(FlagsLayer::new(flags));
    for (peer, want) in [
        ([10, 1, 2, 3], "true true 10.1.2.3"),
        ([10, 2, 0, 1], "true false 10.2.0.1"),
        ([192, 0, 2, 1], "false false 192.0.2.1"),
    ] {
        let mut request = req("/").body(Body::empty()).unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from((peer, 40_000))));
        assert_eq!(get_text(&app, request).await, (StatusCode::OK, want.into()));
    }
}
