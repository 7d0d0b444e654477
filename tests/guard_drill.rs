//! The incident drill, end to end over real HTTP on loopback.
//!
//! A flag at 5% whose new handler starts failing 30% of requests while the
//! legacy handler fails 0.5%, under about 200 requests a second of distinct
//! users, through `FlagsLayer` (whose counters the guard reads). The guard
//! runs as it would in an app: its own task, the system clock, a check every
//! second. The same drill with a healthy new arm must not kill.
//!
//! Figures are printed (run with `--nocapture`); the assertions are on
//! request counts, not on wall-clock times, so a loaded machine slows the
//! drill down without failing it.

mod drill;
mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::routing::get;
use axum::Router;
use drill::*;
use flags_middleware::guard::{EventKind, Guard, Status};
use flags_middleware::{Context, Flags, FlagsLayer};
use http_body_util::Empty;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use support::Recorder;
use tracing::Level;

struct Drill {
    samples: Vec<Sample>,
    /// When the new handler started failing.
    broke_at: SystemTime,
    /// The guard's kill, if any: when, and its audit message.
    kill: Option<(SystemTime, String)>,
    guard: Guard,
    flags: Flags,
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    addr
}

/// Runs the drill: a healthy warm-up, then the new handler breaks (when
/// `new_errors` is above the legacy rate) and traffic goes on until the
/// guard kills the flag (plus two seconds) or `max` has passed.
async fn drill(seed: u64, new_errors: f64, max: Duration) -> Drill {
    // The flag opts in where users write it: in its TOML.
    let toml = format!("[{FLAG}]\nrollout = 5\nguard = true\n");
    let flags = Flags::from_toml_str(&toml, "flags.toml").unwrap();
    let app = Arc::new(App {
        broken: AtomicBool::new(false),
        new_errors_when_broken: new_errors,
        rng: Mutex::new(fastrand::Rng::with_seed(seed)),
    });
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
    let base = format!("http://{}", serve(router).await);

    // The guard as an app runs it: the layer's counters, the system clock,
    // a check a second, the flags that ask for it (with the defaults).
    let guard = Guard::for_flags(&flags)
        .interval(Duration::from_secs(1))
        .build();
    let task = guard.spawn();

    let client: Client<HttpConnector, Empty<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let samples = Arc::new(Mutex::new(Vec::new()));
    let mut every = tokio::time::interval(Duration::from_secs(1) / RATE);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let started = SystemTime::now();
    let mut broke_at = None;
    let mut kill: Option<(SystemTime, String)> = None;
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
            let after_kill = kill
                .as_ref()
                .map(|(k, _)| now.duration_since(*k).unwrap_or_default());
            if since >= max || after_kill >= Some(Duration::from_secs(2)) {
                break;
            }
        }
        if kill.is_none() && user % 20 == 0 {
            kill = guard.snapshot().events.iter().find_map(|e| match e.kind {
                EventKind::Killed { .. } => Some((
                    UNIX_EPOCH + Duration::from_millis(e.at_ms),
                    e.message.clone(),
                )),
                _ => None,
            });
        }
        let client = client.clone();
        let samples = samples.clone();
        let url = format!("{base}/api/v1/products/{}", user % 997);
        in_flight.spawn(async move {
            let sample = drill::send(&client, url, format!("user-{seed}-{user}")).await;
            samples.lock().unwrap().push(sample);
        });
        while in_flight.try_join_next().is_some() {}
    }
    while in_flight.join_next().await.is_some() {}
    task.stop();
    let samples = samples.lock().unwrap().clone();
    Drill {
        samples,
        broke_at: broke_at.unwrap(),
        kill,
        guard,
        flags,
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_broken_new_arm_is_killed_within_seconds() {
    let (events, _guard) = Recorder::install();
    let d = drill(1, BROKEN_ERRORS, Duration::from_secs(60)).await;
    let (killed_at, message) = d.kill.clone().expect("the guard never killed the flag");

    let after: Vec<&Sample> = d.samples.iter().filter(|s| s.sent >= d.broke_at).collect();
    let before_kill: Vec<&&Sample> = after.iter().filter(|s| s.sent < killed_at).collect();
    let new_served = before_kill.iter().filter(|s| s.new_arm).count();
    let new_failed = after.iter().filter(|s| s.new_arm && s.failed).count();
    let new_after_kill = after
        .iter()
        .filter(|s| s.new_arm && s.sent > killed_at + Duration::from_millis(100))
        .count();
    let seconds = killed_at.duration_since(d.broke_at).unwrap().as_secs_f64();
    let hour_cost = f64::from(RATE) * SHARE * BROKEN_ERRORS * 3600.0;
    let rate = before_kill.len() as f64 / seconds;
    eprintln!(
        "drill: killed {seconds:.1} s after the failures began; {new_failed} new-arm requests \
         failed (of {new_served} served, {} requests in all at {rate:.0} req/s); an hour \
         unattended would fail {hour_cost:.0} ({:.2}%)\n  audit: {message}",
        before_kill.len(),
        100.0 * new_failed as f64 / hour_cost,
    );

    // The flag is off, and nobody got the new arm after the kill.
    assert!(!d
        .flags
        .is_enabled(FLAG, &Context::new().user_id("user-1-7")));
    assert_eq!(new_after_kill, 0);
    // At most 1% of what an hour unattended would cost.
    assert!(
        (new_failed as f64) <= 0.01 * hour_cost,
        "{new_failed} failures"
    );
    assert!(message.starts_with("guard: new arm "), "{message}");
    assert!(message.ends_with("p < 0.001"), "{message}");

    // The kill was one WARN event at flags::guard carrying the figures.
    let warns: Vec<_> = events
        .with_target("flags::guard")
        .into_iter()
        .filter(|e| e.level == Level::WARN)
        .collect();
    assert_eq!(warns.len(), 1);
    assert_eq!(warns[0].str("message"), message);
    assert_eq!(warns[0].str("feature_flag.key"), FLAG);

    let snapshot = d.guard.snapshot();
    assert_eq!(snapshot.flag(FLAG).unwrap().kills, 1);
}

#[tokio::test(flavor = "current_thread")]
async fn a_healthy_new_arm_is_left_alone() {
    let d = drill(2, LEGACY_ERRORS, Duration::from_secs(30)).await;
    let snapshot = d.guard.snapshot();
    let f = snapshot.flag(FLAG).unwrap();
    let new_served = d.samples.iter().filter(|s| s.new_arm).count();
    let new_failed = d.samples.iter().filter(|s| s.new_arm && s.failed).count();
    eprintln!(
        "healthy drill: {} requests, {new_served} on the new arm ({new_failed} failed), \
         {} checks, last verdict {:?}, kills {}",
        d.samples.len(),
        snapshot.checks,
        f.last.as_ref().map(|v| v.status),
        f.kills
    );
    assert!(d.kill.is_none(), "{:?}", d.kill);
    assert_eq!(f.kills, 0);
    assert!(d.flags.snapshot().feature(FLAG).unwrap().enabled);
    // The guard did judge: the window held enough new-arm traffic.
    assert!(f.window.new.requests >= 50, "{:?}", f.window);
    assert_ne!(f.last.as_ref().unwrap().status, Status::NoData);
}
