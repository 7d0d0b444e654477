use std::time::Duration;

use crate::edit::Edit;
use crate::guard::event::GuardEvent;
use crate::guard::run::PlanOp;
use crate::guard::{
    EventKind, FlagsApplier, Guard, GuardConfig, ManualClock, ManualCounts, PlanStatus, Side,
};
use crate::model::Feature;
use crate::Flags;

const DAY: Duration = Duration::from_secs(86_400);
const HOUR: Duration = Duration::from_secs(3_600);

struct Instance {
    counts: ManualCounts,
    clock: ManualClock,
    guard: Guard,
}

/// A guard following `flags`' definitions, as one instance would run it.
fn instance(flags: &Flags) -> Instance {
    let counts = ManualCounts::new();
    let clock = ManualClock::new();
    let guard = Guard::builder(counts.clone(), FlagsApplier::new(flags.clone()))
        .clock(clock.clone())
        .follow(flags)
        .build();
    Instance {
        counts,
        clock,
        guard,
    }
}

impl Instance {
    /// `by` of healthy traffic on `flag`, then a check; the kinds of event.
    async fn healthy(&self, flag: &str, by: Duration) -> Vec<EventKind> {
        self.counts.add(flag, Side::New, 500, 2);
        self.counts.add(flag, Side::Old, 5000, 20);
        self.clock.advance(by);
        kinds(self.guard.check().await)
    }

    fn plan_status(&self, flag: &str) -> Option<(PlanStatus, Option<u32>)> {
        let snap = self.guard.snapshot();
        let plan = snap.flag(flag)?.plan.as_ref()?;
        Some((plan.status, plan.percent))
    }
}

fn kinds(events: Vec<GuardEvent>) -> Vec<EventKind> {
    events.into_iter().map(|e| e.kind).collect()
}

fn definition(flags: &Flags, name: &str) -> Feature {
    flags.snapshot().feature(name).unwrap()
}

/// Another instance, or an operator, changes the definition.
async fn edit(flags: &Flags, name: &str, change: impl FnOnce(&mut Feature)) {
    let mut f = definition(flags, name);
    change(&mut f);
    flags.writer("ops").commit(Edit::replace(f)).await.unwrap();
}

fn percent(flags: &Flags, name: &str) -> Option<u32> {
    definition(flags, name).rollout_percent()
}

const PLANNED: &str = r#"
[new_checkout_flow]
plan = [{ percent = 5, for = "1d" }, { percent = 50, for = "1d" }, { percent = 100 }]

[unguarded]
"#;

#[tokio::test]
async fn a_plan_in_the_toml_is_watched_and_walked() {
    let flags = Flags::from_toml_str(PLANNED, "flags.toml").unwrap();
    let one = instance(&flags);
    let first = one.guard.check().await;
    assert_eq!(
        first.iter().map(|e| &e.kind).collect::<Vec<_>>(),
        [
            &EventKind::Watched,
            &EventKind::Advanced {
                from: None,
                to: 5,
                step: 1,
                of: 3
            }
        ],
        "{first:?}"
    );
    assert_eq!(percent(&flags, "new_checkout_flow"), Some(5));
    assert!(one.guard.snapshot().flag("unguarded").is_none());
    assert_eq!(one.healthy("new_checkout_flow", DAY).await.len(), 1);
    assert_eq!(percent(&flags, "new_checkout_flow"), Some(50));
    one.healthy("new_checkout_flow", DAY).await;
    assert_eq!(percent(&flags, "new_checkout_flow"), Some(100));
    assert_eq!(
        one.healthy("new_checkout_flow", DAY).await,
        [EventKind::Completed]
    );
    let log = flags.audit_log(0, 10).unwrap();
    let steps: Vec<_> = log
        .iter()
        .filter(|e| e.actor == "guard")
        .map(|e| e.message.clone().unwrap())
        .collect();
    assert_eq!(steps.len(), 3, "{steps:?}");
    assert!(
        steps[0].starts_with("plan: 50% -> 100% (step 3 of 3)"),
        "{steps:?}"
    );
}

#[tokio::test]
async fn a_restarted_instance_picks_the_plan_up_where_the_flag_stands() {
    let text = PLANNED.replace("plan =", "rollout = 50\nplan =");
    let flags = Flags::from_toml_str(&text, "flags.toml").unwrap();
    let version = flags.version();
    let fresh = instance(&flags);
    let events = kinds(fresh.guard.check().await);
    assert_eq!(
        events,
        [
            EventKind::Watched,
            EventKind::Followed {
                to: 50,
                step: 2,
                of: 3
            }
        ]
    );
    // Nothing was applied: the flag was already there.
    assert_eq!(flags.version(), version);
    assert_eq!(
        fresh.plan_status("new_checkout_flow"),
        Some((PlanStatus::Running, Some(50)))
    );
}

