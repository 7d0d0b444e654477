//! The rollout guard judging on the whole fleet's traffic through the
//! database: one kill for the fleet, the sums per definition (a kill and a
//! re-enable start afresh), `Guard::for_flags` sharing by itself.

use std::sync::Arc;
use std::time::Duration;

use flags_middleware::edit::Edit;
use flags_middleware::guard::detect::Side;
use flags_middleware::guard::fleet::PostgresFleet;
use flags_middleware::guard::{FlagsApplier, Guard, ManualCounts};
use flags_middleware::Flags;

use crate::support::*;

const FLAG: &str = "new_checkout_flow";
const GUARDED: &str = "[new_checkout_flow]\nrollout = 5\nguard = true\n";

struct Instance {
    flags: Flags,
    counts: ManualCounts,
    guard: Guard,
    fleet: Arc<PostgresFleet>,
}

async fn instance(db: &TestDb, name: &str) -> Instance {
    let config = db.config(name).seed_file(db.seed(GUARDED));
    let flags = Flags::from_postgres(config.clone()).await.unwrap();
    let counts = ManualCounts::new();
    let fleet = Arc::new(PostgresFleet::new(config));
    let guard = Guard::builder(counts.clone(), FlagsApplier::new(flags.clone()))
        .follow(&flags)
        .shared_counts(fleet.clone())
        .build();
    Instance {
        flags,
        counts,
        guard,
        fleet,
    }
}

async fn kill_entries(flags: &Flags) -> Vec<flags_middleware::audit::AuditEntry> {
    flags
        .audit_page(0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "kill")
        .collect()
}

/// The number in "over N requests" of a kill message.
fn over(message: &str) -> u64 {
    message
        .split(" over ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .unwrap()
        .replace(',', "")
        .parse()
        .unwrap()
}

/// Six instances, each with a sixth of the traffic (too little to judge
/// alone), check at the same moment, again and again: the fleet's sums
/// reach the kill, and the flag is killed once, one audit entry carrying
/// the fleet's figures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_reached_by_several_instances_at_once_is_one_audit_entry() {
    let _server = share_server().await;
    let db = TestDb::create().await;
    let mut fleet = Vec::new();
    for i in 0..6 {
        fleet.push(instance(&db, &format!("web-{i}")).await);
    }
    check_all(&fleet).await;
    let mut rounds = 0;
    while fleet[0].flags.snapshot().feature(FLAG).unwrap().enabled && rounds < 40 {
        for i in &fleet {
            // Per instance and round: 3 new-arm requests, one failing.
            i.counts.add(FLAG, Side::New, 3, 1);
            i.counts.add(FLAG, Side::Old, 60, 0);
        }
        check_all(&fleet).await;
        rounds += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let kills = kill_entries(&fleet[0].flags).await;
    assert_eq!(kills.len(), 1, "{kills:?}");
    let message = kills[0].message.clone().unwrap();
    assert_eq!(kills[0].actor, "guard");
    // The figures are the fleet's: more new-arm requests than any one
    // instance served in all.
    assert!(
        over(&message) > 3 * rounds,
        "{message} after {rounds} rounds"
    );
    // Every instance stops serving the arm, and no other writes one.
    for i in &fleet {
        eventually("the kill reaches every instance", || {
            !i.flags.snapshot().feature(FLAG).unwrap().enabled
        })
        .await;
    }
    check_all(&fleet).await;
    assert_eq!(kill_entries(&fleet[0].flags).await.len(), 1);
    let killed: u64 = fleet
        .iter()
        .map(|i| i.guard.snapshot().flag(FLAG).unwrap().kills)
        .sum();
    assert_eq!(killed, 1);
    // Each check cost an instance at most three statements.
    let statements: u64 = fleet.iter().map(|i| i.fleet.statements()).sum();
    let checks_made = 6 * (rounds + 2);
    assert!(
        statements <= 3 * checks_made,
        "{statements} for {checks_made} checks"
    );
}

/// A flag killed and turned on again unchanged is judged afresh by the
/// fleet, even by an instance that never saw it off: the sums go by the
/// flag row's version too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_re_enabled_flag_is_judged_on_traffic_after_the_re_enable() {
    let _server = share_server().await;
    let db = TestDb::create().await;
    let a = instance(&db, "a").await;
    let b = instance(&db, "b").await;
    a.guard.check().await;
    b.guard.check().await;
    a.counts.add(FLAG, Side::New, 40, 12);
    a.counts.add(FLAG, Side::Old, 800, 4);
    a.guard.check().await;
    b.guard.check().await;
    let window = |i: &Instance| i.guard.snapshot().flag(FLAG).unwrap().window;
    assert_eq!(window(&b).new.requests, 40);
    // Killed and on again at once (b never judges the flag while off).
    let ops = a.flags.writer("ops");
    ops.commit(Edit::kill(FLAG)).await.unwrap();
    ops.commit(Edit::enable(FLAG)).await.unwrap();
    eventually("b sees the re-enable", || {
        b.flags.version() == a.flags.version()
    })
    .await;
    b.counts.add(FLAG, Side::New, 5, 0);
    b.counts.add(FLAG, Side::Old, 100, 0);
    b.guard.check().await;
    let w = window(&b);
    assert!(w.new.requests <= 5, "{w:?}");
    assert!(b.guard.snapshot().flag(FLAG).unwrap().fleet);
}

