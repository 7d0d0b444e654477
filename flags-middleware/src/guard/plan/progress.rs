//! A plan in progress: the state machine of the module's diagram, pure
//! (time comes in as an argument, changes to the flag go out as a
//! percentage to apply).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use flags_core::guard::Plan;

use super::snapshot::{PlanSnapshot, PlanStatus};
use crate::guard::clock::{elapsed, unix_millis};
use crate::guard::detect::Status;
use crate::guard::event::EventKind;

/// What a plan wants done next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Due {
    /// Apply this step's percentage, then [`PlanRun::enter`] it.
    Step(usize),
    /// Nothing to apply: [`PlanRun::complete`].
    Complete,
}

/// Why a control operation was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refused(pub(crate) String);

/// A plan in progress.
#[derive(Debug, Clone)]
pub(crate) struct PlanRun {
    plan: Plan,
    status: PlanStatus,
    step: usize,
    /// When the current step began, moved forward by pauses.
    step_started: SystemTime,
    paused_at: Option<SystemTime>,
    /// New-arm requests seen during the current step.
    step_requests: u64,
    halted: Option<String>,
}

impl PlanRun {
    /// A plan whose first step is yet to be applied.
    pub(crate) fn pending(plan: Plan, now: SystemTime) -> PlanRun {
        PlanRun {
            plan,
            status: PlanStatus::Pending,
            step: 0,
            step_started: now,
            paused_at: None,
            step_requests: 0,
            halted: None,
        }
    }

    pub(crate) fn status(&self) -> PlanStatus {
        self.status
    }

    pub(crate) fn step_index(&self) -> usize {
        self.step
    }

    /// The percentage of step `i`.
    pub(crate) fn percent(&self, i: usize) -> u32 {
        self.plan.steps().get(i).map_or(0, |s| s.percent)
    }

    pub(crate) fn len(&self) -> usize {
        self.plan.steps().len()
    }

    /// Counts new-arm traffic toward the current step.
    pub(crate) fn count(&mut self, new_requests: u64) {
        if self.status == PlanStatus::Running {
            self.step_requests = self.step_requests.saturating_add(new_requests);
        }
    }

    /// What is due at `now` given the guard's verdict, if anything.
    ///
    /// A running plan advances when the step's time has passed, the verdict
    /// is [`Status::Healthy`] (not merely "no data"), and the step has seen
    /// `min_requests` new-arm requests: a step nobody used proves nothing.
    pub(crate) fn due(&self, now: SystemTime, verdict: Status, min_requests: u64) -> Option<Due> {
        match self.status {
            PlanStatus::Pending if !self.plan.steps().is_empty() => Some(Due::Step(0)),
            PlanStatus::Pending => Some(Due::Complete),
            PlanStatus::Running => {
                let step = self.plan.steps().get(self.step)?;
                let ready = elapsed(self.step_started, now) >= step.min_duration
                    && verdict == Status::Healthy
                    && self.step_requests >= min_requests;
                if !ready {
                    None
                } else if self.step + 1 < self.plan.steps().len() {
                    Some(Due::Step(self.step + 1))
                } else {
                    Some(Due::Complete)
                }
            }
            _ => None,
        }
    }

    /// Step `i` was applied at `now`.
    pub(crate) fn enter(&mut self, i: usize, now: SystemTime) {
        self.status = PlanStatus::Running;
        self.step = i.min(self.plan.steps().len().saturating_sub(1));
        self.step_started = now;
        self.paused_at = None;
        self.step_requests = 0;
        self.halted = None;
    }

    pub(crate) fn complete(&mut self) {
        self.status = PlanStatus::Completed;
    }

    /// The guard killed the flag.
    pub(crate) fn halt(&mut self, reason: String) {
        if matches!(
            self.status,
            PlanStatus::Pending | PlanStatus::Running | PlanStatus::Paused
        ) {
            self.status = PlanStatus::Halted;
            self.halted = Some(reason);
        }
    }

