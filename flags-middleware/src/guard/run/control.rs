//! An operator's control of a plan: start, restart, pause, resume,
//! abandon. Each goes through the [`Applier`](super::Applier), so it is
//! audited, and is committed to the guard's state once applied.

use std::fmt;
use std::sync::MutexGuard;
use std::time::SystemTime;

use flags_core::guard::Plan;

use super::action::{Action, ApplyError, PlanOp};
use super::guard::{Guard, State, Watched};
use super::record::{event, record};
use crate::edit::Edit;
use crate::guard::clock::unix_millis;
use crate::guard::event::{EventKind, GuardEvent};
use crate::guard::plan::{PlanRun, Refused};

/// A control operation that could not be done.
///
/// ```
/// use flags_middleware::guard::run::ControlError;
/// use flags_middleware::guard::{Guard, GuardConfig};
/// use flags_middleware::Flags;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
/// let guard = Guard::for_flags(&flags).watch("f", GuardConfig::new()).build();
/// let error = guard.pause("f").await.unwrap_err();
/// assert_eq!(error, ControlError::NoPlan("f".into()));
/// assert_eq!(error.to_string(), "flag `f` has no rollout plan");
/// let error = guard.restart("checkout").await.unwrap_err();
/// assert_eq!(error.to_string(), "flag `checkout` is not guarded");
/// # }
/// ```
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

