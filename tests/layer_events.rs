//! Decision and request events in the per-decision mode (the seed's: an
//! event per decision, and a request event naming the arms), captured with a
//! recording subscriber and checked field by field. The default, one event
//! per request, is tested in `layer_request_events.rs`.

mod support;

use axum::body::{to_bytes, Body};
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum::Router;
use flags_middleware::layer::{DecisionLog, IdHashKey, IdLogging};
use flags_middleware::{FlagContext, Flags, FlagsLayer};
use serde_json::{json, Value};
use support::{JsonLines, Recorded, Recorder};
use tower::ServiceExt;
use tracing::Level;

const SEED: &str = r#"{"features": [
  {"name": "new_checkout_flow", "enabled": true, "strategies": [
    {"name": "userWithId", "parameters": {"userIds": "user_123"}}]},
  {"name": "legacy_api", "enabled": false, "strategies": [{"name": "default"}]},
  {"name": "exp", "enabled": true, "strategies": [{"name": "default"}], "variants": [
    {"name": "blue", "weight": 1000}]},
  {"name": "coin", "enabled": true, "strategies": [
    {"name": "flexibleRollout", "parameters": {"rollout": "50", "stickiness": "default"}}]}
]}"#;

/// Asks three flags, one of them three times, then fails on `?fail`.
async fn product(flags: FlagContext, uri: axum::http::Uri) -> (StatusCode, String) {
    let a = flags.is_enabled("new_checkout_flow");
    let _ = flags.is_enabled("new_checkout_flow");
    let _ = flags.details("new_checkout_flow");
    let b = flags.is_enabled("legacy_api");
    let c = flags.variant("exp").name.to_owned();
    let status = if uri.query() == Some("fail") {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (status, format!("{a} {b} {c}"))
}

fn app(layer: FlagsLayer) -> Router {
    Router::new()
        .route("/api/v1/products/{id}", get(product))
        .route(
            "/coin",
            get(|f: FlagContext| async move { f.is_enabled("coin").to_string() }),
        )
        .route(
            "/missing",
            get(|f: FlagContext| async move { f.is_enabled("no_such_flag").to_string() }),
        )
        .route("/quiet", get(|| async { "no flags here" }))
        .layer(layer)
}

fn layer() -> FlagsLayer {
    FlagsLayer::new(Flags::from_unleash_json(SEED).unwrap())
        .user_header("x-user-id")
        .unwrap()
        .decision_log(DecisionLog::PerDecision)
}

async fn call(app: &Router, uri: &str, user: Option<&str>) -> StatusCode {
    let mut req = Request::builder().uri(uri);
    if let Some(user) = user {
        req = req.header("x-user-id", user);
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    to_bytes(res.into_body(), 1 << 16).await.unwrap();
    status
}

fn fields(e: &Recorded, names: &[&str]) -> Value {
    Value::Object(
        names
            .iter()
            .map(|n| ((*n).to_owned(), e.field(n).cloned().unwrap_or(Value::Null)))
            .collect(),
    )
}

const DECISION_FIELDS: &[&str] = &[
    "feature_flag.key",
    "feature_flag.result.variant",
    "feature_flag.result.reason",
    "feature_flag.result.value",
    "feature_flag.context.id",
    "feature_flag.context.kind",
    "feature_flag.version",
    "http.request.method",
    "http.route",
];

#[tokio::test]
async fn one_decision_event_per_flag_per_request_with_otel_fields() {
    let (rec, _guard) = Recorder::install();
    let app = app(layer());
    assert_eq!(
        call(&app, "/api/v1/products/42", Some("user_123")).await,
        StatusCode::OK
    );

    let decisions = rec.with_target("flags::decision");
    assert_eq!(
        decisions.len(),
        3,
        "new_checkout_flow was asked 3 times, logged once: {decisions:#?}"
    );
    assert!(decisions.iter().all(|e| e.level == Level::INFO));
    // Named as OpenTelemetry names the event.
    assert!(
        decisions
            .iter()
            .all(|e| e.name == "feature_flag.evaluation"),
        "{decisions:#?}"
    );
    let got: Vec<Value> = decisions
        .iter()
        .map(|e| fields(e, DECISION_FIELDS))
        .collect();
    let expect = |key: &str, variant: &str, reason: &str, value: bool| {
        json!({
            "feature_flag.key": key,
            "feature_flag.result.variant": variant,
            "feature_flag.result.reason": reason,
            "feature_flag.result.value": value,
            "feature_flag.context.id": "user_123",
            "feature_flag.context.kind": "user",
            "feature_flag.version": 1,
            "http.request.method": "GET",
            "http.route": "/api/v1/products/{id}",
        })
    };
    assert_eq!(
        got,
        vec![
            expect("new_checkout_flow", "on", "targeting_match", true),
            expect("legacy_api", "off", "disabled", false),
            expect("exp", "blue", "static", true),
        ]
    );
    // Only present when they apply.
    for e in &decisions {
        for absent in [
            "feature_flag.result.random",
            "feature_flag.forced",
            "error.type",
        ] {
            assert!(e.field(absent).is_none(), "{absent} in {e:?}");
        }
        assert_eq!(e.str("message"), "flag decision");
    }
}

#[tokio::test]
async fn one_request_event_with_status_latency_and_decisions() {
    let (rec, _guard) = Recorder::install();
    let app = app(layer());
    call(&app, "/api/v1/products/1", Some("user_123")).await;
    call(&app, "/api/v1/products/2?fail", Some("user_9")).await;
    call(&app, "/quiet", Some("user_9")).await;

    let requests = rec.with_target("flags::request");
    assert_eq!(
        requests.len(),
        2,
        "a request that asked no flag logs nothing: {requests:#?}"
    );
    let names = [
        "http.request.method",
        "http.route",
        "http.response.status_code",
        "error",
        "feature_flag.context.id",
        "feature_flag.version",
        "feature_flag.decisions",
        "message",
    ];
    assert_eq!(
        fields(&requests[0], &names),
        json!({
            "http.request.method": "GET",
            "http.route": "/api/v1/products/{id}",
            "http.response.status_code": 200,
            "error": false,
            "feature_flag.context.id": "user_123",
            "feature_flag.version": 1,
            "feature_flag.decisions": "new_checkout_flow=on,legacy_api=off,exp=blue",
            "message": "request finished",
        })
    );
    assert_eq!(
        requests[1].field("http.response.status_code"),
        Some(&json!(503))
    );
    assert_eq!(requests[1].field("error"), Some(&json!(true)));
    assert_eq!(
        requests[1].str("feature_flag.decisions"),
        "new_checkout_flow=off,legacy_api=off,exp=blue"
    );
    for r in &requests {
        // A number (the clock's value is not for a test to judge).
        assert!(r.field("latency_ms").is_some_and(Value::is_f64), "{r:?}");
    }
}

#[tokio::test]
async fn user_ids_kept_hashed_or_omitted() {
    let key = IdHashKey::new(*b"0123456789abcdef");
    let cases = [
        (IdLogging::Plain, Some("user_123".to_owned())),
        (IdLogging::Hashed(key.clone()), Some(key.hash("user_123"))),
        (IdLogging::Omitted, None),
    ];
    for (mode, want) in cases {
        let (rec, _guard) = Recorder::install();
        let app = app(layer().log_ids(mode));
        call(&app, "/api/v1/products/1", Some("user_123")).await;
        let events = rec.events();
        assert_eq!(events.len(), 4);
        for e in &events {
            assert_eq!(
                e.field("feature_flag.context.id").and_then(Value::as_str),
                want.as_deref(),
                "{e:?}"
            );
            // Whatever the mode, the raw id appears nowhere.
            if want.as_deref() != Some("user_123") {
                assert!(!format!("{:?}", e.fields).contains("user_123"), "{e:?}");
            }
        }
    }
}

#[tokio::test]
async fn no_sticky_id_is_visible_not_silently_off() {
    let (rec, _guard) = Recorder::install();
    let app = app(layer().without_session_cookie());
    for _ in 0..16 {
        call(&app, "/coin", None).await;
    }
    let decisions = rec.with_target("flags::decision");
    assert_eq!(decisions.len(), 16);
    for e in &decisions {
        assert_eq!(
            e.field("feature_flag.result.random"),
            Some(&json!(true)),
            "{e:?}"
        );
        assert_eq!(e.str("feature_flag.context.kind"), "none");
        assert!(e.field("feature_flag.context.id").is_none());
        // The 50% roll decided, whichever way it went.
        assert_eq!(e.str("feature_flag.result.reason"), "split");
    }
}

#[tokio::test]
async fn unknown_flags_carry_an_error_type() {
    let (rec, _guard) = Recorder::install();
    call(&app(layer()), "/missing", Some("u")).await;
    let d = &rec.with_target("flags::decision")[0];
    assert_eq!(d.str("error.type"), "flag_not_found");
    assert_eq!(d.str("feature_flag.result.reason"), "error");
    assert_eq!(d.str("feature_flag.result.variant"), "off");
}

#[tokio::test]
async fn levels_are_configurable_and_events_can_be_turned_off() {
    let (rec, _guard) = Recorder::install();
    let app = app(layer().decision_events(None).request_events(Level::DEBUG));
    call(&app, "/api/v1/products/1", Some("user_123")).await;
    assert!(rec.with_target("flags::decision").is_empty());
    let requests = rec.with_target("flags::request");
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].level, Level::DEBUG);
}

