//! The PostgreSQL store against a real server: two instances on one
//! database, a server restart under load, a dropped connection, startup
//! with the database down, conflicting writes, A→B propagation latency, and
//! TLS (`sslmode`, in tls.rs).
//!
//! Run through `scripts/with-postgres.sh cargo test -p flags-tests --test postgres`
//! (add `-- --nocapture` to see the latency figures).

#[path = "../drill.rs"]
mod drill;
mod fleet_drill;
mod guard;
mod hygiene;
mod listen_attempts;
mod support;
mod tls;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use flags_middleware::change::CommitError;
use flags_middleware::edit::Edit;
use flags_middleware::engine::Change;
use flags_middleware::store::{PostgresStore, Store, StoreError, StoreWrite};
use flags_middleware::{Context, Flags};
use serde_json::json;

use support::*;

async fn instance(db: &TestDb, name: &str) -> (Flags, PostgresStore) {
    instance_with(db.config(name).seed_file(db.seed(SEED))).await
}

async fn instance_with(config: flags_middleware::store::PostgresConfig) -> (Flags, PostgresStore) {
    let store = PostgresStore::connect(config).await.unwrap();
    let flags = Flags::with_store(Arc::new(store.clone()), None)
        .await
        .unwrap();
    (flags, store)
}

fn anyone() -> Context {
    Context::new()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_through_a_is_served_by_b_and_audited_with_the_instance() {
    let _server = share_server().await;
    let db = TestDb::create().await;
    let (a, _) = instance(&db, "a").await;
    let (b, b_store) = instance(&db, "b").await;
    assert!(b.is_enabled("legacy_api", &anyone()));
    assert_eq!((a.version(), b.version()), (1, 1));
    assert_eq!(b.status().watching, "listen/notify");
    // Pushed, not found by the resync that follows connecting.
    eventually("b listens", || b_store.is_listening()).await;

    let (status, body) = call(&admin(&a), "POST", "/legacy_api/kill", None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    eventually("b serves the kill", || {
        !b.is_enabled("legacy_api", &anyone())
    })
    .await;
    assert_eq!(a.version(), 2);
    assert_eq!(b.version(), 2, "instances agree on the version");

    // The audit log is the database's: B's admin API shows A's change,
    // naming the instance that made it.
    let (status, body) = call(&admin(&b), "GET", "/_audit?limit=10", None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let newest = &body["entries"][0];
    assert_eq!(
        [
            &newest["instance"],
            &newest["actor"],
            &newest["action"],
            &newest["flag"],
            &newest["version"]
        ],
        [
            &json!("a"),
            &json!("ops"),
            &json!("kill"),
            &json!("legacy_api"),
            &json!(2)
        ]
    );
    assert_eq!(newest["before"]["enabled"], json!(true));
    assert_eq!(newest["after"]["enabled"], json!(false));
    // The seed is audited too, once per flag.
    let log = b.audit_page(0, 10).await.unwrap();
    assert_eq!(log.iter().filter(|e| e.action == "seed").count(), 3);
    // One flag's entries, picked out by the database.
    let (status, body) = call(&admin(&b), "GET", "/_audit?flag=legacy_api", None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let actions: Vec<&str> = body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["flag"], "legacy_api");
            e["action"].as_str().unwrap()
        })
        .collect();
    assert_eq!(actions, ["kill", "seed"]);
    let older = b.audit_page_of("legacy_api", 1, 5).await.unwrap();
    assert_eq!(older.len(), 1);
    assert_eq!(older[0].action, "seed");
    // B's own log (and its `flags::audit` event) names A's kill as a
    // change from outside, not as a hand edit of a file.
    let seen = b.audit_log(0, 1).unwrap();
    assert_eq!(
        (seen[0].actor.as_str(), seen[0].flag.as_str()),
        ("outside change", "legacy_api")
    );
}

/// The rollout guard's kill goes through the store: instance B stops
/// serving the arm A's guard killed, and the database's audit log carries
/// the figures as the entry's message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guard_kill_on_a_reaches_b_with_its_figures_in_the_audit_log() {
    use flags_middleware::guard::{Action, Applier, FlagsApplier};
    let _server = share_server().await;
    let db = TestDb::create().await;
    let (a, _) = instance(&db, "a").await;
    let (b, b_store) = instance(&db, "b").await;
    eventually("b listens", || b_store.is_listening()).await;
    let figures = "guard: new arm 30.0% errors over 412 requests vs 0.5% over 7,803, p < 0.001";
    FlagsApplier::new(a.clone())
        .apply(&Action::new(Edit::kill("legacy_api"), figures))
        .await
        .unwrap();
    eventually("b serves the guard's kill", || {
        !b.is_enabled("legacy_api", &anyone())
    })
    .await;
    let newest = &b.audit_page(0, 1).await.unwrap()[0];
    assert_eq!(
        (
            newest.instance.as_deref(),
            newest.actor.as_str(),
            newest.action.as_str(),
            newest.message.as_deref()
        ),
        (Some("a"), "guard", "kill", Some(figures))
    );
}

