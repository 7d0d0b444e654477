//! The real Unleash SDKs against the app: the browser SDK
//! (`unleash-proxy-client`) under Node and in headless Chromium against the
//! Frontend API, and the Node server SDK (`unleash-client`) against the
//! client API. Pinned in tests/node (scripts/node-peers.sh installs them;
//! scripts/chromium.sh installs Chromium and chromedriver).

mod app;
mod browser;
// The WebDriver helpers of the web page's tests.
#[path = "../web_ui/browser.rs"]
mod chromium;
#[path = "../loopback.rs"]
mod loopback;
mod node;

use axum::body::Body;
use axum::http::Request;
use flags_middleware::{Context, Flags, Snapshot};
use serde_json::{json, Value};
use tower::ServiceExt;

use app::{ADMIN, CLIENT, FLAGS, FRONTEND};

fn flag_list() -> String {
    FLAGS.join(",")
}

/// `GET` through the app's router in-process (the admin API's view).
async fn admin_get(flags: &Flags, path: &str) -> Value {
    let req = Request::get(path)
        .header("authorization", format!("Bearer {ADMIN}"))
        .body(Body::empty())
        .unwrap();
    let res = app::router(flags).oneshot(req).await.unwrap();
    assert_eq!(res.status(), 200, "{path}");
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_sdk_sees_what_the_app_decides_for_the_same_user() {
    let flags = app::flags();
    let addr = app::serve(app::router(&flags)).await;
    let users = 500;
    let out = node::run(
        "frontend_sdk.mjs",
        vec![
            ("APP_URL", format!("http://{addr}")),
            ("FRONTEND_TOKEN", FRONTEND.into()),
            ("ADMIN_TOKEN", ADMIN.into()),
            ("USERS", users.to_string()),
            ("FLAGS", flag_list()),
            ("KILL_FLAG", "always_on".into()),
        ],
    )
    .await;
    assert_eq!(out["errors"], json!([]), "SDK errors");

    // 1. The SDK's isEnabled and getVariant equal the app's own handlers'.
    let mut on = 0;
    for i in 0..users {
        let user = format!("user_{i}");
        let sdk = &out["users"][&user];
        let own = &out["app"][&user];
        assert!(sdk.is_object() && own.is_object(), "{user}: {sdk} / {own}");
        for flag in FLAGS {
            assert_eq!(sdk[flag], own[flag], "{user}, {flag}");
        }
        on += usize::from(sdk["new_checkout_flow"]["enabled"] == json!(true));
    }
    // The comparison means something: a 20% rollout splits the users.
    assert!((60..=140).contains(&on), "{on} of {users} in a 20% rollout");

    // 2. Unchanged refreshes get 304; a kill shows on the next refresh.
    let kill = &out["kill"];
    let statuses: Vec<u64> = kill["statuses_before_kill"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    assert_eq!(statuses.first(), Some(&200), "{kill}");
    assert!(
        statuses.contains(&304),
        "no 304 for an unchanged refresh: {kill}"
    );
    assert!(statuses.iter().all(|s| [200, 304].contains(s)), "{kill}");
    assert_eq!(kill["admin_status"], 200, "{kill}");
    assert_eq!(kill["enabled_before"], true, "{kill}");
    assert_eq!(kill["update_seen"], true, "{kill}");
    assert_eq!(kill["enabled_after"], false, "{kill}");

    // 3. Its metrics reach the app, and the admin API shows them.
    let exposures = flags.client_exposures().snapshot();
    let checkout = exposures.flag("new_checkout_flow").expect("reported");
    assert_eq!(checkout.yes + checkout.no, 7, "{checkout:?}");
    let shown = admin_get(&flags, "/admin/flags/new_checkout_flow").await;
    let shown = &shown["flag"]["client_exposures"];
    assert_eq!(
        shown["yes"].as_u64().unwrap() + shown["no"].as_u64().unwrap(),
        7,
        "{shown}"
    );
    let experiment = admin_get(&flags, "/admin/flags/checkout_experiment").await;
    let variants = experiment["flag"]["client_exposures"]["variants"]
        .as_object()
        .unwrap()
        .clone();
    assert_eq!(
        variants.values().filter_map(Value::as_u64).sum::<u64>(),
        1,
        "{variants:?}"
    );

    // 4. What the browser claims does not beat what the server knows.
    let spoof = &out["spoof"];
    assert_eq!(spoof["spoofed_beta_search"], false, "{spoof}");
    assert_eq!(spoof["spoofed_ai_recommendations"], false, "{spoof}");
    assert_eq!(spoof["honest_beta_search"], true, "{spoof}");
}

/// The context `client_sdk.mjs` builds for index `i`.
fn node_context(i: usize) -> Context {
    Context::new()
        .user_id(format!("user_{i}"))
        .session_id(format!("s{i}"))
        .property("beta", if i.is_multiple_of(3) { "true" } else { "false" })
        .property(
            "email",
            if i.is_multiple_of(4) {
                format!("u{i}@acme.com")
            } else {
                format!("u{i}@example.org")
            },
        )
        .property("country", ["NO", "SE", "DE"][i % 3])
}

/// The app's decisions for the contexts, shaped as the driver prints the SDK's.
fn expected(snapshot: &Snapshot, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let ctx = node_context(i);
            let row: serde_json::Map<String, Value> = FLAGS
                .iter()
                .map(|f| {
                    let v = snapshot.variant(f, &ctx);
                    let row = json!({
                        "enabled": snapshot.is_enabled(f, &ctx),
                        "variant": {"name": v.name, "enabled": v.enabled, "payload": v.payload},
                    });
                    ((*f).to_owned(), row)
                })
                .collect();
            Value::Object(row)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_server_sdk_evaluates_the_apps_flags_from_the_client_api() {
    let flags = app::flags();
    let addr = app::serve(app::router(&flags)).await;
    let n = 1000;
    let before = expected(&flags.snapshot(), n);
    let out = node::run(
        "client_sdk.mjs",
        vec![
            ("APP_URL", format!("http://{addr}")),
            ("CLIENT_TOKEN", CLIENT.into()),
            ("ADMIN_TOKEN", ADMIN.into()),
            ("CONTEXTS", n.to_string()),
            ("FLAGS", flag_list()),
            ("CHANGE_FLAG", "always_on".into()),
        ],
    )
    .await;
    assert_eq!(out["errors"], json!([]), "SDK errors");
    assert_eq!(out["synchronized"], true);
    let after = expected(&flags.snapshot(), n);
    assert_ne!(before, after, "the kill changes some answers");
    for (phase, want) in [("before", &before), ("after", &after)] {
        let got = out[phase].as_array().unwrap();
        assert_eq!(got.len(), n);
        for (i, (g, w)) in got.iter().zip(want.iter()).enumerate() {
            for flag in FLAGS {
                assert_eq!(g[flag], w[flag], "{phase}, context {i}, {flag}");
            }
        }
    }
    assert_eq!(out["change"]["admin_status"], 200);
    assert_eq!(out["change"]["seen"], true, "{}", out["change"]);
    // Its metrics arrived (202) and were counted.
    let reported = flags.client_exposures().snapshot();
    let pricing = reported.flag("pricing").expect("the SDK's metrics");
    // Two rounds of isEnabled and getVariant (which counts too) per context.
    assert_eq!(pricing.yes + pricing.no, 4 * n as u64, "{pricing:?}");
    assert_eq!(
        pricing.variants.values().sum::<u64>(),
        2 * n as u64,
        "{pricing:?}"
    );
}
