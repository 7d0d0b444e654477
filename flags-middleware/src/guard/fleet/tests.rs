//! The fleet's sums with fake clocks: the table's clock is the only one
//! that places counts in buckets; instances' clocks may be off.

use std::time::Duration;

use super::memory::{bucket_start, sum_window, Key};
use super::*;
use crate::guard::clock::Clock;
use crate::guard::detect::{Side, Status};
use crate::guard::{FlagsApplier, Guard, ManualClock, ManualCounts};
use crate::Flags;

const FLAG: &str = "new_checkout_flow";
const GUARDED: &str = "[new_checkout_flow]\nrollout = 5\nguard = true\n";
const SEC: Duration = Duration::from_secs(1);

struct Instance {
    counts: ManualCounts,
    clock: ManualClock,
    guard: Guard,
}

/// An instance whose clock is `skew` ahead of the table's (`behind`: behind).
fn instance(
    flags: &Flags,
    table: &MemoryFleet,
    name: &str,
    skew: Duration,
    behind: bool,
) -> Instance {
    let counts = ManualCounts::new();
    let base = ManualClock::new().now();
    let clock = ManualClock::at(if behind { base - skew } else { base + skew });
    let guard = Guard::builder(counts.clone(), FlagsApplier::new(flags.clone()))
        .clock(clock.clone())
        .follow(flags)
        .shared_counts(table.instance(name))
        .build();
    Instance {
        counts,
        clock,
        guard,
    }
}

impl Instance {
    fn serve(&self, new: (u64, u64), old: (u64, u64)) {
        self.counts.add(FLAG, Side::New, new.0, new.1);
        self.counts.add(FLAG, Side::Old, old.0, old.1);
    }

    fn window(&self) -> (u64, u64, bool) {
        let snap = self.guard.snapshot();
        let f = snap.flag(FLAG).unwrap();
        (f.window.new.requests, f.window.old.requests, f.fleet)
    }

    fn status(&self) -> Option<Status> {
        self.guard
            .snapshot()
            .flag(FLAG)?
            .last
            .as_ref()
            .map(|v| v.status)
    }
}

/// Two instances whose clocks agree with the table's, past their first
/// check.
async fn two_in_step(flags: &Flags) -> (ManualClock, MemoryFleet, Instance, Instance) {
    let table_clock = ManualClock::new();
    let table = MemoryFleet::new(table_clock.clone());
    let a = instance(flags, &table, "a", Duration::ZERO, false);
    let b = instance(flags, &table, "b", Duration::ZERO, false);
    a.guard.check().await;
    b.guard.check().await;
    (table_clock, table, a, b)
}

/// Moves every clock (the table's and the instances') by `by`.
fn tick(table_clock: &ManualClock, instances: &[&Instance], by: Duration) {
    table_clock.advance(by);
    for i in instances {
        i.clock.advance(by);
    }
}

fn kill_entries(flags: &Flags) -> usize {
    flags
        .audit_log(0, 100)
        .unwrap()
        .iter()
        .filter(|e| e.action == "kill")
        .count()
}

#[test]
fn sums_are_per_bucket_flag_and_definition_over_the_window() {
    let mut rows = std::collections::BTreeMap::new();
    let share = Share::new(FLAG, 1, Duration::from_secs(5), Duration::from_secs(60));
    let now = 1_000_000_000;
    let mut add = |instance: &str, definition: u64, start_ms: u64, n: u64| {
        let mut c = crate::guard::detect::FlagCounts::default();
        c.new.requests = n;
        rows.insert(
            Key {
                flag: FLAG.into(),
                definition,
                start_ms,
                instance: instance.into(),
            },
            c,
        );
    };
    let b = bucket_start(now, Duration::from_secs(5));
    add("a", 1, b, 3);
    add("b", 1, b, 4);
    add("a", 1, b - 5_000, 10);
    add("a", 2, b, 100); // another definition
    add("c", 1, b - 65_000, 1_000); // ended before the window
    let sums = sum_window(&rows, now, &share);
    let got: Vec<(u64, u64)> = sums
        .iter()
        .map(|s| (s.start_ms, s.counts.new.requests))
        .collect();
    assert_eq!(got, [(b - 5_000, 10), (b, 7)]);
}