/// `Guard::for_flags` on flags from the database shares counts by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guard_for_flags_from_postgres_judges_on_the_fleet() {
    let _server = share_server().await;
    let db = TestDb::create().await;
    let config = db.config("solo").seed_file(db.seed(GUARDED));
    let flags = Flags::from_postgres(config).await.unwrap();
    let guard = Guard::for_flags(&flags).build();
    guard.check().await;
    guard.check().await;
    assert!(guard.snapshot().flag(FLAG).unwrap().fleet);
    let local = Guard::for_flags(&flags).local_counts().build();
    local.check().await;
    assert!(!local.snapshot().flag(FLAG).unwrap().fleet);
    let rows: i64 = db
        .client()
        .await
        .query_one("SELECT count(*) FROM flag_guard_buckets", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 0, "nothing served, nothing written");
}

/// Every instance's guard checks at the same moment (each on a task).
async fn check_all(fleet: &[Instance]) {
    let mut set = tokio::task::JoinSet::new();
    for i in fleet {
        let guard = i.guard.clone();
        set.spawn(async move { guard.check().await });
    }
    while set.join_next().await.is_some() {}
}

/// With the database down, each guard judges on its own traffic (without
/// holding its checks up); once it is back, on the fleet's again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_database_down_a_guard_judges_its_own_traffic_and_rejoins() {
    let _server = own_server().await;
    let db = TestDb::create().await;
    let a = instance(&db, "a").await;
    let b = instance(&db, "b").await;
    a.guard.check().await;
    b.guard.check().await;
    a.counts.add(FLAG, Side::New, 10, 0);
    a.counts.add(FLAG, Side::Old, 100, 0);
    b.counts.add(FLAG, Side::New, 20, 0);
    b.counts.add(FLAG, Side::Old, 200, 0);
    b.guard.check().await;
    a.guard.check().await;
    let window = |i: &Instance| {
        let snap = i.guard.snapshot();
        let f = snap.flag(FLAG).unwrap();
        (f.window.new.requests, f.fleet)
    };
    assert_eq!(window(&a), (30, true));

    pg_ctl("stop -m fast").await;
    a.counts.add(FLAG, Side::New, 1, 0);
    a.counts.add(FLAG, Side::Old, 10, 0);
    a.guard.check().await;
    // Its own window: everything it served since it started watching.
    assert_eq!(window(&a), (11, false));
    a.guard.check().await;
    assert_eq!(window(&a), (11, false));
    pg_ctl("start").await;

    // Back within a few checks (a failed connection is retried after 2 s).
    let mut rejoined = false;
    for _ in 0..100 {
        a.guard.check().await;
        if window(&a).1 {
            rejoined = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(rejoined, "{:?}", window(&a));
    assert_eq!(window(&a).0, 30);
}