#[tokio::test]
async fn forced_flags_are_marked() {
    let (rec, _guard) = Recorder::install();
    let app = app(layer().allow_overrides(true));
    let req = Request::builder()
        .uri("/api/v1/products/1")
        .header(flags_middleware::testing::FORCE_HEADER, "legacy_api=on")
        .body(Body::empty())
        .unwrap();
    app.oneshot(req).await.unwrap();
    let d = rec.with_target("flags::decision");
    let legacy = d
        .iter()
        .find(|e| e.str("feature_flag.key") == "legacy_api")
        .unwrap();
    assert_eq!(legacy.field("feature_flag.forced"), Some(&json!(true)));
    assert_eq!(
        legacy.field("feature_flag.result.value"),
        Some(&json!(true))
    );
    let other = d
        .iter()
        .find(|e| e.str("feature_flag.key") == "exp")
        .unwrap();
    assert!(other.field("feature_flag.forced").is_none());
}

#[tokio::test]
async fn missing_layer_is_logged_at_a_fixed_target() {
    let (rec, _guard) = Recorder::install();
    let app = Router::new().route(
        "/",
        get(|f: FlagContext| async move { f.version().to_string() }),
    );
    let res = app.oneshot(Request::new(Body::empty())).await.unwrap();
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let logged = rec.with_target("flags::rejection");
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].level, Level::ERROR);
    assert_eq!(logged[0].field("status"), Some(&json!(500)));
}

