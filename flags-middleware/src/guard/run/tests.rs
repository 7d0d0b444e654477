use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use std::time::Duration;

use super::*;
use crate::guard::clock::ManualClock;
use crate::guard::detect::{ManualCounts, Side, Status};
use crate::guard::event::{EventKind, GuardEvent};
use crate::guard::plan::{Plan, PlanStatus};
use crate::guard::GuardConfig;
use crate::{Context, Flags};

const FLAG: &str = "new_checkout_flow";
const DAY: Duration = Duration::from_secs(86_400);

fn flags() -> Flags {
    Flags::from_unleash_json(&format!(
        r#"{{"features": [{{"name": "{FLAG}", "enabled": true, "strategies": [
            {{"name": "flexibleRollout", "parameters": {{"rollout": "5", "stickiness": "default", "groupId": "{FLAG}"}}}}]}}]}}"#
    ))
    .unwrap()
}

fn rollout(flags: &Flags) -> (bool, String) {
    let snap = flags.snapshot();
    let f = snap.feature(FLAG).unwrap();
    (f.enabled, f.strategies[0].parameters["rollout"].clone())
}

struct Rig {
    flags: Flags,
    counts: ManualCounts,
    clock: ManualClock,
    guard: Guard,
}

fn rig(plan: Option<Plan>) -> Rig {
    let flags = flags();
    let counts = ManualCounts::new();
    let clock = ManualClock::new();
    let builder =
        Guard::builder(counts.clone(), FlagsApplier::new(flags.clone())).clock(clock.clone());
    let guard = match plan {
        Some(plan) => builder.plan(FLAG, GuardConfig::new(), plan),
        None => builder.watch(FLAG, GuardConfig::new()),
    }
    .build();
    Rig {
        flags,
        counts,
        clock,
        guard,
    }
}

impl Rig {
    /// `by` of time, with this traffic, then a check.
    async fn tick(&self, by: Duration, new: (u64, u64), old: (u64, u64)) -> Vec<GuardEvent> {
        self.counts.add(FLAG, Side::New, new.0, new.1);
        self.counts.add(FLAG, Side::Old, old.0, old.1);
        self.clock.advance(by);
        self.guard.check().await
    }

    async fn healthy_hour(&self) -> Vec<GuardEvent> {
        self.tick(Duration::from_secs(3600), (200, 1), (2000, 10))
            .await
    }

    async fn incident_second(&self) -> Vec<GuardEvent> {
        self.tick(Duration::from_secs(1), (10, 3), (190, 1)).await
    }
}

#[tokio::test]
async fn an_incident_is_killed_and_explained() {
    let r = rig(None);
    r.guard.check().await;
    let mut events = Vec::new();
    for _ in 0..30 {
        events = r.incident_second().await;
        if !events.is_empty() {
            break;
        }
    }
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert!(matches!(e.kind, EventKind::Killed { .. }));
    assert_eq!(e.flag, FLAG);
    assert!(e.message.starts_with("guard: new arm 3"), "{}", e.message);
    assert!(
        e.message
            .contains("errors over 50 requests vs 0.5% over 950, p < 0.001"),
        "{}",
        e.message
    );
    assert!(!rollout(&r.flags).0);

    let snap = r.guard.snapshot();
    let f = snap.flag(FLAG).unwrap();
    assert_eq!(f.kills, 1);
    assert_eq!(f.last.as_ref().unwrap().status, Status::Kill);
    // The window starts afresh after the kill.
    assert_eq!(f.window.new.requests, 0);
    assert_eq!(snap.events, events);
}

/// An applier that says the flag was already off: the guard neither
/// counts nor reports a kill, and does not judge that traffic again.
#[tokio::test]
async fn a_kill_that_changed_nothing_is_not_counted() {
    struct AlreadyOff(Arc<AtomicU32>);
    impl Applier for AlreadyOff {
        fn apply<'a>(&'a self, _action: &'a Action) -> ApplyFuture<'a> {
            unreachable!("the guard calls apply_checked")
        }
        fn apply_checked<'a>(&'a self, _action: &'a Action) -> AppliedFuture<'a> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Ok(Applied::new(1, false)) })
        }
    }
    let counts = ManualCounts::new();
    let clock = ManualClock::new();
    let tries = Arc::new(AtomicU32::new(0));
    let guard = Guard::builder(counts.clone(), AlreadyOff(Arc::clone(&tries)))
        .clock(clock.clone())
        .watch(FLAG, GuardConfig::new())
        .build();
    guard.check().await;
    counts.add(FLAG, Side::New, 50, 15);
    counts.add(FLAG, Side::Old, 950, 5);
    clock.advance(Duration::from_secs(5));
    assert!(guard.check().await.is_empty(), "no Killed event");
    assert_eq!(tries.load(Ordering::SeqCst), 1, "the kill was tried");
    let snap = guard.snapshot();
    let f = snap.flag(FLAG).unwrap();
    assert_eq!(f.kills, 0);
    assert_eq!(f.window.new.requests, 0, "that traffic is not judged again");
    clock.advance(Duration::from_secs(5));
    guard.check().await;
    assert_eq!(tries.load(Ordering::SeqCst), 1, "not tried again");
}

