//! Inside a request behind `FlagsLayer` and `RequestScopeLayer`, OpenFeature
//! evaluations answer from the request's pinned snapshot and memo, and emit
//! the request's decision events.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::{to_bytes, Body};
use axum::extract::State;
use axum::routing::get;
use axum::Router;
use flags_middleware::edit::Edit;
use flags_middleware::layer::DecisionLog;
use flags_middleware::{FlagContext, Flags, FlagsLayer};
use flags_openfeature::{FlagsProvider, RequestScopeLayer};
use http::Request;
use open_feature::{Client, EvaluationContext, EvaluationReason, FlagMetadataValue, OpenFeature};
use tower::ServiceExt;
use tracing::subscriber::NoSubscriber;
use tracing::Dispatch;

const FLAGS: &str = "[new_checkout_flow]\nrollout = 100\n\n[dark_mode]\nusers = [\"ann\"]\n";

#[derive(Clone)]
struct App {
    flags: Flags,
    client: Arc<Client>,
}

fn version(d: &open_feature::EvaluationDetails<bool>) -> i64 {
    match d.flag_metadata.values.get("version") {
        Some(FlagMetadataValue::Int(v)) => *v,
        other => panic!("no version: {other:?}"),
    }
}

/// Asks through OpenFeature, kills both flags mid-request, asks again.
async fn handler(State(app): State<App>, flags: FlagContext) -> String {
    let before = app
        .client
        .get_bool_details("new_checkout_flow", None, None)
        .await
        .unwrap();
    for flag in ["new_checkout_flow", "dark_mode"] {
        app.flags
            .writer("test")
            .commit(Edit::kill(flag))
            .await
            .unwrap();
    }
    assert!(app.flags.version() > flags.version(), "the flags moved on");
    let again = app
        .client
        .get_bool_details("new_checkout_flow", None, None)
        .await
        .unwrap();
    // Asked first after the kill: still the pinned version.
    let dark = app
        .client
        .get_bool_details("dark_mode", None, None)
        .await
        .unwrap();
    // The same caller named explicitly is still the request's caller.
    let ann = EvaluationContext::default().with_targeting_key("ann");
    let dark_ann = app
        .client
        .get_bool_details("dark_mode", Some(&ann), None)
        .await
        .unwrap();
    // Someone else: the pinned snapshot, with their context.
    let bob = EvaluationContext::default().with_targeting_key("bob");
    let dark_bob = app
        .client
        .get_bool_details("dark_mode", Some(&bob), None)
        .await
        .unwrap();
    // The extractor shares the memo.
    let extractor = flags.is_enabled("new_checkout_flow");
    format!(
        "{} {} {} {} {} {} {:?} {:?} v{} v{} v{} v{}",
        before.value,
        again.value,
        dark.value,
        dark_ann.value,
        dark_bob.value,
        extractor,
        again.reason,
        dark.reason,
        version(&before),
        version(&again),
        version(&dark),
        version(&dark_bob),
    )
}

