//! The Frontend API and the client API over HTTP (in-process): tokens,
//! Unleash's shapes, ETags, CORS, which context a client may supply, SDK
//! metrics, decision events. The real SDKs are in tests/sdk_peers.

mod support;

use std::net::SocketAddr;

use axum::body::{to_bytes, Body};
use axum::extract::ConnectInfo;
use axum::http::{Request, Response, StatusCode};
use axum::Router;
use flags_middleware::client_api::ClientApiConfig;
use flags_middleware::edit::Edit;
use flags_middleware::frontend::FrontendConfig;
use flags_middleware::{Flags, FlagsLayer};
use serde_json::{json, Value};
use support::Recorder;
use tower::ServiceExt;

const FRONT: &str = "front-token";
const CLIENT: &str = "client-token";
const ADMIN: &str = "admin-token";

const TOML: &str = r#"
[segments.internal]
when = { email = { op = "ends_with", values = ["@acme.com"] } }

[beta_search]
when = { beta = true }

[vip]
users = ["ann"]

[office]
rules = [{ strategy = "remoteAddress", parameters = { IPs = "192.0.2.0/24" } }]

[staff_tools]
segments = ["internal"]

[legacy_api]
enabled = false

[guarded]
rollout = 100
guard = true

[[exp.variants]]
name = "blue"
payload = { type = "string", value = "b" }
"#;

fn flags() -> Flags {
    Flags::from_toml_str(TOML, "flags.toml").unwrap()
}

fn frontend(flags: &Flags, config: FrontendConfig) -> Router {
    Router::new().nest_service("/api/frontend", flags.frontend_router(config))
}

fn config() -> FrontendConfig {
    FrontendConfig::new([FRONT]).other_tokens([ADMIN, CLIENT])
}

async fn send(app: &Router, req: Request<Body>) -> (Response<()>, Value) {
    let res = app.clone().oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let bytes = to_bytes(body, usize::MAX).await.unwrap();
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (Response::from_parts(parts, ()), value)
}

fn get(path: &str, token: Option<&str>) -> Request<Body> {
    let mut b = Request::get(path);
    if let Some(t) = token {
        b = b.header("authorization", t);
    }
    b.body(Body::empty()).unwrap()
}