#[test]
fn a_kill_is_a_warn_event_at_flags_guard() {
    let buf = Arc::new(Mutex::new(Vec::<u8>::new()));
    let writer = {
        let buf = buf.clone();
        move || Writer(buf.clone())
    };
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(writer)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        crate::test_tracing::ask_every_dispatcher();
        rt.block_on(async {
            let r = rig(None);
            r.guard.check().await;
            // Until the kill: the fake traffic does not follow the flag.
            while r.incident_second().await.is_empty() {}
        })
    });
    let out = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
    let kills: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &serde_json::Value| v["level"] == "WARN")
        .collect();
    assert_eq!(kills.len(), 1, "{out}");
    let k = &kills[0];
    assert_eq!(k["target"], "flags::guard");
    assert_eq!(k["fields"]["feature_flag.key"], FLAG);
    assert_eq!(k["fields"]["new_requests"], 50);
    assert!(k["fields"]["message"]
        .as_str()
        .unwrap()
        .starts_with("guard: new arm"));
}

struct Writer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Writer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The seed's playbook, in simulated days: 5% → 25% → 50% → 100%.
#[tokio::test]
async fn a_healthy_plan_walks_to_completion() {
    let r = rig(Some(Plan::gradual()));
    let events = r.guard.check().await;
    assert_eq!(events[0].message, "plan: start at 5% (step 1 of 4)");
    assert_eq!(rollout(&r.flags), (true, "5".into()));

    let mut log = Vec::new();
    for hour in 1..=24 * 8 {
        for e in r.healthy_hour().await {
            log.push((hour, e.message.clone()));
        }
    }
    assert_eq!(
        log,
        vec![
            (
                24,
                "plan: 5% -> 25% (step 2 of 4), previous step healthy".to_owned()
            ),
            (
                72,
                "plan: 25% -> 50% (step 3 of 4), previous step healthy".to_owned()
            ),
            (
                120,
                "plan: 50% -> 100% (step 4 of 4), previous step healthy".to_owned()
            ),
            (121, "plan: completed".to_owned()),
        ]
    );
    assert_eq!(rollout(&r.flags), (true, "100".into()));
    let plan = r.guard.snapshot().flag(FLAG).unwrap().plan.clone().unwrap();
    assert_eq!(plan.status, PlanStatus::Completed);
}

#[tokio::test]
async fn a_plan_without_traffic_does_not_advance() {
    let r = rig(Some(Plan::gradual()));
    r.guard.check().await;
    for _ in 0..24 * 3 {
        assert!(r
            .tick(Duration::from_secs(3600), (0, 0), (0, 0))
            .await
            .is_empty());
    }
    assert_eq!(rollout(&r.flags).1, "5");
}

/// A regression at 50% halts the plan; a restart goes back to 5% with the
/// same users as the first time.
#[tokio::test]
async fn a_kill_halts_the_plan_and_a_restart_brings_the_same_users_back() {
    let users = |flags: &Flags| -> Vec<u32> {
        (0..1000)
            .filter(|i| flags.is_enabled(FLAG, &Context::new().user_id(format!("u{i}"))))
            .collect()
    };
    let r = rig(Some(Plan::gradual()));
    r.guard.check().await;
    let first = users(&r.flags);
    for _ in 0..24 * 3 + 2 {
        r.healthy_hour().await;
    }
    assert_eq!(rollout(&r.flags).1, "50");

    let mut events = Vec::new();
    while events.is_empty() {
        events = r.tick(Duration::from_secs(1), (100, 30), (100, 1)).await;
    }
    let kinds: Vec<_> = events.iter().map(|e| &e.kind).collect();
    assert!(
        matches!(kinds[..], [EventKind::Killed { .. }, EventKind::Halted]),
        "{kinds:?}"
    );
    assert!(events[1].message.starts_with("plan halted: guard: new arm"));
    assert!(users(&r.flags).is_empty());
    let plan = r.guard.snapshot().flag(FLAG).unwrap().plan.clone().unwrap();
    assert_eq!(plan.status, PlanStatus::Halted);
    assert_eq!(plan.halted_by.as_deref(), Some(events[0].message.as_str()));

    // Halted plans neither advance nor resume.
    r.clock.advance(10 * DAY);
    assert!(r.guard.check().await.is_empty());
    let e = r.guard.resume(FLAG).await.unwrap_err();
    assert!(e.to_string().contains("restart it"), "{e}");

    let e = r.guard.restart(FLAG).await.unwrap();
    assert_eq!(e.kind, EventKind::Restarted { to: 5 });
    assert_eq!(rollout(&r.flags), (true, "5".into()));
    assert_eq!(users(&r.flags), first);
}

