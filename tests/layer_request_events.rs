//! The default decision log, [`DecisionLog::PerRequest`]: a request's
//! decisions all ride on its one `flags::request` event (arm, reason,
//! version, and which were forced, random or unknown), and no
//! `flags::decision` event is emitted. The per-decision mode is tested in
//! `layer_events.rs`.

mod support;

use axum::body::{to_bytes, Body};
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum::Router;
use flags_middleware::layer::DecisionLog;
use flags_middleware::testing::FORCE_HEADER;
use flags_middleware::{FlagContext, Flags, FlagsLayer};
use serde_json::{json, Value};
use support::{JsonLines, Recorder};
use tower::ServiceExt;

const SEED: &str = r#"{"features": [
  {"name": "new_checkout_flow", "enabled": true, "strategies": [
    {"name": "userWithId", "parameters": {"userIds": "user_123"}}]},
  {"name": "legacy_api", "enabled": false, "strategies": [{"name": "default"}]},
  {"name": "exp", "enabled": true, "strategies": [{"name": "default"}], "variants": [
    {"name": "blue", "weight": 1000}]},
  {"name": "coin", "enabled": true, "strategies": [
    {"name": "flexibleRollout", "parameters": {"rollout": "50", "stickiness": "default"}}]}
]}"#;

/// Asks three flags (one of them twice), then fails on `?fail`.
async fn product(flags: FlagContext, uri: axum::http::Uri) -> (StatusCode, String) {
    let a = flags.is_enabled("new_checkout_flow");
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

/// A coin flip, a typo and a flag that may be forced, in one request.
async fn mixed(flags: FlagContext) -> String {
    let coin = flags.is_enabled("coin");
    let typo = flags.is_enabled("no_such_flag");
    let legacy = flags.is_enabled("legacy_api");
    format!("{coin} {typo} {legacy}")
}

fn layer() -> FlagsLayer {
    FlagsLayer::new(Flags::from_unleash_json(SEED).unwrap())
        .user_header("x-user-id")
        .unwrap()
}

fn app(layer: FlagsLayer) -> Router {
    Router::new()
        .route("/api/v1/products/{id}", get(product))
        .route("/mixed", get(mixed))
        .route("/quiet", get(|| async { "no flags here" }))
        .layer(layer)
}

async fn call(app: &Router, uri: &str, headers: &[(&str, &str)]) -> StatusCode {
    let mut req = Request::builder().uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
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

#[tokio::test]
async fn by_default_one_event_per_request_carries_every_decision() {
    let (rec, _guard) = Recorder::install();
    let app = app(layer());
    call(&app, "/api/v1/products/1", &[("x-user-id", "user_123")]).await;
    call(&app, "/api/v1/products/2?fail", &[("x-user-id", "user_9")]).await;
    call(&app, "/quiet", &[("x-user-id", "user_9")]).await;

    assert!(
        rec.with_target("flags::decision").is_empty(),
        "no event per decision by default"
    );
    let requests = rec.with_target("flags::request");
    assert_eq!(
        requests.len(),
        2,
        "one per request that asked: {requests:#?}"
    );
    assert_eq!(rec.events().len(), 2, "and nothing else");
    let names = [
        "http.request.method",
        "http.route",
        "http.response.status_code",
        "error",
        "feature_flag.context.id",
        "feature_flag.context.kind",
        "feature_flag.version",
        "feature_flag.decisions",
        "feature_flag.reasons",
        "feature_flag.forced",
        "feature_flag.random",
        "error.type",
        "message",
    ];
    let fields = |e: &support::Recorded| {
        Value::Object(
            names
                .iter()
                .map(|n| ((*n).to_owned(), e.field(n).cloned().unwrap_or(Value::Null)))
                .collect(),
        )
    };
    assert_eq!(
        fields(&requests[0]),
        json!({
            "http.request.method": "GET",
            "http.route": "/api/v1/products/{id}",
            "http.response.status_code": 200,
            "error": false,
            "feature_flag.context.id": "user_123",
            "feature_flag.context.kind": "user",
            "feature_flag.version": 1,
            "feature_flag.decisions": "new_checkout_flow=on,legacy_api=off,exp=blue",
            "feature_flag.reasons": "new_checkout_flow=targeting_match,legacy_api=disabled,exp=static",
            // Nothing forced, random or unknown: the fields are left out.
            "feature_flag.forced": null,
            "feature_flag.random": null,
            "error.type": null,
            "message": "request finished",
        })
    );
    assert_eq!(
        fields(&requests[1])["feature_flag.decisions"],
        json!("new_checkout_flow=off,legacy_api=off,exp=blue")
    );
    assert_eq!(
        fields(&requests[1])["feature_flag.reasons"],
        json!("new_checkout_flow=default,legacy_api=disabled,exp=static")
    );
    assert_eq!(fields(&requests[1])["error"], json!(true));
}

#[tokio::test]
async fn forced_random_and_unknown_flags_are_named_on_the_request_event() {
    let (rec, _guard) = Recorder::install();
    let app = app(layer().without_session_cookie().allow_overrides(true));
    call(&app, "/mixed", &[(FORCE_HEADER, "legacy_api=on")]).await;
    let requests = rec.with_target("flags::request");
    assert_eq!(requests.len(), 1);
    let e = &requests[0];
    let coin = if e.str("feature_flag.decisions").starts_with("coin=on") {
        "on"
    } else {
        "off"
    };
    assert_eq!(
        e.str("feature_flag.decisions"),
        format!("coin={coin},no_such_flag=off,legacy_api=on")
    );
    // The 50% roll decided, whichever way it went.
    assert_eq!(
        e.str("feature_flag.reasons"),
        "coin=split,no_such_flag=error,legacy_api=targeting_match"
    );
    assert_eq!(e.str("feature_flag.forced"), "legacy_api");
    assert_eq!(e.str("feature_flag.random"), "coin", "no user, no session");
    assert_eq!(e.str("error.type"), "no_such_flag=flag_not_found");
    assert_eq!(e.str("feature_flag.context.kind"), "none");
}

#[tokio::test]
async fn per_decision_mode_still_logs_each_decision() {
    let (rec, _guard) = Recorder::install();
    let app = app(layer().decision_log(DecisionLog::PerDecision));
    call(&app, "/api/v1/products/1", &[("x-user-id", "user_123")]).await;
    let keys: Vec<String> = rec
        .with_target("flags::decision")
        .iter()
        .map(|e| e.str("feature_flag.key").to_owned())
        .collect();
    assert_eq!(keys, ["new_checkout_flow", "legacy_api", "exp"]);
    let requests = rec.with_target("flags::request");
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].str("feature_flag.decisions"),
        "new_checkout_flow=on,legacy_api=off,exp=blue"
    );
    // The reasons are on the decision events; the request event is the seed's.
    assert!(requests[0].field("feature_flag.reasons").is_none());
}

