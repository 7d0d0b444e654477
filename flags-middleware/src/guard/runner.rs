//! [`Guard`]: checks the watched flags on a timer, applies kills and plan
//! steps, keeps the state the admin API shows.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use super::action::{Action, Applier, ApplyError, PlanOp};
use super::clock::{unix_millis, Clock, SystemClock};
use super::counts::CountSource;
use super::event::{EventKind, GuardEvent};
use super::judge::judge;
use super::plan::{Due, PlanRun, PlanStatus, Refused};
use super::snapshot::{FlagSnapshot, GuardSnapshot};
use super::verdict::{ArmFigures, Finding, Status, Verdict, WindowFigures};
use super::window::Window;
use super::GuardConfig;
use super::NewArm;
use super::Plan;
use crate::edit::Edit;
use crate::model::{GuardSpec, PlanSpec};
use crate::Flags;

/// How many events the guard keeps for its snapshot.
const EVENTS_KEPT: usize = 256;

/// The rollout guard: watches flags, kills a flag whose new arm is worse,
/// and walks progressive plans.
///
/// Cloning is cheap; clones share the state. See the [module
/// docs](super) for an example.
#[derive(Clone)]
pub struct Guard {
    shared: Arc<Shared>,
}

struct Shared {
    source: Arc<dyn CountSource>,
    applier: Arc<dyn Applier>,
    clock: Arc<dyn Clock>,
    interval: Duration,
    state: Mutex<State>,
    /// Flags whose definitions say which flags to watch (`guard`, `plan`).
    definitions: Option<Flags>,
    /// Serializes checks and control operations, so that an action decided
    /// on a state is committed before anything else looks at that state.
    ops: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    flags: BTreeMap<String, Watched>,
    events: VecDeque<GuardEvent>,
    checks: u64,
    /// The definitions' version last followed.
    followed: Option<u64>,
}

struct Watched {
    config: GuardConfig,
    window: Window,
    last: Option<Verdict>,
    plan: Option<PlanRun>,
    kills: u64,
    origin: Origin,
}

/// Who asked the guard to watch a flag.
#[derive(Debug, Clone, PartialEq)]
enum Origin {
    /// The code, through the builder or [`Guard::watch`]; the definitions
    /// do not override it.
    Code,
    /// The flag's definition, with the settings it carried when last followed.
    Definition {
        guard: Option<Box<GuardSpec>>,
        plan: Option<Box<PlanSpec>>,
    },
}

impl Watched {
    /// Whether the definition holds the plan (`paused`), so that not even
    /// its first step is taken.
    fn held(&self) -> bool {
        matches!(&self.origin, Origin::Definition { plan: Some(p), .. } if p.paused)
    }
}

impl Watched {
    fn new(config: GuardConfig) -> Watched {
        Watched {
            window: window_for(&config),
            config,
            last: None,
            plan: None,
            kills: 0,
            origin: Origin::Code,
        }
    }
}