impl Guard {
    /// Gives `flag` a plan (replacing any) and applies its first step now.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::guard::{Guard, GuardConfig, ManualClock, Plan};
    /// use flags_middleware::Flags;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let flags = Flags::from_toml_str("[f]\nrollout = 0\n", "flags.toml")?;
    /// let guard = Guard::for_flags(&flags).clock(ManualClock::new()).watch("f", GuardConfig::new()).build();
    /// let hour = Duration::from_secs(3600);
    /// let event = guard.start_plan("f", Plan::new().step(10, hour)?.step(100, hour)?).await?;
    /// assert_eq!(event.message, "plan: start at 10% (step 1 of 2)");
    /// assert_eq!(flags.snapshot().feature("f").unwrap().rollout_percent(), Some(10));
    /// # Ok(()) }
    /// ```
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
        self.first_step(flag, false, Operator::default())
            .await
            .map(|(event, _)| event)
    }

    /// Sends `flag`'s plan back to its first step (the same users get the
    /// flag again, percentages being sticky), turns the flag back on, and
    /// starts judging it afresh: the way on after a kill and a fix.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::guard::{EventKind, FlagsApplier, Guard, GuardConfig, ManualClock, ManualCounts, Plan, Side};
    /// use flags_middleware::Flags;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let flags = Flags::from_toml_str("[f]\nrollout = 0\n", "flags.toml").unwrap();
    /// # let (counts, clock) = (ManualCounts::new(), ManualClock::new());
    /// # let guard = Guard::builder(counts.clone(), FlagsApplier::new(flags.clone()))
    /// #     .clock(clock.clone()).plan("f", GuardConfig::new(), Plan::gradual()).build();
    /// guard.check().await; // 5%
    /// counts.add("f", Side::New, 50, 15);
    /// counts.add("f", Side::Old, 950, 5);
    /// clock.advance(Duration::from_secs(5));
    /// guard.check().await; // killed: the plan halts
    /// assert!(!flags.snapshot().feature("f").unwrap().enabled);
    /// // The bug fixed and deployed: from the first step again.
    /// let event = guard.restart("f").await.unwrap();
    /// assert_eq!(event.kind, EventKind::Restarted { to: 5 });
    /// assert!(flags.snapshot().feature("f").unwrap().enabled);
    /// # }
    /// ```
    ///
    /// # Errors
    /// When there is no plan or the first step cannot be applied.
    pub async fn restart(&self, flag: &str) -> Result<GuardEvent, ControlError> {
        self.operate(flag, PlanOp::Restart, None).await
    }

    /// Pauses `flag`'s plan: it stays at its step, and the step's time
    /// stands still. The guard keeps watching.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::guard::{Guard, GuardConfig, ManualClock, Plan, PlanStatus};
    /// use flags_middleware::Flags;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let flags = Flags::from_toml_str("[f]\nrollout = 0\n", "flags.toml").unwrap();
    /// let clock = ManualClock::new();
    /// let guard = Guard::for_flags(&flags)
    ///     .clock(clock.clone())
    ///     .plan("f", GuardConfig::new(), Plan::gradual())
    ///     .build();
    /// guard.check().await; // 5% for a day
    /// clock.advance(Duration::from_secs(3600));
    /// guard.pause("f").await.unwrap();
    /// clock.advance(Duration::from_secs(5 * 3600));
    /// let plan = guard.snapshot().flag("f").unwrap().plan.clone().unwrap();
    /// assert_eq!((plan.status, plan.time_in_step_ms), (PlanStatus::Paused, Some(3_600_000)));
    /// # }
    /// ```
    ///
    /// # Errors
    /// When there is no running plan.
    pub async fn pause(&self, flag: &str) -> Result<GuardEvent, ControlError> {
        self.operate(flag, PlanOp::Pause, None).await
    }

    /// Resumes `flag`'s paused plan.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::guard::{Guard, GuardConfig, ManualClock, Plan, PlanStatus};
    /// use flags_middleware::Flags;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let flags = Flags::from_toml_str("[f]\nrollout = 0\n", "flags.toml").unwrap();
    /// # let clock = ManualClock::new();
    /// # let guard = Guard::for_flags(&flags).clock(clock.clone())
    /// #     .plan("f", GuardConfig::new(), Plan::gradual()).build();
    /// guard.check().await;
    /// assert!(guard.resume("f").await.is_err()); // not paused
    /// guard.pause("f").await.unwrap();
    /// clock.advance(Duration::from_secs(10 * 3600));
    /// guard.resume("f").await.unwrap();
    /// clock.advance(Duration::from_secs(3600));
    /// let plan = guard.snapshot().flag("f").unwrap().plan.clone().unwrap();
    /// assert_eq!((plan.status, plan.time_in_step_ms), (PlanStatus::Running, Some(3_600_000)));
    /// # }
    /// ```
    ///
    /// # Errors
    /// When the plan is not paused (a halted plan needs a restart).
    pub async fn resume(&self, flag: &str) -> Result<GuardEvent, ControlError> {
        self.operate(flag, PlanOp::Resume, None).await
    }

    /// Gives `flag`'s plan up; the flag stays as it is, and the guard keeps
    /// watching it.
    ///
    /// ```
    /// use flags_middleware::guard::{Guard, GuardConfig, ManualClock, Plan, PlanStatus};
    /// use flags_middleware::Flags;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let flags = Flags::from_toml_str("[f]\nrollout = 0\n", "flags.toml").unwrap();
    /// # let guard = Guard::for_flags(&flags).clock(ManualClock::new())
    /// #     .plan("f", GuardConfig::new(), Plan::gradual()).build();
    /// guard.check().await; // 5%
    /// guard.abandon("f").await.unwrap();
    /// let f = guard.snapshot().flag("f").unwrap().clone();
    /// assert_eq!(f.plan.unwrap().status, PlanStatus::Abandoned);
    /// assert_eq!(flags.snapshot().feature("f").unwrap().rollout_percent(), Some(5));
    /// # }
    /// ```
    ///
    /// # Errors
    /// When the plan is already over.
    pub async fn abandon(&self, flag: &str) -> Result<GuardEvent, ControlError> {
        self.operate(flag, PlanOp::Abandon, None).await
    }

    /// Carries out an operator's plan operation, on behalf of `by` (the
    /// audit entry's actor, and named in its message; the admin API passes
    /// its caller; `None`: the guard's own).
    ///
    /// Every operation goes through the [`Applier`](super::Applier), so it is in the audit
    /// log; with [`FlagsApplier`](super::FlagsApplier) and a plan from the
    /// flag's definition it is recorded there too (`paused`, the plan
    /// removed on abandon, the first step's percentage on restart), so
    /// every instance sharing the store, and a restarted one, follows it.
    ///
    /// ```
    /// use flags_middleware::guard::run::PlanOp;
    /// use flags_middleware::guard::{Guard, GuardConfig, ManualClock, Plan};
    /// use flags_middleware::Flags;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let flags = Flags::from_toml_str("[f]\nrollout = 0\n", "flags.toml").unwrap();
    /// # let guard = Guard::for_flags(&flags).clock(ManualClock::new())
    /// #     .plan("f", GuardConfig::new(), Plan::gradual()).build();
    /// guard.check().await;
    /// let event = guard.operate("f", PlanOp::Pause, Some("alice")).await.unwrap();
    /// assert_eq!(event.message, "plan: paused by alice");
    /// let entry = &flags.audit_log(0, 1).unwrap()[0];
    /// assert_eq!(entry.actor, "alice");
    /// assert_eq!(entry.message.as_deref(), Some("plan: paused by alice"));
    /// # }
    /// ```
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
        self.operate_as(
            flag,
            op,
            Operator {
                by,
                expected_version: None,
            },
        )
        .await
        .map(|(event, _)| event)
    }

    /// [`Guard::operate`] for `operator`: the audit log's actor when named,
    /// and refused unless the flags are still at the version the operator
    /// saw (the admin API's `If-Match`), checked when the change is made.
    /// With the event, the flag set's version the change made.
    pub(crate) async fn operate_as(
        &self,
        flag: &str,
        op: PlanOp,
        operator: Operator<'_>,
    ) -> Result<(GuardEvent, u64), ControlError> {
        let _op = self.shared.ops.lock().await;
        self.follow_definitions();
        if op == PlanOp::Restart {
            return self.first_step(flag, true, operator).await;
        }
        let by = operator.suffix();
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
        let action = operator.action(Edit::plan_op(flag, op, unix_millis(now)), &message);
        let (mut state, version) = self.apply_for(flag, &action).await?;
        let w = watched_mut(&mut state, flag)?;
        if let Some(plan) = &mut w.plan {
            // Already done if the definitions were followed meanwhile.
            let _ = operation(plan, now);
        }
        let e = event(unix_millis(now), flag, kind, message);
        record(&mut state, std::slice::from_ref(&e));
        Ok((e, version))
    }

    /// Applies an operator's `action`, then locks the state, to record it;
    /// with the version the change made.
    async fn apply_for(
        &self,
        flag: &str,
        action: &Action,
    ) -> Result<(MutexGuard<'_, State>, u64), ControlError> {
        let version = self
            .shared
            .applier
            .apply(action)
            .await
            .map_err(ControlError::Apply)?;
        let state = self.state();
        watched(&state, flag)?;
        Ok((state, version))
    }

    /// Applies the first step of `flag`'s plan, to start or `restart` it;
    /// `by` is empty or `" by <who>"`. Called with the operations lock held.
    async fn first_step(
        &self,
        flag: &str,
        restart: bool,
        operator: Operator<'_>,
    ) -> Result<(GuardEvent, u64), ControlError> {
        let by = operator.suffix();
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
        let action = operator.action(Edit::plan_step(flag, to, unix_millis(now)), &message);
        let (mut state, version) = self.apply_for(flag, &action).await?;
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
        Ok((e, version))
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

/// Who asks for a plan operation, when an operator does.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Operator<'a> {
    /// The audit log's actor (the guard's own when `None`).
    pub(crate) by: Option<&'a str>,
    /// The version the operator saw, if they said.
    pub(crate) expected_version: Option<u64>,
}

impl Operator<'_> {
    /// ` by <who>`, for the event's message.
    fn suffix(&self) -> String {
        self.by.map(|who| format!(" by {who}")).unwrap_or_default()
    }

    /// `edit` as this operator's action.
    fn action(&self, edit: Edit, message: &str) -> Action {
        let mut action = Action::new(edit, message);
        if let Some(by) = self.by {
            action = action.by(by);
        }
        if let Some(version) = self.expected_version {
            action = action.if_version(version);
        }
        action
    }
}
