//! The Prometheus exposition, read back with a real parser
//! (`prometheus-parse`): standalone at `GET /metrics`, and in the admin API
//! at `GET /_metrics` behind a read token, with the guard's verdicts.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum::Router;
use flags_middleware::admin::{AdminConfig, Role};
use flags_middleware::export::Prometheus;
use flags_middleware::guard::{Guard, GuardConfig};
use flags_middleware::{FlagContext, Flags, FlagsLayer};
use prometheus_parse::{HistogramCount, Scrape, Value};
use tower::ServiceExt;

const FLAGS: &str = r#"
[new_checkout_flow]
users = ["alice", "bob"]

[checkout_experiment]
variants = { blue = 50, green = 50 }
"#;

/// `/checkout` asks both flags and fails for `bob`; `/metrics` is the scrape.
fn app(flags: &Flags) -> Router {
    Router::new()
        .route(
            "/checkout",
            get(|f: FlagContext| async move {
                let _ = f.variant("checkout_experiment");
                let on = f.is_enabled("new_checkout_flow");
                if f.context().get_user_id() == Some("bob") {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else if on {
                    StatusCode::OK
                } else {
                    StatusCode::NO_CONTENT
                }
            }),
        )
        .layer(
            FlagsLayer::new(flags.clone())
                .user_header("x-user-id")
                .unwrap(),
        )
        .merge(Prometheus::new(flags).router())
}

async fn get_text(app: &Router, path: &str, token: Option<&str>) -> (StatusCode, String, String) {
    let mut req = Request::get(path);
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let kind = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = to_bytes(res.into_body(), 1 << 24).await.unwrap();
    (status, kind, String::from_utf8(body.to_vec()).unwrap())
}

fn parse(text: &str) -> Scrape {
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("parses")
}

/// The samples of `metric`, keyed by their labels (sorted `k=v` pairs).
fn samples(scrape: &Scrape, metric: &str) -> HashMap<String, Value> {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric)
        .map(|s| {
            let mut labels: Vec<String> =
                s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            labels.sort();
            (labels.join(","), s.value.clone())
        })
        .collect()
}

fn counter(scrape: &Scrape, metric: &str, labels: &str) -> f64 {
    match samples(scrape, metric).get(labels) {
        Some(Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v)) => *v,
        other => panic!("{metric}{{{labels}}}: {other:?}"),
    }
}

#[tokio::test]
async fn counters_histogram_and_version_parse_back() {
    let flags = Flags::from_toml_str(FLAGS, "flags.toml").unwrap();
    let app = app(&flags);
    for user in ["alice", "alice", "bob", "carol"] {
        let req = Request::get("/checkout")
            .header("x-user-id", user)
            .body(Body::empty())
            .unwrap();
        app.clone().oneshot(req).await.unwrap();
    }

    let (status, kind, text) = get_text(&app, "/metrics", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kind, "text/plain; version=0.0.4; charset=utf-8");
    let scrape = parse(&text);

    let on = "arm=on,flag=new_checkout_flow";
    let off = "arm=off,flag=new_checkout_flow";
    assert_eq!(counter(&scrape, "flags_requests_total", on), 3.0);
    assert_eq!(counter(&scrape, "flags_requests_total", off), 1.0);
    assert_eq!(
        counter(&scrape, "flags_request_errors_total", on),
        1.0,
        "bob's 500"
    );
    assert_eq!(counter(&scrape, "flags_request_errors_total", off), 0.0);
    let arms: f64 = samples(&scrape, "flags_requests_total")
        .iter()
        .filter(|(k, _)| k.ends_with("flag=checkout_experiment"))
        .map(|(_, v)| match v {
            Value::Counter(v) => *v,
            _ => panic!(),
        })
        .sum();
    assert_eq!(arms, 4.0, "every request got blue or green");

    // The histogram: cumulative buckets in seconds, +Inf = the count.
    let hist = samples(&scrape, "flags_request_duration_seconds");
    let Some(Value::Histogram(buckets)) = hist.get(on) else {
        panic!("no histogram for {on}: {hist:?}")
    };
    let bounds: Vec<f64> = buckets.iter().map(|b| b.less_than).collect();
    assert_eq!(bounds.first(), Some(&0.001));
    assert_eq!(bounds[bounds.len() - 2], 10.0);
    assert!(bounds.last().unwrap().is_infinite());
    assert!(
        buckets.windows(2).all(|w| w[0].count <= w[1].count),
        "cumulative"
    );
    assert_eq!(
        buckets.last(),
        Some(&HistogramCount {
            less_than: f64::INFINITY,
            count: 3.0
        })
    );
    assert!(text.contains(
        "flags_request_duration_seconds_count{flag=\"new_checkout_flow\",arm=\"on\"} 3\n"
    ));
    assert!(
        text.contains("flags_request_duration_seconds_sum{flag=\"new_checkout_flow\",arm=\"on\"} ")
    );

    assert_eq!(
        counter(&scrape, "flags_version", ""),
        flags.version() as f64
    );
    assert_eq!(counter(&scrape, "flags_flags", ""), 2.0);
    assert_eq!(counter(&scrape, "flags_metrics_dropped_total", ""), 0.0);
    // Every family has its HELP and TYPE.
    for family in [
        "flags_requests_total counter",
        "flags_request_errors_total counter",
        "flags_request_duration_seconds histogram",
        "flags_version gauge",
    ] {
        assert!(text.contains(&format!("# TYPE {family}\n")), "{family}");
    }
}