#[tokio::test]
async fn instances_follow_each_others_steps_kills_and_pauses() {
    let flags = Flags::from_toml_str(PLANNED, "flags.toml").unwrap();
    let (a, b) = (instance(&flags), instance(&flags));
    a.guard.check().await; // applies 5%
    assert_eq!(
        kinds(b.guard.check().await),
        [
            EventKind::Watched,
            EventKind::Followed {
                to: 5,
                step: 1,
                of: 3
            }
        ]
    );
    a.healthy("new_checkout_flow", DAY).await; // 50%
    b.guard.check().await;
    assert_eq!(
        b.plan_status("new_checkout_flow"),
        Some((PlanStatus::Running, Some(50)))
    );

    // A pause on A is in the definition; B holds too, even when due.
    a.guard
        .operate("new_checkout_flow", PlanOp::Pause, Some("ops"))
        .await
        .unwrap();
    assert!(definition(&flags, "new_checkout_flow").plan.unwrap().paused);
    assert_eq!(
        b.healthy("new_checkout_flow", DAY).await,
        [EventKind::Paused]
    );
    assert_eq!(b.healthy("new_checkout_flow", DAY).await, []);
    assert_eq!(percent(&flags, "new_checkout_flow"), Some(50));
    let entry = &flags.audit_log(0, 1).unwrap()[0];
    assert_eq!(entry.action, "plan pause");
    assert_eq!(entry.message.as_deref(), Some("plan: paused by ops"));
    a.guard.resume("new_checkout_flow").await.unwrap();
    assert_eq!(b.guard.check().await[0].kind, EventKind::Resumed);

    // Someone turns the flag off: both plans halt; on again, they go on
    // from the step the flag is at.
    edit(&flags, "new_checkout_flow", |f| f.enabled = false).await;
    assert_eq!(kinds(b.guard.check().await), [EventKind::Halted]);
    assert_eq!(
        b.plan_status("new_checkout_flow"),
        Some((PlanStatus::Halted, Some(50)))
    );
    edit(&flags, "new_checkout_flow", |f| f.enabled = true).await;
    assert_eq!(
        kinds(b.guard.check().await),
        [EventKind::Followed {
            to: 50,
            step: 2,
            of: 3
        }]
    );
}

#[tokio::test]
async fn abandoning_a_plan_keeps_the_flag_guarded() {
    let flags = Flags::from_toml_str(PLANNED, "flags.toml").unwrap();
    let one = instance(&flags);
    one.guard.check().await;
    let e = one
        .guard
        .operate("new_checkout_flow", PlanOp::Abandon, Some("ops"))
        .await
        .unwrap();
    assert_eq!(e.message, "plan: abandoned by ops");
    let f = definition(&flags, "new_checkout_flow");
    assert!(f.plan.is_none());
    assert!(f.guard.is_some(), "still guarded");
    one.guard.check().await;
    let snap = one.guard.snapshot();
    let watched = snap.flag("new_checkout_flow").expect("still watched");
    assert!(watched.plan.is_none());
    assert_eq!(percent(&flags, "new_checkout_flow"), Some(5));
}

#[tokio::test]
async fn settings_follow_the_definition_and_dropping_them_unwatches() {
    let flags = Flags::from_toml_str("[f]\nguard = { min_requests = 80 }\n", "x").unwrap();
    let one = instance(&flags);
    one.guard.check().await;
    let min = |i: &Instance| {
        i.guard
            .snapshot()
            .flag("f")
            .map(|f| f.config.settings().min_requests)
    };
    assert_eq!(min(&one), Some(80));
    edit(&flags, "f", |f| {
        f.guard.as_mut().unwrap().min_requests = Some(120)
    })
    .await;
    one.guard.check().await;
    assert_eq!(min(&one), Some(120));
    edit(&flags, "f", |f| f.guard = None).await;
    assert_eq!(kinds(one.guard.check().await), [EventKind::Unwatched]);
    assert_eq!(min(&one), None);
}

#[tokio::test]
async fn code_settings_win_over_the_definition() {
    let flags = Flags::from_toml_str("[f]\nguard = { min_requests = 80 }\n", "x").unwrap();
    let guard = Guard::for_flags(&flags)
        .clock(ManualClock::new())
        .watch("f", GuardConfig::new().min_requests(7))
        .build();
    guard.check().await;
    let snap = guard.snapshot();
    assert_eq!(snap.flag("f").unwrap().config.settings().min_requests, 7);
}