    pub(crate) fn pause(&mut self, now: SystemTime) -> Result<(), Refused> {
        match self.status {
            PlanStatus::Running => {
                self.status = PlanStatus::Paused;
                self.paused_at = Some(now);
                Ok(())
            }
            other => Err(Refused(format!(
                "only a running plan can be paused; it is {}",
                name(other)
            ))),
        }
    }

    pub(crate) fn resume(&mut self, now: SystemTime) -> Result<(), Refused> {
        match (self.status, self.paused_at) {
            (PlanStatus::Paused, Some(at)) => {
                // The step's clock stood still while paused.
                self.step_started += elapsed(at, now);
                self.paused_at = None;
                self.status = PlanStatus::Running;
                Ok(())
            }
            (PlanStatus::Halted, _) => Err(Refused(
                "the guard halted this plan; restart it once the new arm is fixed".into(),
            )),
            (other, _) => Err(Refused(format!(
                "only a paused plan can be resumed; it is {}",
                name(other)
            ))),
        }
    }

    /// Checks that a restart is possible (the runner then applies the first
    /// step and calls [`enter`](Self::enter)`(0, ..)`).
    pub(crate) fn can_restart(&self) -> Result<(), Refused> {
        if self.plan.steps().is_empty() {
            return Err(Refused("the plan has no steps".into()));
        }
        Ok(())
    }

    pub(crate) fn abandon(&mut self) -> Result<(), Refused> {
        match self.status {
            PlanStatus::Completed | PlanStatus::Abandoned => Err(Refused(format!(
                "the plan is already {}",
                name(self.status)
            ))),
            _ => {
                self.status = PlanStatus::Abandoned;
                self.paused_at = None;
                Ok(())
            }
        }
    }

    /// Brings the plan in line with its flag's definition: `enabled`, its
    /// rollout `percent`, and whether the definition says `paused`. The
    /// definition is what every instance sharing a store sees, so a step
    /// taken, a kill or a pause by one instance (or an operator) is followed
    /// by the others, and a restarted instance picks the plan up where the
    /// flag stands. Returns what changed, if anything.
    pub(crate) fn follow(&mut self, at: &Position, now: SystemTime) -> Option<(EventKind, String)> {
        use PlanStatus::{Abandoned, Completed, Halted, Paused, Pending, Running};
        let Position {
            enabled,
            percent,
            paused,
            ..
        } = *at;
        // The step's start as the definition records it (the instance that
        // took the step wrote it), else now.
        let started = match (paused, at.started_ms, at.done_ms) {
            (true, _, Some(done)) => now.checked_sub(Duration::from_millis(done)),
            (false, Some(ms), _) => Some(UNIX_EPOCH + Duration::from_millis(ms)),
            _ => None,
        };
        if matches!(self.status, Completed | Abandoned) {
            return None;
        }
        if !enabled {
            if self.status == Halted {
                return None;
            }
            self.halt("the flag was turned off".into());
            return Some((
                EventKind::Halted,
                "plan halted: the flag was turned off".into(),
            ));
        }
        let at = percent.and_then(|p| self.plan.steps().iter().position(|s| s.percent == p));
        let mut moved = None;
        if let Some(i) = at {
            if matches!(self.status, Pending | Halted) || self.step != i {
                self.enter(i, started.unwrap_or(now));
                let (to, of) = (self.percent(i), self.len());
                moved = Some((
                    EventKind::Followed {
                        to,
                        step: i + 1,
                        of,
                    },
                    format!(
                        "plan: at {to}% (step {} of {of}), where the flag's definition is",
                        i + 1
                    ),
                ));
            }
        }
        let mut changed = moved;
        if paused && self.status == Running {
            self.status = Paused;
            self.paused_at = Some(now);
            changed = changed.or(Some((
                EventKind::Paused,
                "plan: paused (the flag's definition says so)".into(),
            )));
        } else if !paused && self.status == Paused && self.resume(now).is_ok() {
            changed = changed.or(Some((
                EventKind::Resumed,
                "plan: resumed (the flag's definition says so)".into(),
            )));
        }
        if let (Running, Some(started)) = (self.status, started) {
            self.step_started = started;
        }
        changed
    }