/// A plan given through A's admin API lives in the database: B's guard
/// watches the flag too, follows the step A's guard takes, and holds when
/// A pauses the plan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_set_on_a_is_followed_by_b() {
    use flags_middleware::admin::{AdminConfig, Role};
    use flags_middleware::guard::{
        EventKind, FlagsApplier, Guard, ManualClock, ManualCounts, PlanStatus,
    };
    let _server = share_server().await;
    let db = TestDb::create().await;
    let (a, _) = instance(&db, "a").await;
    let (b, b_store) = instance(&db, "b").await;
    eventually("b listens", || b_store.is_listening()).await;
    let guard_on = |flags: &Flags| {
        Guard::builder(ManualCounts::new(), FlagsApplier::new(flags.clone()))
            .clock(ManualClock::new())
            .follow(flags)
            .build()
    };
    let (ga, gb) = (guard_on(&a), guard_on(&b));
    let admin_a = a.admin_router(
        AdminConfig::new()
            .token("ops", TOKEN, Role::Write)
            .guard(ga.clone()),
    );
    let plan = json!([{"percent": 10, "for": "1h"}, {"percent": 60}]);
    let (status, body) = call(&admin_a, "PUT", "/legacy_api/plan", None, Some(plan)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let percent = |flags: &Flags| {
        let snap = flags.snapshot();
        let f = snap.feature("legacy_api").unwrap();
        f.strategies
            .iter()
            .find_map(|s| s.parameters.get("rollout").cloned())
    };
    // A's guard takes the first step; B's follows it.
    ga.check().await;
    assert_eq!(percent(&a).as_deref(), Some("10"));
    eventually("b sees the first step", || {
        percent(&b).as_deref() == Some("10")
    })
    .await;
    let kinds: Vec<EventKind> = gb.check().await.into_iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::Watched,
            EventKind::Followed {
                to: 10,
                step: 1,
                of: 2
            }
        ]
    );
    let (status, body) = call(&admin_a, "POST", "/legacy_api/plan/pause", None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    eventually("b sees the pause", || {
        let snap = b.snapshot();
        snap.feature("legacy_api")
            .and_then(|f| f.plan)
            .is_some_and(|p| p.paused)
    })
    .await;
    gb.check().await;
    let snap = gb.snapshot();
    let plan = snap.flag("legacy_api").unwrap().plan.as_ref().unwrap();
    assert_eq!((plan.status, plan.percent), (PlanStatus::Paused, Some(10)));
    let newest = &b.audit_page(0, 1).await.unwrap()[0];
    assert_eq!(
        (
            newest.instance.as_deref(),
            newest.action.as_str(),
            newest.message.as_deref()
        ),
        (Some("a"), "plan pause", Some("plan: paused by ops"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_file_is_loaded_once_into_an_empty_namespace() {
    let _server = share_server().await;
    let db = TestDb::create().await;
    let (a, _) = instance(&db, "a").await;
    let other = db.seed("[something_else]\n");
    let (b, _) = instance_with(db.config("b").seed_file(other)).await;
    let names = |f: &Flags| -> Vec<String> { f.snapshot().names().map(str::to_owned).collect() };
    assert_eq!(
        names(&a),
        ["new_checkout_flow", "legacy_api", "beta_search"]
    );
    assert_eq!(names(&b), names(&a), "the second seed file is ignored");

    // Another namespace in the same database is seeded on its own.
    let (c, _) = instance_with(
        db.config("c")
            .namespace("billing")
            .seed_file(db.seed("[invoice_v2]\nenabled = false\n")),
    )
    .await;
    assert_eq!(names(&c), ["invoice_v2"]);
    assert!(b.is_enabled("beta_search", &Context::new().property("beta", "true")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_never_repeat_across_restarts_even_when_the_namespace_is_recreated() {
    let _server = share_server().await;
    let db = TestDb::create().await;
    let (a, _) = instance(&db, "a").await;
    let kill = |flags: &Flags, version: u64| {
        flags
            .writer("ops")
            .commit(Edit::kill("legacy_api").if_version(version))
    };
    assert_eq!(kill(&a, 1).await.unwrap().version, 2);
    drop(a);

    // A restart serves the database's version: "1" is stale.
    let (a, _) = instance(&db, "a").await;
    assert_eq!(a.version(), 2);
    let stale = kill(&a, 1).await.unwrap_err();
    assert!(
        matches!(stale, CommitError::VersionMismatch { current: 2, .. }),
        "{stale}"
    );
    drop(a);

    // Someone deletes the namespace; the next start creates it again from
    // the seed file, numbered above every version it ever had.
    db.client()
        .await
        .execute("DELETE FROM flag_namespaces WHERE name = 'default'", &[])
        .await
        .unwrap();
    let (a, _) = instance(&db, "a").await;
    assert!(a.is_enabled("legacy_api", &anyone()), "seeded again");
    assert_eq!(a.version(), 3);
    let stale = kill(&a, 2).await.unwrap_err();
    assert!(
        matches!(stale, CommitError::VersionMismatch { current: 3, .. }),
        "{stale}"
    );
    assert_eq!(kill(&a, 3).await.unwrap().version, 4);

    // The audit log never gives one version to two change sets.
    let audit = a.audit_page(0, 100).await.unwrap();
    let mut kills: Vec<u64> = audit
        .iter()
        .filter(|e| e.action == "kill")
        .map(|e| e.version)
        .collect();
    kills.sort_unstable();
    assert_eq!(kills, [2, 4]);
    let seeds: Vec<u64> = audit
        .iter()
        .filter(|e| e.action == "seed")
        .map(|e| e.version)
        .collect();
    assert_eq!(seeds.len(), 6, "three flags, seeded twice");
    assert!(
        seeds.iter().filter(|v| **v == 1).count() == 3
            && seeds.iter().filter(|v| **v == 3).count() == 3,
        "{seeds:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_seed_file_is_refused_by_line_and_leaves_nothing() {
    let _server = share_server().await;
    let db = TestDb::create().await;
    let bad = db.seed("[a]\nrollout = 500\n");
    let err = PostgresStore::connect(db.config("a").seed_file(&bad))
        .await
        .unwrap_err();
    let StoreError::Invalid(errors) = &err else {
        panic!("expected invalid, got {err}")
    };
    assert_eq!(errors.errors()[0].line, Some(2), "{err}");
    // The namespace was not created, so a good seed still applies.
    let (flags, _) = instance(&db, "a").await;
    assert!(flags.snapshot().feature("new_checkout_flow").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_writing_from_the_same_version_one_wins_one_conflicts() {
    let _server = share_server().await;
    let db = TestDb::create().await;
    let (a, _) = instance(&db, "a").await;
    // Two bare stores, no listener: both last saw version 1.
    let s1 = PostgresStore::connect(db.config("s1")).await.unwrap();
    let s2 = PostgresStore::connect(db.config("s2")).await.unwrap();
    fn write(changes: &[Change]) -> StoreWrite<'_> {
        StoreWrite {
            changes,
            base_version: 1,
            actor: "ops",
            action: "edit",
            message: None,
        }
    }
    let mut legacy = a.snapshot().feature("legacy_api").unwrap();
    legacy.enabled = false;
    let kill = [Change::Upsert(legacy)];
    let remove = [Change::Remove("beta_search".into())];
    let (r1, r2) = tokio::join!(s1.apply(write(&kill)), s2.apply(write(&remove)));
    let outcomes = [r1.is_ok(), r2.is_ok()];
    assert_eq!(
        outcomes.iter().filter(|ok| **ok).count(),
        1,
        "{r1:?} {r2:?}"
    );
    let lost = if r1.is_ok() { r2 } else { r1 };
    assert!(matches!(lost, Err(StoreError::Conflict(_))), "{lost:?}");
    eventually("a sees the winner", || a.version() == 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_admin_writes_with_if_match_one_wins_the_other_gets_412() {
    let _server = share_server().await;
    let db = TestDb::create().await;
    let (a, _) = instance(&db, "a").await;
    let (b, _) = instance(&db, "b").await;
    let (ra, rb) = (admin(&a), admin(&b));
    let (x, y) = tokio::join!(
        call(
            &ra,
            "PUT",
            "/new_checkout_flow/rollout",
            Some(1),
            Some(json!({"percent": 30}))
        ),
        call(
            &rb,
            "PUT",
            "/new_checkout_flow/rollout",
            Some(1),
            Some(json!({"percent": 70}))
        ),
    );
    let mut statuses = [x.0, y.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::PRECONDITION_FAILED],
        "{x:?} {y:?}"
    );
    let winner = if x.0 == StatusCode::OK { "30" } else { "70" };
    eventually("both at version 2", || a.version() == 2 && b.version() == 2).await;
    for f in [&a, &b] {
        let snap = f.snapshot();
        let rollout = &snap.feature("new_checkout_flow").unwrap().strategies[0].parameters;
        assert_eq!(rollout.get("rollout").map(String::as_str), Some(winner));
    }
    // Nothing changed by the loser.
    assert_eq!(a.version(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_admin_writes_without_if_match_both_apply_neither_is_lost() {
    let _server = share_server().await;
    let db = TestDb::create().await;
    let (a, _) = instance(&db, "a").await;
    let (b, _) = instance(&db, "b").await;
    let (ra, rb) = (admin(&a), admin(&b));
    let (x, y) = tokio::join!(
        call(&ra, "POST", "/new_checkout_flow/kill", None, None),
        call(
            &rb,
            "PUT",
            "/new_checkout_flow/rollout",
            None,
            Some(json!({"percent": 70}))
        ),
    );
    assert_eq!((x.0, y.0), (StatusCode::OK, StatusCode::OK), "{x:?} {y:?}");
    eventually("both at version 3", || a.version() == 3 && b.version() == 3).await;
    for f in [&a, &b] {
        let snap = f.snapshot();
        let flag = snap.feature("new_checkout_flow").unwrap();
        assert!(!flag.enabled, "the kill survived");
        let rollout = &flag.strategies[0].parameters;
        assert_eq!(rollout.get("rollout").map(String::as_str), Some("70"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_made_while_b_was_disconnected_reaches_b_after_it_reconnects() {
    let _server = share_server().await;
    let db = TestDb::create().await;
    // B logs in as its own role, so it can be kept out.
    let role = format!("{}_b", db.name);
    let admin_db = db.client().await;
    admin_db
        .batch_execute(&format!("CREATE ROLE {role} LOGIN SUPERUSER"))
        .await
        .unwrap();
    let (a, _) = instance(&db, "a").await;
    let b_config = flags_middleware::store::PostgresConfig::new(&format!("{} user={role}", db.url))
        .unwrap()
        .instance("b")
        .reconnect_backoff(Duration::from_millis(20), Duration::from_millis(200));
    let (b, b_store) = instance_with(b_config).await;
    eventually("b listens", || b_store.is_listening()).await;

    admin_db
        .batch_execute(&format!("ALTER ROLE {role} NOLOGIN"))
        .await
        .unwrap();
    admin_db
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1",
            &[&role],
        )
        .await
        .unwrap();
    eventually("b notices", || !b_store.is_listening()).await;

    a.writer("ops")
        .commit(Edit::kill("legacy_api"))
        .await
        .unwrap();
    assert_eq!(a.version(), 2);
    // B cannot reconnect yet: it keeps trying, is refused, and keeps
    // serving what it had.
    let tries = listen_attempts::refused_listens(&db.name);
    eventually("b refused twice more", || {
        listen_attempts::refused_listens(&db.name) >= tries + 2
    })
    .await;
    assert!(b.is_enabled("legacy_api", &anyone()));
    assert_eq!(b.version(), 1);

    admin_db
        .batch_execute(&format!("ALTER ROLE {role} LOGIN"))
        .await
        .unwrap();
    eventually("b resyncs after reconnecting", || {
        !b.is_enabled("legacy_api", &anyone())
    })
    .await;
    assert_eq!(b.version(), 2);
    assert!(b_store.is_listening());
}

/// The app the load test calls: answers from the flags, never the database.
fn app(flags: Flags) -> Router {
    Router::new()
        .route(
            "/checkout",
            get(
                |State(flags): State<Flags>,
                 Query(q): Query<std::collections::HashMap<String, String>>| async move {
                    let user = q.get("user").cloned().unwrap_or_default();
                    let snap = flags.snapshot();
                    let on = snap.is_enabled("new_checkout_flow", &Context::new().user_id(user));
                    format!("{} {}", snap.version(), if on { "new" } else { "old" })
                },
            ),
        )
        .with_state(flags)
}

async fn serve(flags: Flags) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app(flags)).await.unwrap() });
    addr
}

#[derive(Default)]
struct Load {
    ok: AtomicU64,
    failed: AtomicU64,
    stop: AtomicBool,
}

async fn hammer(addr: std::net::SocketAddr, load: Arc<Load>) {
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let client: Client<_, http_body_util::Empty<hyper::body::Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let mut i = 0u64;
    while !load.stop.load(Ordering::Relaxed) {
        i += 1;
        let uri = format!("http://{addr}/checkout?user=u{i}").parse().unwrap();
        let ok = match client.get(uri).await {
            Ok(resp) if resp.status() == StatusCode::OK => {
                http_body_util::BodyExt::collect(resp.into_body())
                    .await
                    .is_ok()
            }
            _ => false,
        };
        let counter = if ok { &load.ok } else { &load.failed };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restart_under_load_fails_no_request_and_both_end_on_one_version() {
    let _server = own_server().await;
    let db = TestDb::create().await;
    let (a, a_store) = instance(&db, "a").await;
    let (b, b_store) = instance(&db, "b").await;
    eventually("both listen", || {
        a_store.is_listening() && b_store.is_listening()
    })
    .await;
    let load = Arc::new(Load::default());
    let mut tasks = Vec::new();
    for addr in [serve(a.clone()).await, serve(b.clone()).await] {
        for _ in 0..2 {
            tasks.push(tokio::spawn(hammer(addr, load.clone())));
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    pg_ctl("stop -m fast").await;
    eventually("both notice", || {
        !a_store.is_listening() && !b_store.is_listening()
    })
    .await;
    let down_since = load.ok.load(Ordering::Relaxed);
    // A write while the database is down is refused, not lost silently.
    let down = a
        .writer("ops")
        .commit(Edit::kill("new_checkout_flow"))
        .await;
    assert!(
        matches!(down, Err(CommitError::Store(StoreError::Unavailable(_)))),
        "{down:?}"
    );
    // Served while the database is down: counted from when both noticed.
    eventually("requests served with the database down", || {
        load.ok.load(Ordering::Relaxed) > down_since + 20
    })
    .await;
    let during = load.ok.load(Ordering::Relaxed) - down_since;
    pg_ctl("start").await;

    let done = until_ok("the kill after the restart", || {
        a.writer("ops").commit(Edit::kill("new_checkout_flow"))
    })
    .await;
    eventually("b serves the kill", || b.version() == done.version).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    load.stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let (ok, failed) = (
        load.ok.load(Ordering::Relaxed),
        load.failed.load(Ordering::Relaxed),
    );
    println!("restart under load: {ok} requests served, {failed} failed");
    assert_eq!(failed, 0);
    assert!(
        ok > down_since + during,
        "requests were served throughout ({during} with the database down, {ok} in all)"
    );
    assert_eq!(a.version(), b.version());
    assert_eq!(a.version(), 2);
    assert!(!b.is_enabled("new_checkout_flow", &Context::new().user_id("u1")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn startup_with_the_database_down_serves_the_last_known_good_file() {
    let _server = own_server().await;
    let db = TestDb::create().await;
    let last_good = db.dir.path().join("flags.last-good.json");
    let (a, _) = instance_with(
        db.config("a")
            .seed_file(db.seed(SEED))
            .last_known_good(&last_good),
    )
    .await;
    a.writer("ops")
        .commit(Edit::kill("legacy_api"))
        .await
        .unwrap();
    eventually("the file holds version 2", || {
        last_good_version(&last_good) == Some(2)
    })
    .await;

    pg_ctl("stop -m fast").await;
    let refused = PostgresStore::connect(
        db.config("strict")
            .last_known_good(&last_good)
            .refuse_without_database(true),
    )
    .await
    .unwrap_err();
    assert!(matches!(refused, StoreError::Unavailable(_)), "{refused}");
    let no_file = PostgresStore::connect(db.config("nofile"))
        .await
        .unwrap_err();
    assert!(
        no_file.to_string().contains("no last-known-good file"),
        "{no_file}"
    );

    let (c, c_store) = instance_with(db.config("c").last_known_good(&last_good)).await;
    assert_eq!(c.version(), 2);
    assert!(!c.is_enabled("legacy_api", &anyone()));
    assert!(!c_store.is_listening());

    pg_ctl("start").await;
    let done = until_ok("a write after the restart", || {
        a.writer("ops").commit(Edit::kill("beta_search"))
    })
    .await;
    eventually("c catches up once the database is back", || {
        c.version() == done.version
    })
    .await;
    assert!(!c.is_enabled("beta_search", &Context::new().property("beta", "true")));
    eventually("c's file follows", || {
        last_good_version(&last_good) == Some(done.version)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn propagation_latency_a_to_b_over_200_changes() {
    // Alone on the server, so other tests do not skew the figures.
    let _server = own_server().await;
    let db = TestDb::create().await;
    let (a, _) = instance(&db, "a").await;
    let (b, b_store) = instance(&db, "b").await;
    eventually("b listens", || b_store.is_listening()).await;

    let mut from_request = Vec::with_capacity(200);
    let mut from_ack = Vec::with_capacity(200);
    for i in 0..200u32 {
        let start = Instant::now();
        let done = a
            .writer("ops")
            .commit(Edit::rollout("new_checkout_flow", i % 100))
            .await
            .unwrap();
        let acked = Instant::now();
        let b2 = b.clone();
        let seen = tokio::task::spawn_blocking(move || {
            let deadline = Instant::now() + Duration::from_secs(10);
            while b2.version() < done.version {
                assert!(
                    Instant::now() < deadline,
                    "b never saw version {}",
                    done.version
                );
                std::thread::sleep(Duration::from_micros(50));
            }
            Instant::now()
        })
        .await
        .unwrap();
        from_request.push(seen - start);
        from_ack.push(seen.saturating_duration_since(acked));
    }
    assert_eq!(b.version(), a.version());
    let report = |mut v: Vec<Duration>| {
        v.sort();
        let pct = |p: f64| v[((v.len() as f64 * p).ceil() as usize).saturating_sub(1)];
        format!(
            "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            pct(0.50).as_secs_f64() * 1e3,
            pct(0.99).as_secs_f64() * 1e3,
            v[v.len() - 1].as_secs_f64() * 1e3
        )
    };
    println!(
        "propagation A→B over 200 changes: from the commit call on A to B serving: {}; from A's acknowledgement: {}",
        report(from_request),
        report(from_ack)
    );
}
