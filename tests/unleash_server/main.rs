//! Flags from a real Unleash server (the pinned `unleash-server` 8.2.0 on
//! the throwaway PostgreSQL): the same decisions as Unleash's Node SDK, a
//! toggle served within one poll, 304s when nothing changed, metrics that
//! show up in Unleash, Unleash down and back, a wrong token.
//!
//! Run through scripts/with-postgres.sh (FLAGS_TEST_DATABASE_URL) after
//! scripts/node-peers.sh (tests/node/node_modules).

mod support;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use flags_middleware::admin::{AdminConfig, Role};
use flags_middleware::store::{RemoteStatus, UnleashConfig};
use flags_middleware::{Context, Flags};
use http_body_util::BodyExt as _;
use serde_json::{json, Value};
use support::{eventually, node_sdk_decisions, UnleashServer, CLIENT_TOKEN};
use tower::ServiceExt as _;

fn config(server: &UnleashServer) -> UnleashConfig {
    UnleashConfig::new(&server.url(), CLIENT_TOKEN)
        .unwrap()
        .app_name("flags-rust-tests")
        .instance_id("tests-1")
        .refresh_interval(Duration::from_secs(1))
        .metrics_interval(None)
}

fn remote(flags: &Flags) -> RemoteStatus {
    flags.status().remote.expect("an Unleash status")
}

fn context(v: &Value) -> Context {
    let mut c = Context::new().user_id(v["userId"].as_str().unwrap());
    if let Some(s) = v["sessionId"].as_str() {
        c = c.session_id(s);
    }
    for (k, p) in v["properties"].as_object().unwrap() {
        c = c.property(k.as_str(), p.as_str().unwrap());
    }
    c
}

/// A gradual rollout with a constraint and a segment and strategy variants
/// with payloads, one with weighted variants, one that depends on another.
async fn create_flags(server: &UnleashServer) {
    let (s, segment) = server
        .admin(
            "POST",
            "/segments",
            json!({"name": "early-users", "constraints": [
                {"contextName": "userId", "operator": "STR_STARTS_WITH", "values": ["user-1", "user-2", "user-3"]}
            ]}),
        )
        .await;
    assert_eq!(s, 201, "{segment}");
    let variant = |name: &str, weight: u32, payload: Value| json!({"name": name, "weight": weight, "weightType": "variable", "stickiness": "default", "payload": payload});
    server
        .create_flag(
            "new_checkout",
            json!({
                "name": "flexibleRollout",
                "constraints": [{"contextName": "country", "operator": "IN", "values": ["NO", "SE"]}],
                "parameters": {"rollout": "40", "stickiness": "default", "groupId": "new_checkout"},
                "segments": [segment["id"]],
                "variants": [
                    variant("blue", 500, json!({"type": "json", "value": "{\"color\":\"blue\"}"})),
                    variant("green", 500, json!({"type": "string", "value": "green"})),
                ],
            }),
        )
        .await;
    server
        .create_flag(
            "pricing_test",
            json!({
                "name": "flexibleRollout",
                "parameters": {"rollout": "100", "stickiness": "default", "groupId": "pricing_test"},
                "variants": [
                    variant("cheap", 300, json!({"type": "number", "value": "9"})),
                    variant("dear", 700, json!({"type": "csv", "value": "a,b"})),
                ],
            }),
        )
        .await;
    server
        .create_flag(
            "checkout_tips",
            json!({
                "name": "flexibleRollout",
                "constraints": [{"contextName": "plan", "operator": "NOT_IN", "values": ["free"]}],
                "parameters": {"rollout": "50", "stickiness": "default", "groupId": "checkout_tips"},
            }),
        )
        .await;
    let (s, v) = server
        .admin(
            "POST",
            "/projects/default/features/checkout_tips/dependencies",
            json!({"feature": "new_checkout", "enabled": true}),
        )
        .await;
    assert_eq!(s, 200, "dependency: {v}");
}

