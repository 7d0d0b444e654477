//! The incident drill at fleet scale: N instances (each its own `Flags`
//! from the database, its own router on its own port, its own guard with
//! its own connections) behind a round-robin client, 200 requests a second
//! of distinct users, the flag at 5%, the new handler failing 30% against
//! 0.5% for legacy. Judged per instance or on the fleet's shared counts.
//!
//! Assertions are on request counts (requests sent between the failures
//! starting and the kill, failed new-arm requests, kill entries), never on
//! wall-clock times. `cargo test ... fleet_drill_table -- --ignored
//! --nocapture` prints the README's table (1, 2, 5, 10 instances, both
//! ways).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::body::Bytes;
use axum::routing::get;
use axum::Router;
use flags_middleware::guard::fleet::PostgresFleet;
use flags_middleware::guard::{Guard, GuardTask, Status};
use flags_middleware::{Flags, FlagsLayer};
use http_body_util::Empty;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use tracing::Level;

use crate::drill::{self, *};
use crate::support::*;

/// How the guards judge.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Judging {
    PerInstance,
    Fleet,
}

struct Node {
    flags: Flags,
    guard: Guard,
    _task: GuardTask,
    base: String,
}

/// What a drill run measured.
struct Outcome {
    instances: usize,
    judging: Judging,
    /// Seconds from the failures starting to the kill's audit entry.
    killed_after: Option<f64>,
    /// Requests sent after the failures began and before the kill.
    requests_before_kill: usize,
    new_failed: usize,
    new_after_kill: usize,
    kill_entries: usize,
    message: Option<String>,
    requests: usize,
    /// Requests a second the client managed.
    rate: f64,
    /// The sharing's statements per second per instance.
    statements_per_second: f64,
    nodes: Vec<Node>,
}

impl Outcome {
    fn hour_cost() -> f64 {
        f64::from(RATE) * SHARE * BROKEN_ERRORS * 3600.0
    }

    fn print(&self) {
        eprintln!(
            "fleet drill: {} instance(s), {:?}: killed after {}, {} requests before the kill, \
             {} failed new-arm requests ({:.2}% of an hour unattended), {} kill entries, \
             {:.2} statements/s per instance, {:.0} req/s; {}",
            self.instances,
            self.judging,
            self.killed_after
                .map_or("never".to_owned(), |s| format!("{s:.1} s")),
            self.requests_before_kill,
            self.new_failed,
            100.0 * self.new_failed as f64 / Self::hour_cost(),
            self.kill_entries,
            self.statements_per_second,
            self.rate,
            self.message.as_deref().unwrap_or("-"),
        );
    }
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

async fn drill(
    instances: usize,
    judging: Judging,
    seed: u64,
    new_errors: f64,
    max: Duration,
) -> Outcome {
    let db = TestDb::create().await;
    let seed_file = db.seed(&format!("[{FLAG}]\nrollout = 5\nguard = true\n"));
    let app = Arc::new(App {
        broken: AtomicBool::new(false),
        new_errors_when_broken: new_errors,
        rng: Mutex::new(fastrand::Rng::with_seed(seed)),
    });
    let mut nodes = Vec::new();
    let mut fleets = Vec::new();
    for i in 0..instances {
        let config = db.config(&format!("web-{i}")).seed_file(&seed_file);
        let flags = Flags::from_postgres(config.clone()).await.unwrap();
        let router = Router::new()
            .route("/api/v1/products/{id}", get(product))
            .with_state(app.clone())
            .layer(
                FlagsLayer::new(flags.clone())
                    .user_header("x-user-id")
                    .unwrap()
                    .decision_events(None::<Level>)
                    .request_events(None::<Level>),
            );
        let base = serve(router).await;
        let builder = Guard::for_flags(&flags).interval(Duration::from_secs(1));
        let guard = match judging {
            Judging::PerInstance => builder.local_counts().build(),
            Judging::Fleet => {
                let fleet = Arc::new(PostgresFleet::new(config));
                fleets.push(fleet.clone());
                builder.shared_counts(fleet).build()
            }
        };
        let task = guard.spawn();
        nodes.push(Node {
            flags,
            guard,
            _task: task,
            base,
        });
    }

    let client: Client<HttpConnector, Empty<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let samples = Arc::new(Mutex::new(Vec::new()));
    let mut every = tokio::time::interval(Duration::from_secs(1) / RATE);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let started = SystemTime::now();
    let clock = Instant::now();
    let mut broke_at = None;
    let mut seen_off: Option<SystemTime> = None;
    let mut in_flight = tokio::task::JoinSet::new();
    for user in 0u64.. {
        every.tick().await;
        let now = SystemTime::now();
        if broke_at.is_none() && now.duration_since(started).unwrap() >= WARM_UP {
            app.broken.store(true, Ordering::Relaxed);
            broke_at = Some(now);
        }
        if let Some(at) = broke_at {
            let since = now.duration_since(at).unwrap_or_default();
            let after = seen_off.map(|k| now.duration_since(k).unwrap_or_default());
            if since >= max || after >= Some(Duration::from_secs(2)) {
                break;
            }
        }
        if seen_off.is_none()
            && user % 20 == 0
            && !nodes[0].flags.snapshot().feature(FLAG).unwrap().enabled
        {
            seen_off = Some(now);
        }
        let node = &nodes[usize::try_from(user).unwrap() % instances];
        let url = format!("{}/api/v1/products/{}", node.base, user % 997);
        let client = client.clone();
        let samples = samples.clone();
        in_flight.spawn(async move {
            let sample = drill::send(&client, url, format!("user-{seed}-{user}")).await;
            samples.lock().unwrap().push(sample);
        });
        while in_flight.try_join_next().is_some() {}
    }
    while in_flight.join_next().await.is_some() {}
    let elapsed = clock.elapsed().as_secs_f64();
    let statements: u64 = fleets.iter().map(|f| f.statements()).sum();

    let broke_at = broke_at.unwrap();
    let kills: Vec<_> = nodes[0]
        .flags
        .audit_page(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "kill")
        .collect();
    let killed_at: Option<SystemTime> = kills.last().map(|e| e.at.into());
    let samples = samples.lock().unwrap().clone();
    let after: Vec<&Sample> = samples.iter().filter(|s| s.sent >= broke_at).collect();
    let before_kill = after
        .iter()
        .filter(|s| killed_at.is_none_or(|k| s.sent < k))
        .count();
    Outcome {
        instances,
        judging,
        killed_after: killed_at
            .map(|k| k.duration_since(broke_at).unwrap_or_default().as_secs_f64()),
        requests_before_kill: before_kill,
        new_failed: after.iter().filter(|s| s.new_arm && s.failed).count(),
        new_after_kill: after
            .iter()
            .filter(|s| {
                s.new_arm && killed_at.is_some_and(|k| s.sent > k + Duration::from_millis(200))
            })
            .count(),
        kill_entries: kills.len(),
        message: kills.last().and_then(|e| e.message.clone()),
        requests: samples.len(),
        rate: samples.len() as f64 / elapsed,
        statements_per_second: statements as f64 / elapsed / instances as f64,
        nodes,
    }
}

/// Ten instances judging on the fleet's traffic kill a broken arm within
/// the single-instance figures: fewer than 10 s of requests before the
/// kill, at most 1% of an hour's failures, one kill entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_instances_kill_a_broken_arm_as_fast_as_one() {
    let _server = share_server().await;
    let d = drill(
        10,
        Judging::Fleet,
        1,
        BROKEN_ERRORS,
        Duration::from_secs(60),
    )
    .await;
    d.print();
    assert_eq!(d.kill_entries, 1, "{:?}", d.message);
    let message = d.message.clone().unwrap();
    assert!(message.starts_with("guard: new arm "), "{message}");
    // 10 s at 200 requests a second.
    assert!(
        d.requests_before_kill <= 10 * RATE as usize,
        "{} requests before the kill",
        d.requests_before_kill
    );
    assert!(
        (d.new_failed as f64) <= 0.01 * Outcome::hour_cost(),
        "{} failures",
        d.new_failed
    );
    assert_eq!(d.new_after_kill, 0);
    for n in &d.nodes {
        assert!(!n.flags.snapshot().feature(FLAG).unwrap().enabled);
    }
    let kills: u64 = d
        .nodes
        .iter()
        .map(|n| n.guard.snapshot().flag(FLAG).unwrap().kills)
        .sum();
    assert_eq!(kills, 1);
}