#[tokio::test]
async fn json_formatter_output_answers_the_seed_queries() {
    // The README's log pipeline: tracing-subscriber's JSON formatter.
    let (buf, _guard) = JsonLines::install("flags=info");
    let app = app(layer());
    for (user, fail) in [
        ("user_123", false),
        ("user_123", true),
        ("user_7", false),
        ("user_8", true),
    ] {
        let uri = if fail {
            "/api/v1/products/1?fail"
        } else {
            "/api/v1/products/1"
        };
        call(&app, uri, Some(user)).await;
    }
    let text = buf.text();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();

    // Which users hit the new feature?
    let users: std::collections::BTreeSet<&str> = lines
        .iter()
        .filter(|l| l["target"] == "flags::decision")
        .filter(|l| l["fields"]["feature_flag.key"] == "new_checkout_flow")
        .filter(|l| l["fields"]["feature_flag.result.value"] == true)
        .map(|l| l["fields"]["feature_flag.context.id"].as_str().unwrap())
        .collect();
    assert_eq!(users.into_iter().collect::<Vec<_>>(), ["user_123"]);

    // Error rate by feature and arm.
    let mut by_arm = std::collections::BTreeMap::<String, (u32, u32)>::new();
    for l in lines.iter().filter(|l| l["target"] == "flags::request") {
        let error = l["fields"]["error"] == true;
        for d in l["fields"]["feature_flag.decisions"]
            .as_str()
            .unwrap()
            .split(',')
        {
            let e = by_arm.entry(d.to_owned()).or_default();
            e.0 += 1;
            e.1 += u32::from(error);
        }
    }
    assert_eq!(by_arm["new_checkout_flow=on"], (2, 1));
    assert_eq!(by_arm["new_checkout_flow=off"], (2, 1));
    assert_eq!(by_arm["exp=blue"], (4, 2));
}