fn window_for(config: &GuardConfig) -> Window {
    Window::new(
        config.get_window(),
        config.get_bucket(),
        config.get_latency().is_some(),
    )
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("Guard")
            .field("clock", &self.shared.clock)
            .field("interval", &self.shared.interval)
            .field("flags", &state.flags.keys().collect::<Vec<_>>())
            .field("checks", &state.checks)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Guard`].
#[must_use]
pub struct GuardBuilder {
    source: Arc<dyn CountSource>,
    applier: Arc<dyn Applier>,
    clock: Arc<dyn Clock>,
    interval: Duration,
    flags: Vec<(String, GuardConfig, Option<Plan>)>,
    definitions: Option<Flags>,
}

impl fmt::Debug for GuardBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardBuilder")
            .field("clock", &self.clock)
            .field("interval", &self.interval)
            .field("flags", &self.flags)
            .finish_non_exhaustive()
    }
}

impl GuardBuilder {
    /// Where time comes from. Default: the system clock.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// How often [`Guard::spawn`]'s task checks. Default: every second
    /// (at least 10 ms).
    pub fn interval(mut self, every: Duration) -> Self {
        self.interval = every.max(Duration::from_millis(10));
        self
    }

    /// Also watches every flag whose definition in `flags` asks for it
    /// (`guard = {..}` or `plan = [..]` in TOML, `guard`/`plan` in JSON),
    /// following changes to the definitions at each check: a flag that
    /// opts in through the admin API or a database row is watched within a
    /// check, and its plan stands where the flag's rollout percentage says.
    /// [`Guard::for_flags`] does this for its flags. Flags watched in code
    /// ([`watch`](Self::watch), [`plan`](Self::plan)) keep their code settings.
    pub fn follow(mut self, flags: &Flags) -> Self {
        self.definitions = Some(flags.clone());
        self
    }

    /// Watches `flag`.
    pub fn watch(mut self, flag: impl Into<String>, config: GuardConfig) -> Self {
        self.flags.push((flag.into(), config, None));
        self
    }

    /// Watches `flag` and walks `plan`; the first step is applied at the
    /// first check.
    pub fn plan(mut self, flag: impl Into<String>, config: GuardConfig, plan: Plan) -> Self {
        self.flags.push((flag.into(), config, Some(plan)));
        self
    }

    /// The guard; nothing runs until [`Guard::spawn`] or [`Guard::check`].
    pub fn build(self) -> Guard {
        let now = self.clock.now();
        let mut state = State::default();
        for (flag, config, plan) in self.flags {
            let mut w = Watched::new(config);
            w.plan = plan.map(|p| PlanRun::pending(p, now));
            state.flags.insert(flag, w);
        }
        Guard {
            shared: Arc::new(Shared {
                source: self.source,
                applier: self.applier,
                clock: self.clock,
                interval: self.interval,
                state: Mutex::new(state),
                definitions: self.definitions,
                ops: tokio::sync::Mutex::new(()),
            }),
        }
    }
}

/// A control operation that could not be done.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ControlError {
    /// The guard does not watch this flag.
    NotWatched(String),
    /// The flag has no plan.
    NoPlan(String),
    /// The plan is not in a state that allows it.
    Refused {
        /// The flag.
        flag: String,
        /// Why.
        message: String,
    },
    /// The change could not be applied to the flag.
    Apply(ApplyError),
}

impl fmt::Display for ControlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ControlError::NotWatched(flag) => write!(f, "flag `{flag}` is not guarded"),
            ControlError::NoPlan(flag) => write!(f, "flag `{flag}` has no rollout plan"),
            ControlError::Refused { flag, message } => write!(f, "flag `{flag}`: {message}"),
            ControlError::Apply(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ControlError {}

/// What a check decided for one flag, to apply then commit.
enum Pending {
    Kill {
        flag: String,
        finding: Finding,
    },
    Step {
        flag: String,
        index: usize,
        from: Option<u32>,
        to: u32,
        of: usize,
    },
    Complete {
        flag: String,
    },
}

impl Guard {
    /// A guard reading counts from `source` and changing flags through
    /// `applier`.
    pub fn builder(source: impl CountSource, applier: impl Applier) -> GuardBuilder {
        GuardBuilder {
            source: Arc::new(source),
            applier: Arc::new(applier),
            clock: Arc::new(SystemClock),
            interval: Duration::from_secs(1),
            flags: Vec::new(),
            definitions: None,
        }
    }

    /// A guard for `flags`: it reads the counters the layer keeps
    /// ([`Flags::metrics`]), applies its actions to `flags`
    /// ([`FlagsApplier`](super::FlagsApplier)), and watches the flags
    /// whose definitions opt in ([`GuardBuilder::follow`]).
    pub fn for_flags(flags: &Flags) -> GuardBuilder {
        Guard::builder(
            flags.metrics().clone(),
            super::FlagsApplier::new(flags.clone()),
        )
        .follow(flags)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts checking every interval on the current tokio runtime; the
    /// checks stop when the returned task is dropped.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn spawn(&self) -> GuardTask {
        let guard = self.clone();
        let handle = tokio::spawn(async move {
            let mut every = tokio::time::interval(guard.shared.interval);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                guard.check().await;
            }
        });
        GuardTask { handle }
    }

    /// Watches `flag` with `config` (replacing an earlier config, and
    /// starting its window afresh; a plan is kept).
    pub fn watch(&self, flag: impl Into<String>, config: GuardConfig) {
        let mut state = self.state();
        let flag = flag.into();
        match state.flags.get_mut(&flag) {
            Some(w) => {
                w.window = window_for(&config);
                w.config = config;
                w.origin = Origin::Code;
            }
            None => {
                state.flags.insert(flag, Watched::new(config));
            }
        }
    }

    /// Stops watching `flag` (and drops its plan); whether it was watched.
    pub fn unwatch(&self, flag: &str) -> bool {
        self.state().flags.remove(flag).is_some()
    }

    /// Reads the counts of every watched flag, judges each, and applies
    /// kills and due plan steps; returns what was done. The spawned task
    /// calls this every interval; tests call it directly.
    pub async fn check(&self) -> Vec<GuardEvent> {
        let _op = self.shared.ops.lock().await;
        let mut events = self.follow_definitions();
        let pending = self.decide(self.shared.clock.now());
        for p in pending {
            events.extend(self.carry_out(p).await);
        }
        events
    }

    fn decide(&self, now: SystemTime) -> Vec<Pending> {
        let source = &self.shared.source;
        let mut state = self.state();
        state.checks += 1;
        let mut pending = Vec::new();
        let keys: Vec<(String, NewArm)> = state
            .flags
            .iter()
            .map(|(flag, w)| (flag.clone(), w.config.get_arm().clone()))
            .collect();
        let keys: Vec<(&str, &NewArm)> = keys.iter().map(|(f, a)| (f.as_str(), a)).collect();
        let reads = source.read_all(&keys);
        for ((flag, w), read) in state.flags.iter_mut().zip(reads) {
            // A source that has counted nothing for the flag yet has
            // counted zero: the first requests are then not lost in the
            // baseline.
            let totals = read.unwrap_or_default();
            let new_requests = w.window.observe(now, totals);
            if let Some(plan) = &mut w.plan {
                plan.count(new_requests);
            }
            let verdict = judge(&w.window, &w.config, now);
            match (&verdict.status, &verdict.finding, &w.plan) {
                (Status::Kill, Some(finding), _) => pending.push(Pending::Kill {
                    flag: flag.clone(),
                    finding: finding.clone(),
                }),
                (_, _, Some(plan)) if !w.held() => {
                    match plan.due(now, verdict.status, w.config.get_min_requests()) {
                        Some(Due::Step(index)) => pending.push(Pending::Step {
                            flag: flag.clone(),
                            index,
                            from: (plan.status() != PlanStatus::Pending)
                                .then(|| plan.percent(plan.step_index())),
                            to: plan.percent(index),
                            of: plan.len(),
                        }),
                        Some(Due::Complete) => {
                            pending.push(Pending::Complete { flag: flag.clone() })
                        }
                        None => {}
                    }
                }
                _ => {}
            }
            w.last = Some(verdict);
        }
        pending
    }

    /// Applies one decision and commits it (or records the failure, to be
    /// retried at the next check since the state still calls for it).
    async fn carry_out(&self, p: Pending) -> Vec<GuardEvent> {
        match p {
            Pending::Kill { flag, finding } => {
                let message = finding.message();
                let action = Action::new(Edit::kill(&flag), message.clone());
                let result = self.shared.applier.apply(&action).await;
                let at = unix_millis(self.shared.clock.now());
                let mut state = self.state();
                let mut events = Vec::new();
                match result {
                    Ok(_) => {
                        if let Some(w) = state.flags.get_mut(&flag) {
                            // Judge a re-enabled flag on fresh traffic only.
                            w.window.clear();
                            w.kills += 1;
                            if let Some(plan) = &mut w.plan {
                                let before = plan.status();
                                plan.halt(message.clone());
                                if plan.status() != before {
                                    events.push(event(
                                        at,
                                        &flag,
                                        EventKind::Halted,
                                        format!("plan halted: {message}"),
                                    ));
                                }
                            }
                        }
                        events.insert(0, event(at, &flag, EventKind::Killed { finding }, message));
                    }
                    Err(e) => events.push(event(
                        at,
                        &flag,
                        EventKind::KillFailed {
                            error: e.to_string(),
                        },
                        format!("guard: could not kill: {e} (decided on: {message})"),
                    )),
                }
                record(&mut state, &events);
                events
            }
            Pending::Step {
                flag,
                index,
                from,
                to,
                of,
            } => {
                let message = match from {
                    None => format!("plan: start at {to}% (step 1 of {of})"),
                    Some(from) => format!(
                        "plan: {from}% -> {to}% (step {} of {of}), previous step healthy",
                        index + 1
                    ),
                };
                let now = self.shared.clock.now();
                let action = Action::new(
                    Edit::plan_step(&flag, to, unix_millis(now)),
                    message.clone(),
                );
                let result = self.shared.applier.apply(&action).await;
                let mut state = self.state();
                let events = match result {
                    Ok(_) => {
                        if let Some(plan) = state.flags.get_mut(&flag).and_then(|w| w.plan.as_mut())
                        {
                            plan.enter(index, now);
                        }
                        vec![event(
                            unix_millis(now),
                            &flag,
                            EventKind::Advanced {
                                from,
                                to,
                                step: index + 1,
                                of,
                            },
                            message,
                        )]
                    }
                    Err(e) => vec![event(
                        unix_millis(now),
                        &flag,
                        EventKind::AdvanceFailed {
                            to,
                            error: e.to_string(),
                        },
                        format!("plan: could not set {to}%: {e}"),
                    )],
                };
                record(&mut state, &events);
                events
            }
            Pending::Complete { flag } => {
                let at = unix_millis(self.shared.clock.now());
                let mut state = self.state();
                if let Some(plan) = state.flags.get_mut(&flag).and_then(|w| w.plan.as_mut()) {
                    plan.complete();
                }
                let events = vec![event(
                    at,
                    &flag,
                    EventKind::Completed,
                    "plan: completed".into(),
                )];
                record(&mut state, &events);
                events
            }
        }
    }

    /// Gives `flag` a plan (replacing any) and applies its first step now.
    ///
    /// # Errors
    /// When the flag is not watched, the plan has no steps, or the first
    /// step cannot be applied.
    pub async fn start_plan(&self, flag: &str, plan: Plan) -> Result<GuardEvent, ControlError> {
        let _op = self.shared.ops.lock().await;
        {
            let mut state = self.state();
            let w = watched_mut(&mut state, flag)?;
            let run = PlanRun::pending(plan, self.shared.clock.now());
            run.can_restart().map_err(|r| refused(flag, r))?;
            w.plan = Some(run);
        }
        self.first_step(flag, false, "").await
    }

    /// Sends `flag`'s plan back to its first step (the same users get the
    /// flag again, percentages being sticky), turns the flag back on, and
    /// starts judging it afresh: the way on after a kill and a fix.
    ///
    /// # Errors
    /// When there is no plan or the first step cannot be applied.
    pub async fn restart(&self, flag: &str) -> Result<GuardEvent, ControlError> {
        self.operate(flag, PlanOp::Restart, None).await
    }

    /// Pauses `flag`'s plan: it stays at its step, and the step's time
    /// stands still. The guard keeps watching.
    ///
    /// # Errors
    /// When there is no running plan.
    pub async fn pause(&self, flag: &str) -> Result<GuardEvent, ControlError> {
        self.operate(flag, PlanOp::Pause, None).await
    }

    /// Resumes `flag`'s paused plan.
    ///
    /// # Errors
    /// When the plan is not paused (a halted plan needs a restart).
    pub async fn resume(&self, flag: &str) -> Result<GuardEvent, ControlError> {
        self.operate(flag, PlanOp::Resume, None).await
    }

    /// Gives `flag`'s plan up; the flag stays as it is, and the guard keeps
    /// watching it.
    ///
    /// # Errors
    /// When the plan is already over.
    pub async fn abandon(&self, flag: &str) -> Result<GuardEvent, ControlError> {
        self.operate(flag, PlanOp::Abandon, None).await
    }

    /// Carries out an operator's plan operation, on behalf of `by` (named
    /// in the audit entry's message; the admin API passes its caller).
    ///
    /// Every operation goes through the [`Applier`], so it is in the audit
    /// log; with [`FlagsApplier`](super::FlagsApplier) and a plan from the
    /// flag's definition it is recorded there too (`paused`, the plan
    /// removed on abandon, the first step's percentage on restart), so
    /// every instance sharing the store, and a restarted one, follows it.
    ///
    /// # Errors
    /// When the flag is not watched, has no plan, the plan's state does not
    /// allow the operation, or the change cannot be applied.
    pub async fn operate(
        &self,
        flag: &str,
        op: PlanOp,
        by: Option<&str>,
    ) -> Result<GuardEvent, ControlError> {
        let _op = self.shared.ops.lock().await;
        self.follow_definitions();
        let by = by.map(|who| format!(" by {who}")).unwrap_or_default();
        if op == PlanOp::Restart {
            return self.first_step(flag, true, &by).await;
        }
        let (kind, message) = match op {
            PlanOp::Pause => (EventKind::Paused, format!("plan: paused{by}")),
            PlanOp::Resume => (EventKind::Resumed, format!("plan: resumed{by}")),
            _ => (EventKind::Abandoned, format!("plan: abandoned{by}")),
        };
        let operation = |plan: &mut PlanRun, now: SystemTime| match op {
            PlanOp::Pause => plan.pause(now),
            PlanOp::Resume => plan.resume(now),
            _ => plan.abandon(),
        };
        let now = self.shared.clock.now();
        // Refuse before changing anything: try it on a copy.
        {
            let state = self.state();
            let mut trial = plan_of(&state, flag)?.clone();
            operation(&mut trial, now).map_err(|r| refused(flag, r))?;
        }
        let action = Action::new(Edit::plan_op(flag, op, unix_millis(now)), message.clone());
        let mut state = self.apply_for(flag, &action).await?;
        let w = watched_mut(&mut state, flag)?;
        if let Some(plan) = &mut w.plan {
            // Already done if the definitions were followed meanwhile.
            let _ = operation(plan, now);
        }
        let e = event(unix_millis(now), flag, kind, message);
        record(&mut state, std::slice::from_ref(&e));
        Ok(e)
    }

    /// Applies an operator's `action`, then locks the state, to record it.
    async fn apply_for(
        &self,
        flag: &str,
        action: &Action,
    ) -> Result<MutexGuard<'_, State>, ControlError> {
        self.shared
            .applier
            .apply(action)
            .await
            .map_err(ControlError::Apply)?;
        let state = self.state();
        watched(&state, flag)?;
        Ok(state)
    }

    /// Applies the first step of `flag`'s plan, to start or `restart` it;
    /// `by` is empty or `" by <who>"`. Called with the operations lock held.
    async fn first_step(
        &self,
        flag: &str,
        restart: bool,
        by: &str,
    ) -> Result<GuardEvent, ControlError> {
        let (to, of) = {
            let state = self.state();
            let plan = plan_of(&state, flag)?;
            plan.can_restart().map_err(|r| refused(flag, r))?;
            (plan.percent(0), plan.len())
        };
        let message = if restart {
            format!("plan: restarted at {to}% (step 1 of {of}){by}")
        } else {
            format!("plan: start at {to}% (step 1 of {of}){by}")
        };
        let now = self.shared.clock.now();
        let action = Action::new(Edit::plan_step(flag, to, unix_millis(now)), message.clone());
        let mut state = self.apply_for(flag, &action).await?;
        let w = watched_mut(&mut state, flag)?;
        w.window.clear();
        if let Some(plan) = &mut w.plan {
            plan.enter(0, now);
        }
        let kind = if restart {
            EventKind::Restarted { to }
        } else {
            EventKind::Advanced {
                from: None,
                to,
                step: 1,
                of,
            }
        };
        let e = event(unix_millis(now), flag, kind, message);
        record(&mut state, std::slice::from_ref(&e));
        Ok(e)
    }

    /// The guard's state: per flag, the window's counts per arm, the last
    /// verdict and the plan's position; and the recent events.
    pub fn snapshot(&self) -> GuardSnapshot {
        // Show flags that opted in since the last check, unless a check or
        // an operation is under way (it follows them itself).
        if let Ok(_op) = self.shared.ops.try_lock() {
            self.follow_definitions();
        }
        let now = self.shared.clock.now();
        let state = self.state();
        GuardSnapshot {
            at_ms: unix_millis(now),
            interval: self.shared.interval,
            checks: state.checks,
            flags: state
                .flags
                .iter()
                .map(|(flag, w)| {
                    let totals = w.window.totals();
                    FlagSnapshot {
                        flag: flag.clone(),
                        config: w.config.clone(),
                        window: WindowFigures {
                            new: ArmFigures::new(totals.new.requests, totals.new.errors),
                            old: ArmFigures::new(totals.old.requests, totals.old.errors),
                            span_ms: u64::try_from(w.window.span().as_millis()).unwrap_or(u64::MAX),
                        },
                        last: w.last.clone(),
                        plan: w.plan.as_ref().map(|p| p.snapshot(now)),
                        kills: w.kills,
                    }
                })
                .collect(),
            events: state.events.iter().cloned().collect(),
        }
    }
}

fn watched<'a>(state: &'a State, flag: &str) -> Result<&'a Watched, ControlError> {
    state
        .flags
        .get(flag)
        .ok_or_else(|| ControlError::NotWatched(flag.to_owned()))
}

fn watched_mut<'a>(state: &'a mut State, flag: &str) -> Result<&'a mut Watched, ControlError> {
    state
        .flags
        .get_mut(flag)
        .ok_or_else(|| ControlError::NotWatched(flag.to_owned()))
}

fn plan_of<'a>(state: &'a State, flag: &str) -> Result<&'a PlanRun, ControlError> {
    watched(state, flag)?
        .plan
        .as_ref()
        .ok_or_else(|| ControlError::NoPlan(flag.to_owned()))
}

fn refused(flag: &str, r: Refused) -> ControlError {
    ControlError::Refused {
        flag: flag.to_owned(),
        message: r.0,
    }
}

fn event(at_ms: u64, flag: &str, kind: EventKind, message: String) -> GuardEvent {
    GuardEvent {
        at_ms,
        flag: flag.to_owned(),
        kind,
        message,
    }
}

/// Keeps `events` for the snapshot and logs them at target `flags::guard`:
/// kills at WARN, failures at ERROR, the rest at INFO.
fn record(state: &mut State, events: &[GuardEvent]) {
    for e in events {
        match &e.kind {
            EventKind::Killed { finding } => tracing::warn!(
                target: "flags::guard",
                criterion = ?finding.criterion,
                feature_flag.key = %e.flag,
                new_requests = finding.new.requests,
                new_errors = finding.new.bad,
                old_requests = finding.old.requests,
                old_errors = finding.old.bad,
                p_value = finding.p_value,
                message = %e.message,
            ),
            EventKind::KillFailed { .. } | EventKind::AdvanceFailed { .. } => tracing::error!(
                target: "flags::guard",
                message = %e.message,
                feature_flag.key = %e.flag,
            ),
            _ => tracing::info!(
                target: "flags::guard",
                message = %e.message,
                feature_flag.key = %e.flag,
            ),
        }
        if state.events.len() == EVENTS_KEPT {
            state.events.pop_front();
        }
        state.events.push_back(e.clone());
    }
}

/// The checks [`Guard::spawn`] started; they stop when this is dropped.
#[derive(Debug)]
#[must_use = "the guard stops checking when its task is dropped"]
pub struct GuardTask {
    handle: tokio::task::JoinHandle<()>,
}

impl GuardTask {
    /// Stops the checks.
    pub fn stop(self) {}
}

impl Drop for GuardTask {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

mod follow;
#[cfg(test)]
mod tests;