const FLAGS: [&str; 3] = ["new_checkout", "pricing_test", "checkout_tips"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_equal_the_node_sdk_and_writes_are_refused() {
    let server = UnleashServer::start();
    create_flags(&server).await;
    let flags = Flags::from_unleash(config(&server)).await.unwrap();
    flags
        .wait_until_ready(Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(flags.snapshot().len(), 3);

    let contexts: Vec<Value> = (0..1000)
        .map(|i| {
            let country = ["NO", "SE", "DK"][i % 3];
            let plan = ["free", "pro"][i % 2];
            json!({"userId": format!("user-{i}"), "sessionId": format!("s{i}"),
                   "properties": {"country": country, "plan": plan}})
        })
        .collect();
    let oracle = node_sdk_decisions(&server.url(), &FLAGS, &contexts);
    let mut on = [0; 3];
    for (ctx, expected) in contexts.iter().zip(&oracle) {
        let c = context(ctx);
        for (i, flag) in FLAGS.iter().enumerate() {
            let v = flags.variant(flag, &c);
            let ours = json!({
                "enabled": flags.is_enabled(flag, &c),
                "variant": {"name": v.name, "enabled": v.enabled, "payload": v.payload},
            });
            assert_eq!(ours, expected[flag], "{flag} for {ctx}");
            on[i] += usize::from(ours["enabled"] == true);
        }
    }
    // The cases are not degenerate: each flag is on for some, off for others.
    assert!(
        (1..1000).contains(&on[0]) && (1..1000).contains(&on[2]) && on[1] == 1000,
        "{on:?}"
    );

    // Read-only here: the admin API answers 409 saying where to change them,
    // also to a write that would change nothing (`pricing_test` is on).
    let app = flags.admin_router::<()>(AdminConfig::new().token("ops", "ops-token", Role::Write));
    for path in ["/new_checkout/kill", "/pricing_test/enable"] {
        let res = app
            .clone()
            .oneshot(
                Request::post(path)
                    .header("authorization", "Bearer ops-token")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), 409, "{path}");
        let body: Value =
            serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
        assert_eq!(body["error"], "read_only", "{path}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("managed in Unleash"),
            "{body}"
        );
    }
    assert_eq!(flags.version(), 1, "nothing was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_toggle_is_served_at_the_next_poll_and_unchanged_polls_are_304s() {
    let server = UnleashServer::start();
    create_flags(&server).await;
    let flags = Flags::from_unleash(config(&server)).await.unwrap();
    let c = Context::new().user_id("user-1").property("country", "NO");
    let seen_on = |flags: &Flags| flags.is_enabled("pricing_test", &c);
    assert!(seen_on(&flags));
    eventually("two polls answered 304", 20, || {
        remote(&flags).unchanged >= 2
    })
    .await;
    assert_eq!(
        remote(&flags).fetched,
        1,
        "nothing changed: no 200 after the first"
    );

    let before = remote(&flags);
    let polls = |s: &RemoteStatus| s.fetched + s.unchanged;
    let toggled = Instant::now();
    server.toggle("pricing_test", false).await;
    eventually("the toggle served", 20, || !seen_on(&flags)).await;
    let took = toggled.elapsed();
    let after = remote(&flags);
    // Served by the first poll that followed the toggle (or the second, when
    // a poll raced with the toggle): within one refresh interval of polls.
    assert!(
        polls(&after) - polls(&before) <= 2,
        "{before:?} -> {after:?}"
    );
    assert_eq!(after.fetched, before.fetched + 1);
    eprintln!("unleash toggle -> served: {took:?} (1 s refresh interval)");

    // The rollout guard's kill, made in Unleash with an admin token.
    let admin = Flags::from_unleash(config(&server).admin_token(support::ADMIN_TOKEN))
        .await
        .unwrap();
    admin
        .writer("guard")
        .commit(flags_middleware::edit::Edit::kill("new_checkout"))
        .await
        .unwrap();
    // Made in Unleash in the background (the kill is served here at once).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (s, feature) = server
            .admin(
                "GET",
                "/projects/default/features/new_checkout",
                Value::Null,
            )
            .await;
        assert_eq!(s, 200);
        let dev = feature["environments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == "development")
            .unwrap()
            .clone();
        if dev["enabled"] == false {
            break;
        }
        assert!(Instant::now() < deadline, "never killed in Unleash: {dev}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eventually("the kill reaches the other app", 20, || {
        flags
            .snapshot()
            .feature("new_checkout")
            .is_some_and(|f| !f.enabled)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_shows_up_in_unleash() {
    let server = UnleashServer::start();
    create_flags(&server).await;
    let flags = Flags::from_unleash(config(&server).metrics_interval(Some(Duration::from_secs(1))))
        .await
        .unwrap();
    let ms = Duration::from_millis(1);
    for _ in 0..5 {
        flags.metrics().record("pricing_test", "cheap", 200, ms);
    }
    flags.metrics().record("pricing_test", "off", 200, ms);
    eventually("a bucket taken", 20, || remote(&flags).metrics_sent >= 1).await;
    // Unleash writes metrics every 5 s and registrations every 20 s.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, raw) = server
            .admin(
                "GET",
                "/client-metrics/features/pricing_test/raw",
                Value::Null,
            )
            .await;
        let ours: Vec<&Value> = raw["data"]
            .as_array()
            .map(|d| {
                d.iter()
                    .filter(|m| m["appName"] == "flags-rust-tests")
                    .collect()
            })
            .unwrap_or_default();
        let yes: u64 = ours.iter().map(|m| m["yes"].as_u64().unwrap_or(0)).sum();
        let no: u64 = ours.iter().map(|m| m["no"].as_u64().unwrap_or(0)).sum();
        let (_, apps) = server
            .admin("GET", "/metrics/applications", Value::Null)
            .await;
        let registered = apps["applications"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["appName"] == "flags-rust-tests"));
        if (yes, no) == (5, 1) && registered {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "metrics not in Unleash: {raw} {apps}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unleash_down_keeps_serving_restarts_from_last_known_good_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let lkg = dir.path().join("unleash.last-good.json");
    let mut server = UnleashServer::start();
    create_flags(&server).await;
    let c = Context::new().user_id("user-1");
    let flags = Flags::from_unleash(config(&server).last_known_good(&lkg))
        .await
        .unwrap();
    assert!(flags.is_enabled("pricing_test", &c));
    eventually("the last-known-good file", 20, || lkg.exists()).await;

    server.stop();
    eventually("the failure seen", 20, || {
        remote(&flags).last_failure.is_some()
    })
    .await;
    assert!(flags.is_enabled("pricing_test", &c), "still serving");
    let status = remote(&flags);
    assert!(status.polling && status.last_success.is_some());
    assert!(
        status
            .last_failure
            .unwrap()
            .reason
            .contains("cannot reach Unleash"),
        "{:?}",
        remote(&flags)
    );
    // The admin API's status says so too.
    let app = flags.admin_router::<()>(AdminConfig::new().token("ops", "ops-token", Role::Read));
    let res = app
        .oneshot(
            Request::get("/_status")
                .header("authorization", "Bearer ops-token")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let body: Value =
        serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert!(
        body["remote"]["last_failure"]["reason"].is_string(),
        "{body}"
    );
    drop(flags);

    // The app restarts while Unleash is down: the last-known-good flags.
    let flags = Flags::from_unleash(config(&server).last_known_good(&lkg))
        .await
        .unwrap();
    assert!(flags.is_enabled("pricing_test", &c));
    assert_eq!(remote(&flags).serving, "last-known-good");

    // Unleash back (same port, same database), with a change made meanwhile.
    let server = UnleashServer::start_on(server.port, server.database.clone());
    server.toggle("pricing_test", false).await;
    flags
        .wait_until_ready(Duration::from_secs(30))
        .await
        .unwrap();
    eventually("the change served", 20, || {
        !flags.is_enabled("pricing_test", &c)
    })
    .await;
    assert_eq!(remote(&flags).serving, "unleash");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_stops_polling_with_a_clear_error() {
    let server = UnleashServer::start();
    let config = UnleashConfig::new(&server.url(), "default:development.wrong-secret")
        .unwrap()
        .refresh_interval(Duration::from_millis(50))
        .metrics_interval(None);
    let flags = Flags::from_unleash(config).await.unwrap();
    let e = flags
        .wait_until_ready(Duration::from_secs(10))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("refused the token"), "{e}");
    let status = remote(&flags);
    let failure = status.last_failure.clone().unwrap();
    assert!(!status.polling);
    assert!(matches!(failure.status, Some(401 | 403)), "{failure:?}");
    // Nothing more is asked: the status stays as it is over many intervals.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(remote(&flags), status);
    assert!(!flags.is_enabled("pricing_test", &Context::new()));
}