    /// A serializable view at `now`.
    pub(crate) fn snapshot(&self, now: SystemTime) -> PlanSnapshot {
        let step = self.plan.steps().get(self.step).copied();
        let until = self.paused_at.unwrap_or(now);
        let in_step = elapsed(self.step_started, until);
        let running = matches!(self.status, PlanStatus::Running | PlanStatus::Paused);
        PlanSnapshot {
            status: self.status,
            steps: self.plan.steps().to_vec(),
            step: self.step,
            percent: match self.status {
                PlanStatus::Pending => None,
                _ => step.map(|s| s.percent),
            },
            step_started_ms: running.then(|| unix_millis(self.step_started)),
            time_in_step_ms: running.then(|| millis(in_step)),
            time_left_ms: match (running, step) {
                (true, Some(s)) => Some(millis(s.min_duration.saturating_sub(in_step))),
                _ => None,
            },
            step_requests: self.step_requests,
            halted_by: self.halted.clone(),
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn name(s: PlanStatus) -> &'static str {
    match s {
        PlanStatus::Pending => "pending",
        PlanStatus::Running => "running",
        PlanStatus::Paused => "paused",
        PlanStatus::Halted => "halted",
        PlanStatus::Completed => "completed",
        PlanStatus::Abandoned => "abandoned",
    }
}

/// Where a flag's definition says its plan stands, for
/// [`PlanRun::follow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    /// The flag is on.
    pub(crate) enabled: bool,
    /// Its rollout percentage, when it has one.
    pub(crate) percent: Option<u32>,
    /// The plan is paused.
    pub(crate) paused: bool,
    /// When the current step began (running).
    pub(crate) started_ms: Option<u64>,
    /// How much of the step had passed (paused).
    pub(crate) done_ms: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::clock::{Clock, ManualClock};

    const DAY: Duration = Duration::from_secs(86_400);

    fn running(clock: &ManualClock) -> PlanRun {
        let mut run = PlanRun::pending(Plan::gradual(), clock.now());
        assert_eq!(run.due(clock.now(), Status::NoData, 50), Some(Due::Step(0)));
        run.enter(0, clock.now());
        run
    }

    #[test]
    fn steps_must_go_up_within_bounds() {
        assert!(Plan::new().step(0, DAY).is_err());
        assert!(Plan::new().step(101, DAY).is_err());
        let e = Plan::new().step(25, DAY).unwrap().step(5, DAY).unwrap_err();
        assert_eq!(e.message, "steps must go up: 5% comes after 25%");
    }

    #[test]
    fn advances_only_when_time_health_and_traffic_allow() {
        let clock = ManualClock::new();
        let mut run = running(&clock);
        run.count(1_000);
        clock.advance(DAY - Duration::from_secs(1));
        assert_eq!(run.due(clock.now(), Status::Healthy, 50), None, "too early");
        clock.advance(Duration::from_secs(1));
        assert_eq!(
            run.due(clock.now(), Status::Watching, 50),
            None,
            "not healthy"
        );
        assert_eq!(run.due(clock.now(), Status::NoData, 50), None, "no data");
        assert_eq!(
            run.due(clock.now(), Status::Healthy, 50),
            Some(Due::Step(1))
        );
        run.enter(1, clock.now());
        assert_eq!(run.percent(run.step_index()), 25);
        // The new step needs its own traffic.
        clock.advance(2 * DAY);
        assert_eq!(run.due(clock.now(), Status::Healthy, 50), None);
        run.count(49);
        assert_eq!(run.due(clock.now(), Status::Healthy, 50), None);
        run.count(1);
        assert_eq!(
            run.due(clock.now(), Status::Healthy, 50),
            Some(Due::Step(2))
        );
    }

    #[test]
    fn the_last_step_completes() {
        let clock = ManualClock::new();
        let mut run = running(&clock);
        for i in 1..4 {
            run.count(100);
            clock.advance(2 * DAY);
            assert_eq!(
                run.due(clock.now(), Status::Healthy, 50),
                Some(Due::Step(i))
            );
            run.enter(i, clock.now());
        }
        run.count(100);
        assert_eq!(
            run.due(clock.now(), Status::Healthy, 50),
            Some(Due::Complete)
        );
        run.complete();
        assert_eq!(run.status(), PlanStatus::Completed);
        assert_eq!(run.due(clock.now(), Status::Healthy, 50), None);
    }

    #[test]
    fn a_pause_stops_the_steps_clock() {
        let clock = ManualClock::new();
        let mut run = running(&clock);
        run.count(100);
        clock.advance(DAY / 2);
        run.pause(clock.now()).unwrap();
        assert!(run.pause(clock.now()).is_err());
        clock.advance(10 * DAY);
        assert_eq!(run.due(clock.now(), Status::Healthy, 50), None, "paused");
        assert_eq!(
            run.snapshot(clock.now()).time_in_step_ms,
            Some(millis(DAY / 2))
        );
        run.resume(clock.now()).unwrap();
        assert_eq!(
            run.due(clock.now(), Status::Healthy, 50),
            None,
            "half a day left"
        );
        assert_eq!(
            run.snapshot(clock.now()).time_left_ms,
            Some(millis(DAY / 2))
        );
        clock.advance(DAY / 2);
        assert_eq!(
            run.due(clock.now(), Status::Healthy, 50),
            Some(Due::Step(1))
        );
    }

    #[test]
    fn a_halted_plan_needs_a_restart() {
        let clock = ManualClock::new();
        let mut run = running(&clock);
        run.enter(2, clock.now());
        run.halt("guard: new arm ...".into());
        assert_eq!(run.status(), PlanStatus::Halted);
        let e = run.resume(clock.now()).unwrap_err();
        assert!(e.0.contains("restart"), "{e:?}");
        clock.advance(10 * DAY);
        assert_eq!(run.due(clock.now(), Status::Healthy, 50), None);
        run.can_restart().unwrap();
        run.enter(0, clock.now());
        assert_eq!(
            (run.status(), run.percent(run.step_index())),
            (PlanStatus::Running, 5)
        );
        assert_eq!(run.snapshot(clock.now()).halted_by, None);
    }

    #[test]
    fn abandon_stops_everything_but_a_finished_plan() {
        let clock = ManualClock::new();
        let mut run = running(&clock);
        run.abandon().unwrap();
        assert!(run.abandon().is_err());
        clock.advance(10 * DAY);
        run.count(1000);
        assert_eq!(run.due(clock.now(), Status::Healthy, 50), None);
        run.halt("x".into());
        assert_eq!(
            run.status(),
            PlanStatus::Abandoned,
            "a kill does not revive it"
        );
    }

    #[test]
    fn snapshot_shows_the_position() {
        let clock = ManualClock::new();
        let mut run = PlanRun::pending(Plan::gradual(), clock.now());
        let s = run.snapshot(clock.now());
        assert_eq!(
            (s.status, s.percent, s.time_left_ms),
            (PlanStatus::Pending, None, None)
        );
        run.enter(1, clock.now());
        clock.advance(DAY);
        run.count(7);
        let s = run.snapshot(clock.now());
        assert_eq!(s.percent, Some(25));
        assert_eq!(s.time_left_ms, Some(millis(DAY)));
        assert_eq!(s.step_requests, 7);
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["status"], "running");
        assert_eq!(json["steps"][1]["min_duration_ms"], 2 * 86_400_000u64);
    }
}
