//! Unknown flags at run time: counted per name in bounded memory, logged
//! once per name, listed by the admin API.

use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use axum::Router;
use flags_middleware::admin::{AdminConfig, Role};
use flags_middleware::hygiene::{DEFAULT_UNKNOWN_CAPACITY, HYGIENE_TARGET};
use flags_middleware::{Context, FlagContext, Flags, FlagsLayer};
use tower::ServiceExt;

use crate::support::Recorder;

const TOKEN: &str = "hygiene-admin-token";

fn flags() -> Flags {
    Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap()
}

async fn get_json(app: &Router, path: &str) -> serde_json::Value {
    let req = Request::get(path)
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), 200, "{path}");
    let body = axum::body::to_bytes(res.into_body(), 1 << 24)
        .await
        .unwrap();
    serde_json::from_slice(&body).unwrap()
}

#[test]
fn counting_is_bounded_under_100_000_distinct_names() {
    let flags = flags();
    let ctx = Context::new();
    for i in 0..100_000 {
        assert!(!flags.is_enabled(format!("typo_{i}"), &ctx));
    }
    // Asked again: counted under its own name, not as `other`.
    assert!(!flags.is_enabled("typo_0", &ctx));
    assert!(flags.is_enabled("new_checkout_flow", &ctx));

    let unknown = flags.unknown_flags();
    assert_eq!(unknown.capacity, DEFAULT_UNKNOWN_CAPACITY);
    assert_eq!(unknown.flags.len(), 1_000);
    assert_eq!(unknown.other, 99_000);
    assert_eq!(unknown.flags[0].name, "typo_0");
    assert_eq!(unknown.flags[0].count, 2);
    let total: u64 = unknown.flags.iter().map(|f| f.count).sum::<u64>() + unknown.other;
    assert_eq!(total, 100_001);
    assert!(unknown.flags.iter().all(|f| f.name != "new_checkout_flow"));
}

#[tokio::test]
async fn through_the_layer_each_name_is_counted_per_request_logged_once_and_listed() {
    let flags = flags();
    async fn page(flags: FlagContext) -> &'static str {
        // Asked twice in one request: one decision, counted once.
        let _ = flags.is_enabled("new_chekout_flow") || flags.is_enabled("new_chekout_flow");
        let _ = flags.variant("dark_mod");
        if flags.is_enabled("new_checkout_flow") {
            "new"
        } else {
            "old"
        }
    }
    let config = AdminConfig::new().token("ops", TOKEN, Role::Read);
    let app = Router::new()
        .route("/page", get(page))
        .layer(FlagsLayer::new(flags.clone()))
        .nest_service("/admin/flags", flags.admin_router(config));

    let (recorder, _guard) = Recorder::install();
    for _ in 0..3 {
        let res = app
            .clone()
            .oneshot(Request::get("/page").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    let warnings: Vec<String> = recorder
        .with_target(HYGIENE_TARGET)
        .iter()
        .map(|w| w.str("flag").to_owned())
        .collect();
    assert_eq!(warnings, ["new_chekout_flow", "dark_mod"]);

    let listed = get_json(&app, "/admin/flags/_unknown").await;
    let names: Vec<(&str, u64)> = listed["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap(), f["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(names, [("dark_mod", 3), ("new_chekout_flow", 3)]);
    assert_eq!(listed["other"], 0);
    assert!(listed["flags"][0]["first_seen"].is_string());
}