/// The same ten instances with a healthy new arm: judged (the fleet's
/// window holds enough new-arm traffic), not killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_instances_leave_a_healthy_arm_alone() {
    let _server = share_server().await;
    let d = drill(
        10,
        Judging::Fleet,
        2,
        LEGACY_ERRORS,
        Duration::from_secs(30),
    )
    .await;
    d.print();
    assert_eq!(d.kill_entries, 0, "{:?}", d.message);
    for n in &d.nodes {
        let snap = n.guard.snapshot();
        let f = snap.flag(FLAG).unwrap();
        assert!(f.fleet);
        assert_eq!(f.kills, 0);
        assert!(f.window.new.requests >= 50, "{:?}", f.window);
        assert_ne!(f.last.as_ref().unwrap().status, Status::NoData);
    }
    assert!(d.requests > 1000);
}

/// The README's table: 1, 2, 5 and 10 instances, per instance and on the
/// fleet's traffic. Long (about eight minutes): run by hand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "prints the README's table; about eight minutes"]
async fn fleet_drill_table() {
    let _server = share_server().await;
    let mut rows = Vec::new();
    for n in [1, 2, 5, 10] {
        for judging in [Judging::PerInstance, Judging::Fleet] {
            let d = drill(
                n,
                judging,
                10 + n as u64,
                BROKEN_ERRORS,
                Duration::from_secs(90),
            )
            .await;
            d.print();
            // Every configuration kills the broken arm, once (how fast is
            // what the table shows, not what it asserts).
            assert_eq!(
                d.kill_entries, 1,
                "{n} instances, {judging:?}: {:?}",
                d.message
            );
            assert!(d.killed_after.is_some(), "{n} instances, {judging:?}");
            rows.push(format!(
                "| {n} | {judging:?} | {} | {} | {} ({:.2}%) | {} | {:.2} | {:.0} |",
                d.killed_after
                    .map_or("never".to_owned(), |s| format!("{s:.1} s")),
                d.requests_before_kill,
                d.new_failed,
                100.0 * d.new_failed as f64 / Outcome::hour_cost(),
                d.kill_entries,
                d.statements_per_second,
                d.rate,
            ));
        }
    }
    eprintln!(
        "| instances | judging | killed after | requests before the kill | failed new-arm requests \
         | kill entries | statements/s per instance | req/s |"
    );
    eprintln!("|---|---|---|---|---|---|---|---|");
    for r in rows {
        eprintln!("{r}");
    }
}
