//! "Set the rollout to 25%" means one definition, whoever asks: the admin
//! API's `PUT /{name}/rollout`, the CLI's `flags rollout NAME 25` (the same
//! request over real HTTP), and a rollout guard's plan step. Each writer
//! gets its own copy of the same flags; afterwards every flag is defined
//! the same way in all three, or all three refuse with the same words.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use flags_middleware::admin::{AdminConfig, Role};
use flags_middleware::guard::{
    EventKind, FlagsApplier, Guard, GuardConfig, ManualClock, ManualCounts, Plan,
};
use flags_middleware::model::Feature;
use flags_middleware::Flags;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use tower::ServiceExt;

const TOKEN: &str = "write-token-0123456789";
const PERCENT: u32 = 25;

const FLAGS: &str = r#"
[with_constraints]
rollout = 10
when = { beta = true }

[two_rules_agree]
[[two_rules_agree.rules]]
rollout = 10
when = { plan = "pro" }
[[two_rules_agree.rules]]
rollout = 10
when = { beta = true }

[two_rules_disagree]
[[two_rules_disagree.rules]]
rollout = 5
[[two_rules_disagree.rules]]
rollout = 100
when = { beta = true }

[no_rollout]
users = ["ann"]

[everyone]

[when_only]
when = { beta = true }
"#;

/// What each flag must look like at 25% (the one rollout rule); `None`:
/// refused, unchanged.
const EXPECTED: &[(&str, Option<&str>)] = &[
    (
        "with_constraints",
        Some("rollout = 25\nwhen = { beta = true }"),
    ),
    (
        "two_rules_agree",
        Some(
            "[[two_rules_agree.rules]]\nrollout = 25\nwhen = { plan = \"pro\" }\n\
             [[two_rules_agree.rules]]\nrollout = 25\nwhen = { beta = true }",
        ),
    ),
    ("two_rules_disagree", None),
    ("no_rollout", Some("users = [\"ann\"]\nrollout = 25")),
    ("everyone", Some("rollout = 25")),
    ("when_only", Some("when = { beta = true }\nrollout = 25")),
];

const REFUSAL: &str = "the flag has 2 rollout rules at different percentages (5%, 100%); \
                       replace its definition";

/// Per flag: its definition afterwards, or the refusal's message.
type Outcomes = BTreeMap<String, Result<Feature, String>>;

fn flags() -> Flags {
    Flags::from_toml_str(FLAGS, "flags.toml").unwrap()
}

fn definition(name: &str, body: &str) -> Feature {
    let text = format!("[{name}]\n{body}\n");
    flags_middleware::format::toml::parse(&text, "expected")
        .unwrap()
        .features
        .remove(0)
}

fn admin(flags: &Flags) -> Router {
    flags.admin_router(AdminConfig::new().token("ops", TOKEN, Role::Write))
}

/// The outcome of one admin API answer: the flag as it now is, or the
/// message of the one error, which must name the field `rollout`.
fn outcome(flags: &Flags, name: &str, status: StatusCode, body: &Value) -> Result<Feature, String> {
    if status == StatusCode::OK {
        return Ok(flags.snapshot().feature(name).unwrap());
    }
    assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {body}");
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{body}");
    assert_eq!(
        (errors[0]["flag"].as_str(), errors[0]["field"].as_str()),
        (Some(name), Some("rollout")),
        "{body}"
    );
    unchanged(flags, name);
    Err(errors[0]["message"].as_str().unwrap().to_owned())
}

/// A refused edit leaves the flag as it was.
fn unchanged(flags: &Flags, name: &str) {
    assert_eq!(
        flags.snapshot().feature(name),
        self::flags().snapshot().feature(name),
        "{name}"
    );
}

/// `PUT /{name}/rollout` with `{"percent": 25}`, handed to the router.
async fn by_admin_api() -> Outcomes {
    let flags = flags();
    let app = admin(&flags);
    let mut out = Outcomes::new();
    for (name, _) in EXPECTED {
        let req = Request::builder()
            .method(Method::PUT)
            .uri(format!("/{name}/rollout"))
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({ "percent": PERCENT }).to_string()))
            .unwrap();
        let res = app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        out.insert((*name).to_owned(), outcome(&flags, name, status, &body));
    }
    out
}

/// `flags --url URL rollout NAME 25`: the request the CLI builds (its
/// `admin_request("rollout", ..)`: `PUT {url}/{name}/rollout`, body
/// `{"percent": 25}`, a bearer token, JSON content type), sent by a hyper
/// client to the admin router served on a loopback port.
async fn by_cli() -> Outcomes {
    let flags = flags();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/admin/flags", listener.local_addr().unwrap());
    let app = Router::new().nest("/admin/flags", admin(&flags));
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut out = Outcomes::new();
    for (name, _) in EXPECTED {
        let req = hyper::Request::builder()
            .method("PUT")
            .uri(format!("{base}/{name}/rollout"))
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(
                json!({ "percent": PERCENT }).to_string(),
            )))
            .unwrap();
        let res = client.request(req).await.unwrap();
        let status = res.status();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        out.insert((*name).to_owned(), outcome(&flags, name, status, &body));
    }
    server.abort();
    out
}

/// A guard with a plan set in code for every flag, whose first step is
/// 25%: its first check takes the step on each.
async fn by_guard_plan_step() -> Outcomes {
    let flags = flags();
    let plan = Plan::new()
        .step(PERCENT, Duration::from_secs(86_400))
        .unwrap()
        .step(100, Duration::ZERO)
        .unwrap();
    let mut builder = Guard::builder(ManualCounts::new(), FlagsApplier::new(flags.clone()))
        .clock(ManualClock::new());
    for (name, _) in EXPECTED {
        builder = builder.plan(*name, GuardConfig::new(), plan.clone());
    }
    let events = builder.build().check().await;
    let mut out = Outcomes::new();
    for (name, _) in EXPECTED {
        let step = events
            .iter()
            .find(|e| e.flag == *name)
            .unwrap_or_else(|| panic!("{name}: no step in {events:?}"));
        let result = match &step.kind {
            EventKind::Advanced { to: PERCENT, .. } => Ok(flags.snapshot().feature(name).unwrap()),
            EventKind::AdvanceFailed { to: PERCENT, error } => {
                unchanged(&flags, name);
                let prefix = format!("flag `{name}`: ");
                Err(error.strip_prefix(&prefix).unwrap_or(error).to_owned())
            }
            other => panic!("{name}: {other:?}"),
        };
        out.insert((*name).to_owned(), result);
    }
    out
}

#[tokio::test]
async fn admin_api_cli_and_guard_plan_step_write_the_same_definition() {
    let admin = by_admin_api().await;
    let cli = by_cli().await;
    let guard = by_guard_plan_step().await;
    for (name, expected) in EXPECTED {
        let expected = match expected {
            Some(body) => Ok(definition(name, body)),
            None => Err(REFUSAL.to_owned()),
        };
        assert_eq!(admin[*name], expected, "{name}: the admin API");
        assert_eq!(cli[*name], expected, "{name}: the CLI");
        assert_eq!(guard[*name], expected, "{name}: the guard's plan step");
    }
}