/// Two instances, clocks 3 minutes ahead of the table's and 10 minutes
/// behind it (by their own clocks, their buckets would be further apart
/// than the window), each serving 5 new-arm requests a second: together
/// they reach the kill, once, on figures neither had alone.
#[tokio::test]
async fn skewed_instances_judge_together_and_kill_once() {
    let flags = Flags::from_toml_str(GUARDED, "flags.toml").unwrap();
    let table_clock = ManualClock::new();
    let table = MemoryFleet::new(table_clock.clone());
    let a = instance(&flags, &table, "a", Duration::from_secs(180), false);
    let b = instance(&flags, &table, "b", Duration::from_secs(600), true);
    a.guard.check().await;
    b.guard.check().await;
    let mut seconds = 0;
    while flags.snapshot().feature(FLAG).unwrap().enabled && seconds < 30 {
        // 200 req/s spread over two instances, 5% on a new arm failing 30%.
        a.serve((5, 2), (95, 0));
        b.serve((5, 1), (95, 1));
        tick(&table_clock, &[&a, &b], SEC);
        a.guard.check().await;
        b.guard.check().await;
        seconds += 1;
    }
    assert!(!flags.snapshot().feature(FLAG).unwrap().enabled);
    assert_eq!(kill_entries(&flags), 1);
    let kills = |i: &Instance| i.guard.snapshot().flag(FLAG).unwrap().kills;
    assert_eq!(kills(&a) + kills(&b), 1);
    // Alone, each would have had at most 5 new-arm requests a second.
    let message = flags.audit_log(0, 1).unwrap()[0].message.clone().unwrap();
    let over: u64 = message
        .split(" over ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .unwrap()
        .replace(',', "")
        .parse()
        .unwrap();
    assert!(over > 5 * seconds, "{message} after {seconds} s");
}

/// The fleet's window holds both instances' traffic whatever their clocks
/// say; a dead instance's counts age out with its buckets.
#[tokio::test]
async fn a_dead_instance_ages_out_of_the_window() {
    let flags = Flags::from_toml_str(GUARDED, "flags.toml").unwrap();
    let table_clock = ManualClock::new();
    let table = MemoryFleet::new(table_clock.clone());
    let a = instance(&flags, &table, "a", Duration::from_secs(90), true);
    let b = instance(&flags, &table, "b", Duration::from_secs(17), false);
    a.guard.check().await;
    b.guard.check().await;
    a.serve((10, 0), (100, 0));
    b.serve((20, 0), (200, 0));
    tick(&table_clock, &[&a, &b], SEC);
    b.guard.check().await;
    a.guard.check().await;
    assert_eq!(a.window(), (30, 300, true));
    // B dies. Four minutes on, its counts are still in the 5-minute window...
    for _ in 0..4 {
        tick(&table_clock, &[&a, &b], Duration::from_secs(60));
        a.serve((1, 0), (10, 0));
        a.guard.check().await;
    }
    assert_eq!(a.window(), (34, 340, true));
    // ...and past it, only A's own remain.
    tick(&table_clock, &[&a, &b], Duration::from_secs(70));
    a.serve((1, 0), (10, 0));
    a.guard.check().await;
    assert_eq!(a.window(), (5, 50, true));
    // Rows past twice the window are pruned.
    assert_eq!(table.rows(), 7);
    tick(&table_clock, &[&a, &b], Duration::from_secs(700));
    a.serve((1, 0), (10, 0));
    a.guard.check().await;
    assert_eq!(table.rows(), 1);
}

/// A share handed in late (the instance's check was held up) lands in the
/// bucket of when it arrived, both arms together.
#[tokio::test]
async fn a_late_share_lands_in_the_bucket_it_arrives_in() {
    let flags = Flags::from_toml_str(GUARDED, "flags.toml").unwrap();
    let (table_clock, table, a, b) = two_in_step(&flags).await;
    a.serve((3, 0), (30, 0));
    b.serve((4, 0), (40, 0));
    tick(&table_clock, &[&a, &b], SEC);
    a.guard.check().await;
    // B's check comes 12 s late: two buckets later.
    tick(&table_clock, &[&a, &b], Duration::from_secs(12));
    b.guard.check().await;
    let snap = b.guard.snapshot();
    let f = snap.flag(FLAG).unwrap();
    assert_eq!((f.window.new.requests, f.window.old.requests), (7, 70));
    let key = definition_key(&flags.snapshot().feature(FLAG).unwrap());
    let probe = [Share::new(
        FLAG,
        key,
        Duration::from_secs(5),
        Duration::from_secs(300),
    )];
    let sums = table.instance("probe").exchange(&probe).await.unwrap();
    let buckets: Vec<(u64, u64)> = sums[0]
        .iter()
        .map(|b| (b.counts.new.requests, b.counts.old.requests))
        .collect();
    assert_eq!(buckets, [(3, 30), (4, 40)]);
}

/// With the table unreachable an instance judges on its own traffic, and
/// rejoins the fleet when it is back.
#[tokio::test]
async fn an_unreachable_table_falls_back_to_own_traffic() {
    let flags = Flags::from_toml_str(GUARDED, "flags.toml").unwrap();
    let (table_clock, table, a, b) = two_in_step(&flags).await;
    a.serve((10, 0), (100, 0));
    b.serve((20, 0), (200, 0));
    tick(&table_clock, &[&a, &b], SEC);
    b.guard.check().await;
    a.guard.check().await;
    assert_eq!(a.window(), (30, 300, true));
    table.set_reachable(false);
    a.serve((1, 0), (10, 0));
    tick(&table_clock, &[&a, &b], SEC);
    a.guard.check().await;
    assert_eq!(a.window(), (11, 110, false));
    assert_ne!(a.status(), None);
    table.set_reachable(true);
    a.serve((1, 0), (10, 0));
    tick(&table_clock, &[&a, &b], SEC);
    a.guard.check().await;
    // Back: the fleet's sums, without what A served while away (its
    // first exchange back only sets a baseline).
    assert_eq!(a.window(), (30, 300, true));
}

/// After a kill the fleet's window is the new definition's: empty, even
/// for an instance that did not kill.
#[tokio::test]
async fn a_new_definition_starts_the_fleet_window_afresh() {
    let flags = Flags::from_toml_str(GUARDED, "flags.toml").unwrap();
    let (table_clock, _table, a, b) = two_in_step(&flags).await;
    a.serve((30, 10), (300, 0));
    b.serve((30, 10), (300, 0));
    tick(&table_clock, &[&a, &b], SEC);
    b.guard.check().await;
    a.guard.check().await;
    assert_eq!(kill_entries(&flags), 1);
    tick(&table_clock, &[&a, &b], SEC);
    b.guard.check().await;
    // Fixed, and on again at 10% (the memory table tells definitions
    // apart by what they serve; the database also by the row's version).
    let ops = flags.writer("ops");
    ops.commit(crate::edit::Edit::enable(FLAG)).await.unwrap();
    ops.commit(crate::edit::Edit::rollout(FLAG, 10))
        .await
        .unwrap();
    b.serve((5, 0), (50, 0));
    tick(&table_clock, &[&a, &b], SEC);
    b.guard.check().await;
    assert_eq!(b.window(), (0, 0, true));
    b.serve((5, 0), (50, 0));
    tick(&table_clock, &[&a, &b], SEC);
    b.guard.check().await;
    assert_eq!(b.window(), (5, 50, true));
    assert_eq!(kill_entries(&flags), 1);
}

/// A plan step waits for `min_requests` new-arm requests of the whole
/// fleet: two instances serving half each advance it when together they
/// have served that many, though neither has alone.
#[tokio::test]
async fn a_plan_step_counts_the_whole_fleets_requests() {
    const PLANNED: &str = "[new_checkout_flow]\nguard = { min_requests = 100 }\n\
        plan = [{ percent = 5, for = \"1m\" }, { percent = 50, for = \"1m\" }, { percent = 100 }]\n";
    let flags = Flags::from_toml_str(PLANNED, "flags.toml").unwrap();
    let percent = || flags.snapshot().feature(FLAG).unwrap().rollout_percent();
    let (table_clock, _table, a, b) = two_in_step(&flags).await;
    assert_eq!(percent(), Some(5));
    let step_requests = |i: &Instance| {
        let snap = i.guard.snapshot();
        snap.flag(FLAG)
            .unwrap()
            .plan
            .as_ref()
            .unwrap()
            .step_requests
    };
    let mut advanced_after = None;
    for second in 1..=120 {
        // One new-arm request a second on each instance.
        a.serve((1, 0), (19, 0));
        b.serve((1, 0), (19, 0));
        tick(&table_clock, &[&a, &b], SEC);
        a.guard.check().await;
        b.guard.check().await;
        if second == 30 {
            // Each instance counts the fleet's requests, not its own 30.
            assert!(step_requests(&a) > 50, "{}", step_requests(&a));
            assert!(step_requests(&b) > 50, "{}", step_requests(&b));
        }
        if percent() == Some(50) {
            advanced_after = Some(second);
            break;
        }
    }
    // The step lasts a minute; the fleet has served 100 new-arm requests
    // after 50 s, while each instance alone would need 100 s.
    let after = advanced_after.expect("the step advanced");
    assert!((60..=70).contains(&after), "advanced after {after} s");
}