#[tokio::test]
async fn a_plan_paused_in_the_definition_does_not_start() {
    let text = PLANNED.replace(
        "plan = [{ percent = 5, for = \"1d\" }, { percent = 50, for = \"1d\" }, { percent = 100 }]",
        "plan = { steps = \"gradual\", paused = true }",
    );
    let flags = Flags::from_toml_str(&text, "flags.toml").unwrap();
    let version = flags.version();
    let one = instance(&flags);
    assert_eq!(kinds(one.guard.check().await), [EventKind::Watched]);
    one.healthy("new_checkout_flow", DAY).await;
    assert_eq!(flags.version(), version, "nothing applied");
    assert_eq!(
        one.plan_status("new_checkout_flow"),
        Some((PlanStatus::Pending, None))
    );
}

/// Deploys restart instances more often than a plan's steps last: the
/// step's time must count from when it really began, as the definition
/// records it, or the plan would never advance.
#[tokio::test]
async fn a_step_keeps_its_clock_across_a_restart() {
    let flags = Flags::from_toml_str(PLANNED, "flags.toml").unwrap();
    let first = instance(&flags);
    first.guard.check().await; // 5%, the step starts now
    let started = definition(&flags, "new_checkout_flow")
        .plan
        .unwrap()
        .started_ms
        .expect("the step's start is recorded");
    first.healthy("new_checkout_flow", 20 * HOUR).await;
    assert_eq!(percent(&flags, "new_checkout_flow"), Some(5));

    // The process restarts 20 hours into the day-long step.
    drop(first);
    let second = instance(&flags);
    second.clock.advance(20 * HOUR);
    second.guard.check().await;
    let snap = second.guard.snapshot();
    let plan = snap
        .flag("new_checkout_flow")
        .unwrap()
        .plan
        .clone()
        .unwrap();
    assert_eq!(plan.step_started_ms, Some(started));
    assert_eq!(plan.time_left_ms, Some(4 * 3_600_000));
    second.healthy("new_checkout_flow", 5 * HOUR).await;
    assert_eq!(percent(&flags, "new_checkout_flow"), Some(50));
}

/// A pause records how far the step had gone; a resume (by any instance)
/// moves the step's start forward by the pause.
#[tokio::test]
async fn a_pause_stops_the_recorded_step_clock() {
    let flags = Flags::from_toml_str(PLANNED, "flags.toml").unwrap();
    let one = instance(&flags);
    one.guard.check().await;
    one.clock.advance(6 * HOUR);
    one.guard.pause("new_checkout_flow").await.unwrap();
    let plan = definition(&flags, "new_checkout_flow").plan.unwrap();
    assert_eq!(
        (plan.paused, plan.started_ms, plan.done_ms),
        (true, None, Some(6 * 3_600_000))
    );
    let on_disk = crate::format::toml::write(&flags.snapshot().to_flag_set()).unwrap();
    assert!(
        on_disk.contains(r#"paused = true, done = "6h""#),
        "{on_disk}"
    );

    // Three days later another instance resumes: 18 hours are left.
    let other = instance(&flags);
    other.clock.advance(6 * HOUR + 3 * DAY);
    other.guard.check().await;
    other.guard.resume("new_checkout_flow").await.unwrap();
    let plan = definition(&flags, "new_checkout_flow").plan.unwrap();
    assert!(!plan.paused);
    assert_eq!(plan.done_ms, None);
    let snap = other.guard.snapshot();
    let left = snap
        .flag("new_checkout_flow")
        .unwrap()
        .plan
        .as_ref()
        .unwrap()
        .time_left_ms;
    assert_eq!(left, Some(18 * 3_600_000));
}

const GUARDED: &str = "[new_checkout_flow]\nrollout = 5\nguard = true\n";
const FLAG: &str = "new_checkout_flow";

fn kill_entries(flags: &Flags) -> usize {
    flags
        .audit_log(0, 100)
        .unwrap()
        .iter()
        .filter(|e| e.action == "kill")
        .count()
}

fn killed_events(events: &[GuardEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Killed { .. }))
        .count()
}

/// Two instances reach the same kill in the same check: the flag is
/// killed once, one audit entry, one `Killed` event; the other instance
/// sees the flag changed from what it judged and does nothing.
#[tokio::test]
async fn instances_reaching_one_kill_in_one_check_kill_once() {
    let flags = Flags::from_toml_str(GUARDED, "flags.toml").unwrap();
    let (a, b) = (instance(&flags), instance(&flags));
    a.guard.check().await;
    b.guard.check().await;
    for i in [&a, &b] {
        i.counts.add(FLAG, Side::New, 200, 60);
        i.counts.add(FLAG, Side::Old, 4000, 20);
        i.clock.advance(Duration::from_secs(5));
    }
    let (ea, eb) = tokio::join!(a.guard.check(), b.guard.check());
    assert_eq!(killed_events(&ea) + killed_events(&eb), 1, "{ea:?} {eb:?}");
    assert!(!definition(&flags, FLAG).enabled);
    assert_eq!(kill_entries(&flags), 1);
    let kills = |i: &Instance| i.guard.snapshot().flag(FLAG).unwrap().kills;
    assert_eq!(kills(&a) + kills(&b), 1);
}

