//! Last evaluation times shared across two instances on one database: A's
//! traffic shows in B's inventory and stale report; each instance writes a
//! flag at most once a minute.

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use axum::Router;
use chrono::{Duration, Utc};
use flags_middleware::hygiene::{StaleOptions, StaleReason};
use flags_middleware::store::PostgresStore;
use flags_middleware::{FlagContext, Flags, FlagsLayer};
use tower::ServiceExt;

use crate::support::*;

async fn instance(db: &TestDb, name: &str) -> Flags {
    let config = db.config(name).seed_file(db.seed(SEED));
    let store = PostgresStore::connect(config).await.unwrap();
    Flags::with_store(Arc::new(store), None).await.unwrap()
}

async fn ask_legacy(flags: &Flags) {
    async fn page(flags: FlagContext) -> &'static str {
        if flags.is_enabled("legacy_api") {
            "legacy"
        } else {
            "none"
        }
    }
    let app = Router::new()
        .route("/api/v0/products/{id}", get(page))
        .layer(FlagsLayer::new(flags.clone()));
    let req = Request::get("/api/v0/products/1")
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.oneshot(req).await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_seen_times_are_shared_across_instances_at_most_once_a_minute() {
    let _server = share_server().await;
    let db = TestDb::create().await;
    let a = instance(&db, "a").await;
    let b = instance(&db, "b").await;

    ask_legacy(&a).await;
    let seen_on_a = a.evaluations("legacy_api").last_evaluated.unwrap();
    assert_eq!(a.share_last_seen().await.unwrap(), 1);
    // Evaluated again at once: not written again within the minute.
    ask_legacy(&a).await;
    assert_eq!(a.share_last_seen().await.unwrap(), 0);

    // B never evaluated it; it reads A's time.
    assert_eq!(b.share_last_seen().await.unwrap(), 0);
    let legacy = b
        .inventory()
        .into_iter()
        .find(|f| f.name == "legacy_api")
        .unwrap();
    assert!(legacy.routes.is_empty(), "B's own traffic: none");
    assert_eq!(
        legacy.last_evaluated.map(|t| t.timestamp_millis()),
        Some(seen_on_a.timestamp_millis())
    );
    // So B's stale report judges by it: 31 days on, "not evaluated since".
    let later = Utc::now() + Duration::days(31);
    let stale = b.stale_flags(StaleOptions::new().at(later)).await.unwrap();
    let reasons = &stale
        .iter()
        .find(|f| f.name == "legacy_api")
        .unwrap()
        .reasons;
    assert!(
        reasons.iter().any(|r| matches!(r,
            StaleReason::NotEvaluated { last_evaluated: Some(t) }
                if t.timestamp_millis() == seen_on_a.timestamp_millis())),
        "{reasons:?}"
    );

    // One row per instance and flag.
    let rows = db
        .client()
        .await
        .query(
            "SELECT instance, flag FROM flag_last_seen ORDER BY instance, flag",
            &[],
        )
        .await
        .unwrap();
    let rows: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(rows, [("a".to_owned(), "legacy_api".to_owned())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_with_times_past_a_date_are_errors_naming_the_column_not_panics() {
    let _server = share_server().await;
    let db = TestDb::create().await;
    let a = instance(&db, "a").await;
    a.writer("ops")
        .commit(flags_middleware::edit::Edit::kill("legacy_api"))
        .await
        .unwrap();
    ask_legacy(&a).await;
    assert_eq!(a.share_last_seen().await.unwrap(), 1);

    // `timestamptz` takes `infinity`; a `DateTime` cannot hold it.
    let client = db.client().await;
    client
        .execute("UPDATE flag_audit SET at = 'infinity'", &[])
        .await
        .unwrap();
    client
        .execute("UPDATE flag_last_seen SET last_seen = 'infinity'", &[])
        .await
        .unwrap();

    let err = a.audit_page(0, 10).await.unwrap_err().to_string();
    assert!(err.contains("flag_audit.at"), "{err}");
    let b = instance(&db, "b").await;
    let err = b.share_last_seen().await.unwrap_err().to_string();
    assert!(err.contains("flag_last_seen.last_seen"), "{err}");
    // The flags keep serving.
    assert!(!b.is_enabled("legacy_api", &flags_middleware::Context::new()));
    ask_legacy(&b).await;
}