#[tokio::test]
async fn per_decision_mode_with_decision_events_filtered_keeps_the_reasons() {
    // Decision events wanted, but the subscriber's filter turns them away:
    // the request event is then the only line, so it carries the reasons.
    let (buf, _guard) = JsonLines::install("flags=info,flags::decision=off");
    let app = app(layer().decision_log(DecisionLog::PerDecision));
    call(&app, "/api/v1/products/1", &[("x-user-id", "user_123")]).await;
    let text = buf.text();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert_eq!(lines[0]["target"], "flags::request");
    assert_eq!(
        lines[0]["fields"]["feature_flag.reasons"],
        "new_checkout_flow=targeting_match,legacy_api=disabled,exp=static"
    );
}

#[tokio::test]
async fn a_request_dropped_before_it_answers_is_counted_and_logged_as_499() {
    let (rec, _guard) = Recorder::install();
    let flags = Flags::from_unleash_json(SEED).unwrap();
    let hangs = |f: FlagContext| async move {
        let _ = f.is_enabled("new_checkout_flow");
        std::future::pending::<()>().await;
    };
    let layer = FlagsLayer::new(flags.clone())
        .user_header("x-user-id")
        .unwrap();
    let app = Router::new().route("/hang", get(hangs)).layer(layer);
    let req = Request::get("/hang").header("x-user-id", "user_123");
    // What a client hanging up, or a timeout layer outside, does: give up
    // on the response and drop it.
    let answer = app.oneshot(req.body(Body::empty()).unwrap());
    let gave_up = tokio::time::timeout(std::time::Duration::from_millis(20), answer).await;
    assert!(gave_up.is_err(), "the handler never answers");

    let metrics = flags.metrics().snapshot();
    let on = metrics.arm("new_checkout_flow", "on").unwrap();
    assert_eq!((on.requests, on.errors), (1, 1), "a failure of its arm");
    let requests = rec.with_target("flags::request");
    assert_eq!(requests.len(), 1);
    let e = &requests[0];
    assert_eq!(e.field("http.response.status_code"), Some(&json!(499)));
    assert_eq!(e.field("error"), Some(&json!(true)));
    assert_eq!(e.str("feature_flag.decisions"), "new_checkout_flow=on");
}

#[tokio::test]
async fn request_events_off_means_no_decision_is_logged() {
    let (rec, _guard) = Recorder::install();
    let app = app(layer().request_events(None));
    call(&app, "/api/v1/products/1", &[("x-user-id", "user_123")]).await;
    assert!(rec.events().is_empty(), "{:#?}", rec.events());
}

#[tokio::test]
async fn json_lines_answer_the_seed_queries_from_one_line_per_request() {
    let (buf, _guard) = JsonLines::install("flags=info");
    let app = app(layer());
    let calls = [
        ("user_123", false),
        ("user_123", true),
        ("user_7", false),
        ("user_8", true),
    ];
    for (user, fail) in calls {
        let uri = if fail {
            "/api/v1/products/1?fail"
        } else {
            "/api/v1/products/1"
        };
        call(&app, uri, &[("x-user-id", user)]).await;
    }
    let text = buf.text();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), calls.len(), "one line per request:\n{text}");

    // Which users hit the new feature?
    let users: std::collections::BTreeSet<&str> = lines
        .iter()
        .filter(|l| {
            let decisions = l["fields"]["feature_flag.decisions"].as_str().unwrap();
            decisions.split(',').any(|d| d == "new_checkout_flow=on")
        })
        .map(|l| l["fields"]["feature_flag.context.id"].as_str().unwrap())
        .collect();
    assert_eq!(users.into_iter().collect::<Vec<_>>(), ["user_123"]);

    // Error rate by feature and arm.
    let mut by_arm = std::collections::BTreeMap::<String, (u32, u32)>::new();
    for l in &lines {
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