#[tokio::test]
async fn pause_resume_and_abandon() {
    let r = rig(Some(Plan::gradual()));
    r.guard.check().await;
    for _ in 0..12 {
        r.healthy_hour().await;
    }
    assert_eq!(r.guard.pause(FLAG).await.unwrap().kind, EventKind::Paused);
    for _ in 0..48 {
        assert!(r.healthy_hour().await.is_empty());
    }
    assert_eq!(rollout(&r.flags).1, "5");
    r.guard.resume(FLAG).await.unwrap();
    // Half the step was done before the pause.
    let mut hours = 0;
    while r.healthy_hour().await.is_empty() {
        hours += 1;
    }
    assert_eq!((hours, rollout(&r.flags).1.as_str()), (11, "25"));

    let e = r.guard.abandon(FLAG).await.unwrap();
    assert_eq!(e.message, "plan: abandoned");
    for _ in 0..24 * 5 {
        assert!(r.healthy_hour().await.is_empty());
    }
    assert_eq!(
        rollout(&r.flags).1,
        "25",
        "an abandoned plan leaves the flag as it is"
    );
    // The guard still watches an abandoned plan's flag.
    let mut killed = false;
    for _ in 0..30 {
        killed |= !r.incident_second().await.is_empty();
    }
    assert!(killed);
}

#[tokio::test]
async fn control_errors_name_the_flag() {
    let r = rig(None);
    assert_eq!(
        r.guard.pause("nope").await.unwrap_err().to_string(),
        "flag `nope` is not guarded"
    );
    assert_eq!(
        r.guard.restart(FLAG).await.unwrap_err().to_string(),
        format!("flag `{FLAG}` has no rollout plan")
    );
    let e = r.guard.start_plan(FLAG, Plan::new()).await.unwrap_err();
    assert!(matches!(e, ControlError::Refused { .. }), "{e}");
    let started = r.guard.start_plan(FLAG, Plan::gradual()).await.unwrap();
    assert_eq!(started.message, "plan: start at 5% (step 1 of 4)");
    let e = r.guard.resume(FLAG).await.unwrap_err();
    assert!(e.to_string().contains("only a paused plan"), "{e}");
}

/// Fails its first `n` applications.
struct Flaky {
    inner: FlagsApplier,
    failures: AtomicU32,
}

impl Applier for Flaky {
    fn apply<'a>(&'a self, action: &'a Action) -> ApplyFuture<'a> {
        Box::pin(async move {
            if self.failures.load(Ordering::SeqCst) > 0 {
                self.failures.fetch_sub(1, Ordering::SeqCst);
                return Err(ApplyError::new(action.flag(), "store unavailable"));
            }
            self.inner.apply(action).await
        })
    }
}

#[tokio::test]
async fn a_failed_kill_is_retried() {
    let flags = flags();
    let counts = ManualCounts::new();
    let clock = ManualClock::new();
    let guard = Guard::builder(
        counts.clone(),
        Flaky {
            inner: FlagsApplier::new(flags.clone()),
            failures: AtomicU32::new(2),
        },
    )
    .clock(clock.clone())
    .watch(FLAG, GuardConfig::new())
    .build();
    guard.check().await;
    let mut kinds = Vec::new();
    for _ in 0..30 {
        counts.add(FLAG, Side::New, 10, 3);
        counts.add(FLAG, Side::Old, 190, 1);
        clock.advance(Duration::from_secs(1));
        kinds.extend(guard.check().await.into_iter().map(|e| e.kind));
        if matches!(kinds.last(), Some(EventKind::Killed { .. })) {
            break;
        }
    }
    assert!(matches!(kinds[0], EventKind::KillFailed { .. }));
    assert!(matches!(kinds[1], EventKind::KillFailed { .. }));
    assert!(matches!(kinds[2], EventKind::Killed { .. }));
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    assert!(!flags.is_enabled(FLAG, &Context::new().user_id("u1")));
}