fn names(body: &Value) -> Vec<&str> {
    body["toggles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn tokens_raw_or_bearer_401_without_403_of_another_kind() {
    let app = frontend(&flags(), config());
    for (token, status) in [
        (None, 401),
        (Some("nope"), 401),
        (Some(ADMIN), 403),
        (Some(CLIENT), 403),
        (Some(FRONT), 200),
        (Some("Bearer front-token"), 200),
    ] {
        let (res, body) = send(&app, get("/api/frontend", token)).await;
        assert_eq!(res.status(), status, "{token:?}");
        if status != 200 {
            assert!(body["message"].is_string(), "{body}");
        }
    }
}

#[tokio::test]
async fn only_enabled_flags_unleash_shape_etag_and_304() {
    let flags = flags();
    let app = frontend(&flags, config());
    let (res, body) = send(&app, get("/api/frontend?userId=ann", Some(FRONT))).await;
    assert_eq!(res.headers()["cache-control"], "no-cache");
    assert_eq!(names(&body), ["exp", "guarded", "vip"]);
    let exp = &body["toggles"][0];
    assert_eq!(
        exp,
        &json!({"name": "exp", "enabled": true, "impressionData": false, "variant": {
            "name": "blue", "enabled": true, "payload": {"type": "string", "value": "b"},
            "feature_enabled": true, "featureEnabled": true}})
    );
    assert_eq!(
        body["toggles"][2]["variant"],
        json!({"name": "disabled", "enabled": false, "feature_enabled": true, "featureEnabled": true})
    );
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();

    let again = Request::get("/api/frontend?userId=ann")
        .header("authorization", FRONT)
        .header("if-none-match", &etag)
        .body(Body::empty())
        .unwrap();
    let (res, _) = send(&app, again).await;
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);

    // The same context in a POST body answers the same.
    let post = Request::post("/api/frontend")
        .header("authorization", FRONT)
        .header("content-type", "application/json")
        .body(Body::from(r#"{"context": {"userId": "ann"}}"#))
        .unwrap();
    let (res, posted) = send(&app, post).await;
    assert_eq!((res.status(), &posted), (StatusCode::OK, &body));
    assert_eq!(res.headers()["etag"], etag.as_str());

    // A change: the old tag no longer matches.
    flags.writer("ops").commit(Edit::kill("vip")).await.unwrap();
    let stale = Request::get("/api/frontend?userId=ann")
        .header("authorization", FRONT)
        .header("if-none-match", &etag)
        .body(Body::empty())
        .unwrap();
    let (res, body) = send(&app, stale).await;
    assert_eq!(res.status(), 200);
    assert_eq!(names(&body), ["exp", "guarded"]);
}

#[tokio::test]
async fn cors_preflight_allows_the_sdk_headers_and_exposes_the_etag() {
    let app = frontend(&flags(), config());
    let preflight = Request::builder()
        .method("OPTIONS")
        .uri("/api/frontend")
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "GET")
        .header(
            "access-control-request-headers",
            "authorization,if-none-match",
        )
        .body(Body::empty())
        .unwrap();
    let (res, _) = send(&app, preflight).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    let allowed = res.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap();
    for h in [
        "authorization",
        "content-type",
        "if-none-match",
        "unleash-sdk",
        "unleash-appname",
        "unleash-connection-id",
    ] {
        assert!(allowed.contains(h), "{h} in {allowed}");
    }
    let mut req = get("/api/frontend", Some(FRONT));
    req.headers_mut()
        .insert("origin", "https://shop.example".parse().unwrap());
    let (res, _) = send(&app, req).await;
    assert_eq!(res.headers()["access-control-expose-headers"], "ETag");

    let strict = frontend(&flags(), config().cors_origins(["https://shop.example"]));
    for (origin, allowed) in [
        ("https://shop.example", true),
        ("https://evil.example", false),
    ] {
        let mut req = get("/api/frontend", Some(FRONT));
        req.headers_mut().insert("origin", origin.parse().unwrap());
        let (res, _) = send(&strict, req).await;
        let h = res.headers();
        assert_eq!(
            h.get("access-control-allow-origin").is_some(),
            allowed,
            "{origin}"
        );
        if allowed {
            assert_eq!(h["access-control-allow-origin"], origin);
            assert_eq!(h["access-control-allow-credentials"], "true");
        }
    }
}

#[tokio::test]
async fn a_client_supplies_only_the_allowed_fields() {
    let flags = flags();
    let q = "/api/frontend?userId=x&properties%5Bbeta%5D=true&email=a%40acme.com&remoteAddress=192.0.2.9";
    // By default: no properties, and the remote address is the peer's.
    let app = frontend(&flags, config());
    let mut req = get(q, Some(FRONT));
    req.extensions_mut().insert(ConnectInfo(
        "198.51.100.4:5000".parse::<SocketAddr>().unwrap(),
    ));
    let (_, body) = send(&app, req).await;
    assert_eq!(names(&body), ["exp", "guarded"]);

    let mut req = get(q, Some(FRONT));
    req.extensions_mut()
        .insert(ConnectInfo("192.0.2.1:5000".parse::<SocketAddr>().unwrap()));
    let (_, body) = send(&app, req).await;
    assert_eq!(names(&body), ["exp", "guarded", "office"]);

    // Allowed: properties (unknown top-level keys are properties too).
    let open = frontend(&flags, config().client_fields(["userId", "*"]));
    let (_, body) = send(&open, get(q, Some(FRONT))).await;
    assert_eq!(
        names(&body),
        ["beta_search", "exp", "guarded", "staff_tools"]
    );
}

#[tokio::test]
async fn behind_the_layer_the_servers_user_and_properties_win() {
    let flags = flags();
    let app = Router::new()
        .nest_service(
            "/api/frontend",
            flags.frontend_router(config().client_fields(["userId", "*"])),
        )
        .layer(
            FlagsLayer::new(flags.clone())
                .user_header("x-user-id")
                .unwrap(),
        );
    // The server knows "eve"; the browser claims ann, beta and staff.
    let req = Request::get("/api/frontend?userId=ann&properties%5Bbeta%5D=true&email=x%40acme.com")
        .header("authorization", FRONT)
        .header("x-user-id", "eve")
        .body(Body::empty())
        .unwrap();
    let (_, body) = send(&app, req).await;
    // Not vip (ann's); beta and email are allowed here and the server has none.
    assert_eq!(
        names(&body),
        ["beta_search", "exp", "guarded", "staff_tools"]
    );

    let app = Router::new()
        .nest_service(
            "/api/frontend",
            flags.frontend_router(config().client_fields(["userId", "*"])),
        )
        .layer(FlagsLayer::new(flags.clone()).user(|u: &(String, bool)| {
            flags_middleware::Context::new()
                .user_id(u.0.as_str())
                .property("beta", u.1.to_string())
        }))
        .layer(axum::Extension(("eve".to_owned(), false)));
    let (_, body) = send(
        &app,
        get(
            "/api/frontend?userId=ann&properties%5Bbeta%5D=true",
            Some(FRONT),
        ),
    )
    .await;
    assert_eq!(
        names(&body),
        ["exp", "guarded"],
        "the server's beta=false wins"
    );
}

#[tokio::test]
async fn sdk_metrics_are_counted_and_bad_bodies_refused() {
    let flags = flags();
    let app = frontend(&flags, config());
    let post = |path: &str, body: &str| {
        Request::post(path)
            .header("authorization", FRONT)
            .header("content-type", "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap()
    };
    let report = r#"{"appName": "web", "instanceId": "browser", "bucket": {"start": "2026-01-01T00:00:00Z",
        "stop": "2026-01-01T00:00:30Z", "toggles": {"exp": {"yes": 3, "no": 1, "variants": {"blue": 3}}}}}"#;
    let (res, _) = send(&app, post("/api/frontend/client/metrics", report)).await;
    assert_eq!(res.status(), 200);
    let (res, body) = send(&app, post("/api/frontend/client/metrics", "{}")).await;
    assert_eq!(res.status(), 400);
    assert!(
        body["message"].as_str().unwrap().contains("bucket"),
        "{body}"
    );
    let (res, body) = send(&app, post("/api/frontend", "{not json")).await;
    assert_eq!(res.status(), 400);
    assert!(
        body["message"].as_str().unwrap().contains("context"),
        "{body}"
    );
    let (res, _) = send(
        &app,
        post("/api/frontend/client/register", r#"{"appName": "web"}"#),
    )
    .await;
    assert_eq!(res.status(), 200);
    let exp = flags.client_exposures().snapshot();
    let exp = exp.flag("exp").unwrap();
    assert_eq!((exp.yes, exp.no, exp.variants["blue"]), (3, 1, 3));
    // A frontend token reads answers only: no metrics without one.
    let mut req = post("/api/frontend/client/metrics", report);
    req.headers_mut().remove("authorization");
    assert_eq!(send(&app, req).await.0.status(), 401);
}

#[tokio::test]
async fn decisions_emit_events_marked_as_served_to_a_client() {
    let (rec, _guard) = Recorder::install();
    let app = frontend(&flags(), config());
    let (res, _) = send(&app, get("/api/frontend?userId=ann", Some(FRONT))).await;
    assert_eq!(res.status(), 200);
    let events = rec.with_target("flags::decision");
    assert_eq!(
        events.len(),
        flags().snapshot().len(),
        "one per flag decided"
    );
    assert!(
        events.iter().all(|e| e.name == "feature_flag.evaluation"),
        "named as the layer's decision events are"
    );
    let vip = events
        .iter()
        .find(|e| e.str("feature_flag.key") == "vip")
        .unwrap();
    assert_eq!(vip.str("feature_flag.served_to"), "client");
    assert_eq!(vip.str("feature_flag.context.id"), "ann");
    assert_eq!(vip.field("feature_flag.result.value"), Some(&json!(true)));
}

fn client_api(flags: &Flags) -> Router {
    Router::new().nest_service(
        "/api/client",
        flags.client_router(ClientApiConfig::new([CLIENT]).other_tokens([FRONT])),
    )
}

#[tokio::test]
async fn the_client_api_serves_unleash_json_with_etags_and_segments_by_spec() {
    let flags = flags();
    let app = client_api(&flags);
    for (token, status) in [
        (None, 401),
        (Some(FRONT), 403),
        (Some("Bearer client-token"), 200),
    ] {
        let (res, _) = send(&app, get("/api/client/features", token)).await;
        assert_eq!(res.status(), status, "{token:?}");
    }
    let spec = |v: Option<&str>, etag: Option<&str>| {
        let mut b = Request::get("/api/client/features").header("authorization", CLIENT);
        if let Some(v) = v {
            b = b.header("unleash-client-spec", v);
        }
        if let Some(e) = etag {
            b = b.header("if-none-match", e);
        }
        b.body(Body::empty()).unwrap()
    };
    let (res, body) = send(&app, spec(Some("5.2.0"), None)).await;
    assert_eq!(body["version"], 2);
    assert_eq!(
        body["segments"][0]["constraints"][0]["contextName"],
        "email"
    );
    let staff = body["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "staff_tools")
        .unwrap();
    assert_eq!(
        staff["strategies"][0]["segments"],
        json!([body["segments"][0]["id"]])
    );
    let guarded = body["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "guarded")
        .unwrap();
    assert!(
        guarded.get("guard").is_none() && guarded.get("plan").is_none(),
        "{guarded}"
    );
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let (res, _) = send(&app, spec(Some("5.2.0"), Some(&etag))).await;
    assert_eq!(res.status(), 304);

    // An older SDK: segment constraints inlined, no segments list.
    let (_, old) = send(&app, spec(None, None)).await;
    assert!(old.get("segments").is_none(), "{old}");
    let staff = old["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "staff_tools")
        .unwrap();
    assert_eq!(staff["strategies"][0]["segments"], json!([]));
    assert_eq!(
        staff["strategies"][0]["constraints"][0]["contextName"],
        "email"
    );

    // An admin change reaches the next poll.
    flags.writer("ops").commit(Edit::kill("exp")).await.unwrap();
    let (res, body) = send(&app, spec(Some("5.2.0"), Some(&etag))).await;
    assert_eq!(res.status(), 200);
    let exp = body["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "exp")
        .unwrap();
    assert_eq!(exp["enabled"], false);

    for path in ["/api/client/register", "/api/client/metrics"] {
        let req = Request::post(path)
            .header("authorization", CLIENT)
            .body(Body::from(
                r#"{"appName": "svc", "instanceId": "1", "bucket": {"toggles": {"exp": {"yes": 1, "no": 0}}}}"#,
            ))
            .unwrap();
        assert_eq!(send(&app, req).await.0.status(), 202, "{path}");
    }
    assert_eq!(
        flags.client_exposures().snapshot().flag("exp").unwrap().yes,
        1
    );
}