/// Collects JSON log lines.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn one_request_one_version_one_memo_the_same_events() {
    // While only one dispatcher is alive, tracing-core asks just the
    // current thread's when a callsite is first hit: a test running beside
    // this one without a subscriber would cache "never" for the decision
    // events this test counts. A second dispatcher that lives forever makes
    // it ask every live one.
    static SECOND: OnceLock<Dispatch> = OnceLock::new();
    SECOND.get_or_init(|| Dispatch::new(NoSubscriber::default()));
    let lines = Lines::default();
    let writer = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let flags = Flags::from_toml_str(FLAGS, "flags.toml").unwrap();
    let pinned = flags.version();
    let mut api = OpenFeature::default();
    api.set_provider(FlagsProvider::new(flags.clone())).await;
    let state = App {
        flags: flags.clone(),
        client: Arc::new(api.create_client()),
    };
    let app = Router::new()
        .route("/checkout", get(handler))
        .route(
            "/after",
            get(|State(app): State<App>| async move {
                let d = app
                    .client
                    .get_bool_details("new_checkout_flow", None, None)
                    .await
                    .unwrap();
                format!("{} {:?}", d.value, d.reason)
            }),
        )
        .with_state(state)
        .layer(RequestScopeLayer::new())
        .layer(
            FlagsLayer::new(flags.clone())
                // The seed's one event per decision, to count them.
                .decision_log(DecisionLog::PerDecision)
                .user_header("x-user-id")
                .unwrap(),
        );

    let res = app
        .clone()
        .oneshot(
            Request::get("/checkout")
                .header("x-user-id", "ann")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body =
        String::from_utf8(to_bytes(res.into_body(), 1 << 16).await.unwrap().to_vec()).unwrap();
    assert_eq!(
        body,
        format!(
            "true true true true false true Some(TargetingMatch) Some(TargetingMatch) v{pinned} v{pinned} v{pinned} v{pinned}"
        ),
        "every answer is from the version the request started with"
    );

    // Each flag's first answer logged one decision event, from the request.
    let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|e: &serde_json::Value| e["target"] == "flags::decision")
        .collect();
    let keys: Vec<&str> = events
        .iter()
        .map(|e| e["feature_flag.key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["new_checkout_flow", "dark_mode"], "{text}");
    for e in &events {
        assert_eq!(e["feature_flag.context.id"], "ann");
        assert_eq!(e["feature_flag.version"], pinned);
        assert_eq!(e["http.route"], "/checkout");
    }
    let request = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|e| e["target"] == "flags::request")
        .expect("a request event");
    assert_eq!(
        request["feature_flag.decisions"],
        "new_checkout_flow=on,dark_mode=on"
    );

    // The next request sees the kill.
    let res = app
        .oneshot(
            Request::get("/after")
                .header("x-user-id", "ann")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let body =
        String::from_utf8(to_bytes(res.into_body(), 1 << 16).await.unwrap().to_vec()).unwrap();
    assert_eq!(body, "false Some(Disabled)");
    assert_eq!(EvaluationReason::Disabled.to_string(), "DISABLED");
}

#[tokio::test]
async fn without_the_scope_the_provider_reads_the_current_flags() {
    let flags = Flags::from_toml_str(FLAGS, "flags.toml").unwrap();
    let mut api = OpenFeature::default();
    api.set_provider(FlagsProvider::new(flags.clone())).await;
    let client = Arc::new(api.create_client());
    let app = Router::new()
        .route(
            "/",
            get({
                let client = client.clone();
                let flags = flags.clone();
                move || async move {
                    let first = client
                        .get_bool_value("dark_mode", None, None)
                        .await
                        .unwrap();
                    flags
                        .writer("t")
                        .commit(Edit::kill("dark_mode"))
                        .await
                        .unwrap();
                    let ann = EvaluationContext::default().with_targeting_key("ann");
                    let second = client
                        .get_bool_value("dark_mode", Some(&ann), None)
                        .await
                        .unwrap();
                    format!("{first} {second}")
                }
            }),
        )
        .layer(
            FlagsLayer::new(flags.clone())
                .user_header("x-user-id")
                .unwrap(),
        );
    let res = app
        .oneshot(
            Request::get("/")
                .header("x-user-id", "ann")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let body =
        String::from_utf8(to_bytes(res.into_body(), 1 << 16).await.unwrap().to_vec()).unwrap();
    // No request scope: no caller known (off for an anonymous caller), and
    // the kill is seen at once.
    assert_eq!(body, "false false");
}

#[tokio::test]
async fn without_the_flags_layer_the_scope_passes_requests_through() {
    let flags = Flags::from_toml_str(FLAGS, "flags.toml").unwrap();
    let mut api = OpenFeature::default();
    api.set_provider(FlagsProvider::new(flags.clone())).await;
    let client = Arc::new(api.create_client());
    let app = Router::new()
        .route(
            "/",
            get(move || async move {
                let ann = EvaluationContext::default().with_targeting_key("ann");
                let d = client
                    .get_bool_details("dark_mode", Some(&ann), None)
                    .await
                    .unwrap();
                format!("{} {:?}", d.value, d.reason)
            }),
        )
        .layer(RequestScopeLayer::new());
    let res = app
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body =
        String::from_utf8(to_bytes(res.into_body(), 1 << 16).await.unwrap().to_vec()).unwrap();
    assert_eq!(
        body, "true Some(TargetingMatch)",
        "the current flags, for the context given"
    );
}

#[tokio::test]
async fn in_request_carries_the_request_into_spawned_tasks() {
    let flags = Flags::from_toml_str(FLAGS, "flags.toml").unwrap();
    let mut api = OpenFeature::default();
    api.set_provider(FlagsProvider::new(flags.clone())).await;
    let client = Arc::new(api.create_client());
    // A request that pinned the killed version; then the flag comes back.
    flags
        .writer("t")
        .commit(Edit::kill("dark_mode"))
        .await
        .unwrap();
    let pinned = FlagContext::for_test(&flags, flags_middleware::Context::new().user_id("ann"));
    flags
        .writer("t")
        .commit(Edit::enable("dark_mode"))
        .await
        .unwrap();
    let task = tokio::spawn(flags_openfeature::in_request(pinned.clone(), {
        let client = client.clone();
        async move {
            client
                .get_bool_details("dark_mode", None, None)
                .await
                .unwrap()
        }
    }));
    let d = task.await.unwrap();
    assert_eq!(
        (d.value, d.reason),
        (false, Some(EvaluationReason::Disabled)),
        "the pinned (killed) version, not the current one"
    );
    assert!(!pinned.is_enabled("dark_mode"), "and the memo agrees");
    let now = client
        .get_bool_value(
            "dark_mode",
            Some(&EvaluationContext::default().with_targeting_key("ann")),
            None,
        )
        .await;
    assert_eq!(now, Ok(true), "outside it, the current flags");
}