/// A flag an operator already turned off is not killed again by a guard
/// whose window still holds the failures.
#[tokio::test]
async fn a_flag_already_off_is_not_killed_again() {
    let flags = Flags::from_toml_str(GUARDED, "flags.toml").unwrap();
    let a = instance(&flags);
    a.guard.check().await;
    a.counts.add(FLAG, Side::New, 200, 60);
    a.counts.add(FLAG, Side::Old, 4000, 20);
    a.clock.advance(Duration::from_secs(5));
    flags
        .writer("ops")
        .commit(Edit::kill(FLAG).message("on call"))
        .await
        .unwrap();
    let events = a.guard.check().await;
    assert_eq!(killed_events(&events), 0, "{events:?}");
    assert_eq!(kill_entries(&flags), 1);
    assert_eq!(a.guard.snapshot().flag(FLAG).unwrap().kills, 0);
}

/// Instance B saw failures, not yet enough to kill; A killed the flag; an
/// operator fixed the bug and turned it on again. B judges the re-enabled
/// flag on what it serves now, not on its failures from before the kill.
#[tokio::test]
async fn after_any_change_every_instance_judges_only_the_new_definition() {
    let flags = Flags::from_toml_str(GUARDED, "flags.toml").unwrap();
    let (a, b) = (instance(&flags), instance(&flags));
    a.guard.check().await;
    b.guard.check().await;
    // B: 45 new-arm requests, 14 failed (under the 50 it needs to judge).
    b.counts.add(FLAG, Side::New, 45, 14);
    b.counts.add(FLAG, Side::Old, 900, 4);
    b.clock.advance(Duration::from_secs(5));
    assert_eq!(killed_events(&b.guard.check().await), 0);
    // A kills; B follows the kill.
    a.counts.add(FLAG, Side::New, 200, 60);
    a.counts.add(FLAG, Side::Old, 4000, 20);
    a.clock.advance(Duration::from_secs(5));
    assert_eq!(killed_events(&a.guard.check().await), 1);
    b.clock.advance(Duration::from_secs(1));
    b.guard.check().await;
    // Fixed, and on again.
    flags
        .writer("ops")
        .commit(Edit::enable(FLAG))
        .await
        .unwrap();
    for _ in 0..6 {
        b.counts.add(FLAG, Side::New, 30, 0);
        b.counts.add(FLAG, Side::Old, 600, 3);
        b.clock.advance(Duration::from_secs(1));
        let events = b.guard.check().await;
        assert_eq!(killed_events(&events), 0, "{events:?}");
    }
    assert!(definition(&flags, FLAG).enabled);
    assert_eq!(kill_entries(&flags), 1);
    let window = b.guard.snapshot().flag(FLAG).unwrap().window;
    // Only what was served after the re-enable (the first read after it
    // sets the baseline).
    assert_eq!(
        (window.new.requests, window.new.bad),
        (150, 0),
        "{window:?}"
    );
}

/// Two instances find the same plan step due in the same check: one takes
/// it (one audit entry), the other follows the definition.
#[tokio::test]
async fn a_plan_step_due_on_two_instances_is_taken_once() {
    let flags = Flags::from_toml_str(PLANNED, "flags.toml").unwrap();
    let (a, b) = (instance(&flags), instance(&flags));
    a.guard.check().await;
    b.guard.check().await;
    let before = flags.audit_log(0, 100).unwrap().len();
    let (ea, eb) = tokio::join!(a.healthy(FLAG, DAY), b.healthy(FLAG, DAY));
    let advanced = |e: &[EventKind]| {
        e.iter()
            .filter(|k| matches!(k, EventKind::Advanced { .. }))
            .count()
    };
    assert_eq!(advanced(&ea) + advanced(&eb), 1, "{ea:?} {eb:?}");
    let log = flags.audit_log(0, 100).unwrap();
    assert_eq!(log.len() - before, 1, "{:?}", &log[..log.len() - before]);
    assert_eq!(percent(&flags, FLAG), Some(50));
    b.guard.check().await;
    assert_eq!(b.plan_status(FLAG), Some((PlanStatus::Running, Some(50))));
}