#[tokio::test]
async fn the_snapshot_serializes_for_the_admin_api() {
    let r = rig(Some(Plan::gradual()));
    r.guard.check().await;
    r.tick(Duration::from_secs(1), (20, 1), (400, 2)).await;
    let json = serde_json::to_value(r.guard.snapshot()).unwrap();
    assert_eq!(json["interval_ms"], 1000);
    assert_eq!(json["checks"], 2);
    let f = &json["flags"][0];
    assert_eq!(f["flag"], FLAG);
    assert_eq!(f["window"]["new"]["requests"], 20);
    assert_eq!(f["window"]["old"]["bad"], 2);
    assert_eq!(f["last"]["status"], "no_data");
    assert_eq!(f["plan"]["status"], "running");
    assert_eq!(f["plan"]["percent"], 5);
    assert_eq!(f["config"]["min_requests"], 50);
    assert_eq!(json["events"][0]["kind"], "advanced");
    assert_eq!(json["events"][0]["to"], 5);
}

/// The spawned task checks on its own (real time, short interval).
#[tokio::test]
async fn the_spawned_task_kills() {
    let flags = flags();
    let counts = ManualCounts::new();
    let guard = Guard::builder(counts.clone(), FlagsApplier::new(flags.clone()))
        .interval(Duration::from_millis(20))
        .watch(FLAG, GuardConfig::new())
        .build();
    let task = guard.spawn();
    let feed = async {
        for _ in 0..500 {
            counts.add(FLAG, Side::New, 10, 3);
            counts.add(FLAG, Side::Old, 190, 1);
            tokio::time::sleep(Duration::from_millis(20)).await;
            if guard.snapshot().flag(FLAG).unwrap().kills > 0 {
                return true;
            }
        }
        false
    };
    assert!(feed.await, "not killed: {:?}", guard.snapshot());
    assert!(!flags.is_enabled(FLAG, &Context::new().user_id("u1")));
    task.stop();
}

/// A kill goes through the store: the flags file says `enabled = false`
/// afterwards (so it survives a restart), and the audit log beside it has
/// the kill by `guard` with the figures that triggered it.
#[tokio::test]
async fn a_kill_on_a_file_store_persists_and_is_audited_with_its_figures() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flags.toml");
    std::fs::write(&path, format!("[{FLAG}]\nrollout = 5\n")).unwrap();
    let flags = Flags::from_file(&path).unwrap();
    let counts = ManualCounts::new();
    let clock = ManualClock::new();
    let guard = Guard::builder(counts.clone(), FlagsApplier::new(flags.clone()))
        .clock(clock.clone())
        .watch(FLAG, GuardConfig::new())
        .build();
    guard.check().await;
    let mut killed = None;
    for _ in 0..30 {
        counts.add(FLAG, Side::New, 10, 3);
        counts.add(FLAG, Side::Old, 190, 1);
        clock.advance(Duration::from_secs(1));
        let events = guard.check().await;
        if let Some(e) = events
            .into_iter()
            .find(|e| matches!(e.kind, EventKind::Killed { .. }))
        {
            killed = Some(e);
            break;
        }
    }
    let killed = killed.expect("the guard kills the flag");
    assert!(!flags.snapshot().feature(FLAG).unwrap().enabled);

    // Durable: a fresh handle on the same file serves the flag off.
    let reread = Flags::from_file(&path).unwrap();
    assert!(!reread.snapshot().feature(FLAG).unwrap().enabled);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("enabled = false"), "{text}");

    let audit = std::fs::read_to_string(dir.path().join("flags.audit.jsonl")).unwrap();
    let last: crate::audit::AuditEntry =
        serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    assert_eq!(
        (
            last.actor.as_str(),
            last.action.as_str(),
            last.flag.as_str()
        ),
        ("guard", "kill", FLAG)
    );
    let message = last.message.unwrap();
    assert_eq!(message, killed.message);
    assert!(
        message.starts_with("guard: new arm ") && message.contains(" errors over "),
        "{message}"
    );
    assert_eq!(last.after.unwrap()["enabled"], false);
}