/// A name no flag has is counted by name (the typo an alert should catch),
/// and a found name never appears there.
#[tokio::test]
async fn unknown_flag_names_are_counted_by_name() {
    let flags = Flags::from_toml_str(FLAGS, "flags.toml").unwrap();
    let ctx = flags_middleware::Context::new().user_id("ann");
    for _ in 0..3 {
        assert!(!flags.is_enabled("new_chekout_flow", &ctx));
    }
    assert!(!flags.is_enabled("old \"banner\"", &ctx));
    flags.is_enabled("new_checkout_flow", &ctx);

    let (status, _, text) = get_text(&app(&flags), "/metrics", None).await;
    assert_eq!(status, StatusCode::OK);
    let scrape = parse(&text);
    assert_eq!(
        counter(
            &scrape,
            "flags_unknown_requests_total",
            "flag=new_chekout_flow"
        ),
        3.0
    );
    assert!(
        text.contains("flags_unknown_requests_total{flag=\"old \\\"banner\\\"\"} 1\n"),
        "{text}"
    );
    let unknown = samples(&scrape, "flags_unknown_requests_total");
    assert_eq!(unknown.len(), 2, "{unknown:?}");
    assert_eq!(counter(&scrape, "flags_unknown_other_total", ""), 0.0);
    assert!(text.contains("# TYPE flags_unknown_requests_total counter\n"));
}

/// Series are bounded: past 4,096 flag and arm pairs per `Flags` handle a
/// request's sample is dropped, and the drop is counted.
#[tokio::test]
async fn past_4096_pairs_samples_are_dropped_and_counted() {
    const FLAGS: usize = 4_100;
    let toml: String = (0..FLAGS).map(|i| format!("[f{i}]\n")).collect();
    let flags = Flags::from_toml_str(&toml, "flags.toml").unwrap();
    let app = Router::new()
        .route(
            "/all",
            get(|f: FlagContext| async move {
                let on = (0..FLAGS).filter(|i| f.is_enabled(format!("f{i}"))).count();
                on.to_string()
            }),
        )
        .layer(FlagsLayer::new(flags.clone()))
        .merge(Prometheus::new(&flags).router());

    let (status, _, body) = get_text(&app, "/all", None).await;
    assert_eq!((status, body), (StatusCode::OK, FLAGS.to_string()));
    let (_, _, text) = get_text(&app, "/metrics", None).await;
    // Read by line: the parser takes seconds over 70,000 series.
    let series = |name: &str| text.lines().filter(|l| l.starts_with(name)).count();
    let capacity = flags_middleware::metrics::Metrics::DEFAULT_CAPACITY;
    assert_eq!(series("flags_requests_total{"), capacity);
    let dropped = FLAGS - capacity;
    assert!(
        text.contains(&format!("\nflags_metrics_dropped_total {dropped}\n")),
        "{}",
        &text[..2_000]
    );
    assert_eq!(flags.metrics().snapshot().dropped, dropped as u64);
}

#[tokio::test]
async fn label_values_are_escaped() {
    let flags = Flags::from_toml_str(FLAGS, "flags.toml").unwrap();
    // An arm named by an Unleash variant may hold anything.
    let arm = "say \"hi\"\\\nbye";
    flags
        .metrics()
        .record("checkout_experiment", arm, 200, Duration::from_millis(3));
    let text = Prometheus::new(&flags).render();
    let line = r#"flags_requests_total{flag="checkout_experiment",arm="say \"hi\"\\\nbye"} 1"#;
    assert!(text.lines().any(|l| l == line), "{text}");
    // Still one line per sample, and the parser reads it as one sample.
    let scrape = parse(&text);
    let found: Vec<_> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == "flags_requests_total")
        .collect();
    assert_eq!(found.len(), 1);
    let escaped = found[0].labels.get("arm").unwrap();
    assert_eq!(unescape(escaped), arm);
}

/// The text format's label-value escapes, undone.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(c) => out.push(c),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[tokio::test]
async fn the_admin_api_serves_it_behind_a_read_token_with_the_guards_verdicts() {
    let flags = Flags::from_toml_str(FLAGS, "flags.toml").unwrap();
    let guard = Guard::for_flags(&flags)
        .watch("new_checkout_flow", GuardConfig::new())
        .build();
    let config = AdminConfig::new()
        .token("scraper", "a-read-token-for-prometheus", Role::Read)
        .guard(guard.clone());
    let app: Router = Router::new().nest_service("/admin/flags", flags.admin_router(config));

    let (status, _, _) = get_text(&app, "/admin/flags/_metrics", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, text) = get_text(
        &app,
        "/admin/flags/_metrics",
        Some("a-read-token-for-prometheus"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let scrape = parse(&text);
    let flag = "flag=new_checkout_flow";
    assert_eq!(
        counter(&scrape, "flags_guard_verdict", flag),
        0.0,
        "no check yet"
    );
    assert_eq!(counter(&scrape, "flags_guard_kills_total", flag), 0.0);

    // The new arm fails every request, the old one none: the guard kills.
    guard.check().await;
    for _ in 0..400 {
        flags
            .metrics()
            .record("new_checkout_flow", "on", 500, Duration::from_millis(2));
        flags
            .metrics()
            .record("new_checkout_flow", "off", 200, Duration::from_millis(2));
    }
    guard.check().await;
    let (_, _, text) = get_text(
        &app,
        "/admin/flags/_metrics",
        Some("a-read-token-for-prometheus"),
    )
    .await;
    let scrape = parse(&text);
    assert_eq!(counter(&scrape, "flags_guard_verdict", flag), 3.0, "{text}");
    assert_eq!(counter(&scrape, "flags_guard_kills_total", flag), 1.0);
    assert_eq!(
        counter(&scrape, "flags_version", ""),
        flags.version() as f64
    );
}

#[tokio::test]
async fn the_example_serves_metrics_without_a_token() {
    let flags = Flags::from_toml_str(FLAGS, "flags.toml").unwrap();
    let admin = AdminConfig::new().token("ops", "the-example-admin-token", Role::Write);
    let app = flags_examples::checkout_app::app(flags.clone(), admin);
    let req = Request::get("/api/v1/products/42")
        .header("x-user-id", "alice")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        app.clone().oneshot(req).await.unwrap().status(),
        StatusCode::OK
    );

    let (status, kind, text) = get_text(&app, "/metrics", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kind, Prometheus::CONTENT_TYPE);
    let scrape = parse(&text);
    // The example's product handler is gated on `new_checkout_flow`.
    assert_eq!(
        counter(
            &scrape,
            "flags_requests_total",
            "arm=on,flag=new_checkout_flow"
        ),
        1.0
    );
    // The admin API's copy wants a token.
    let (status, _, _) = get_text(&app, "/admin/flags/_metrics", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
