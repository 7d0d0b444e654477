//! What the guard does to a flag, and the one place that does it.
//!
//! The guard decides; an [`Applier`] changes the flag. [`FlagsApplier`]
//! commits the change through the [`Flags`] handle's store, so that every
//! instance sharing it stops serving a killed arm, and the change is
//! audited with its reason.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use serde::Serialize;

use crate::engine::Change;
use crate::model::{Feature, Strategy};
use crate::store::Edit;
use crate::Flags;

/// A change the guard wants made to a flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Turn the flag off for everyone.
    Kill {
        /// The flag.
        flag: String,
        /// The figures that triggered the kill, for the audit log.
        reason: String,
    },
    /// Turn the flag on for `percent` of users (sticky by user id).
    SetRollout {
        /// The flag.
        flag: String,
        /// 0 to 100.
        percent: u32,
        /// Why (a plan step), for the audit log.
        reason: String,
        /// When the step begins (ms since the Unix epoch), recorded in the
        /// flag's `plan` for instances that pick the plan up later.
        at_ms: u64,
    },
    /// Record an operator's plan operation in the flag's definition (its
    /// `plan`), so that every instance and a restarted one follow it; for a
    /// plan set in code, where the definition has none, the flag is
    /// unchanged and the operation is only audited.
    Plan {
        /// The flag.
        flag: String,
        /// The operation ([`PlanOp::Restart`] changes nothing here: a restart
        /// is a [`SetRollout`](Action::SetRollout) to the first step).
        op: PlanOp,
        /// Who and why, for the audit log.
        reason: String,
        /// When (ms since the Unix epoch): a pause records how much of the
        /// step had passed, a resume moves the step's start forward.
        at_ms: u64,
    },
}

/// An operator's operation on a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanOp {
    /// Hold the current step; its time stands still.
    Pause,
    /// Go on after a pause.
    Resume,
    /// Back to the first step (the same users: percentages are sticky),
    /// the flag on again.
    Restart,
    /// Give the plan up; the flag stays as it is, still guarded.
    Abandon,
}

impl PlanOp {
    /// The operation's name in the admin API's path.
    pub fn as_str(self) -> &'static str {
        match self {
            PlanOp::Pause => "pause",
            PlanOp::Resume => "resume",
            PlanOp::Restart => "restart",
            PlanOp::Abandon => "abandon",
        }
    }
}

impl std::str::FromStr for PlanOp {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            PlanOp::Pause,
            PlanOp::Resume,
            PlanOp::Restart,
            PlanOp::Abandon,
        ]
        .into_iter()
        .find(|op| op.as_str() == s)
        .ok_or_else(|| format!("`{s}` is not a plan operation: pause, resume, restart or abandon"))
    }
}

impl Action {
    /// The flag changed.
    pub fn flag(&self) -> &str {
        match self {
            Action::Kill { flag, .. }
            | Action::SetRollout { flag, .. }
            | Action::Plan { flag, .. } => flag,
        }
    }

    /// Why, for the audit log.
    pub fn reason(&self) -> &str {
        match self {
            Action::Kill { reason, .. }
            | Action::SetRollout { reason, .. }
            | Action::Plan { reason, .. } => reason,
        }
    }

    /// The flag as it is after this action, from the flag as it is now.
    pub fn edit(&self, current: &Feature) -> Feature {
        match self {
            Action::Kill { .. } => Feature {
                enabled: false,
                ..current.clone()
            },
            Action::SetRollout { percent, at_ms, .. } => {
                let mut next = with_rollout(current, *percent);
                if let Some(plan) = &mut next.plan {
                    // A new step (or a restart): running, from now.
                    plan.paused = false;
                    plan.started_ms = Some(*at_ms);
                    plan.done_ms = None;
                }
                next
            }
            Action::Plan { op, at_ms, .. } => with_plan_op(current, *op, *at_ms),
        }
    }
}

/// An action that could not be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyError {
    /// The flag.
    pub flag: String,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "flag `{}`: {}", self.flag, self.message)
    }
}

impl std::error::Error for ApplyError {}

/// The future an [`Applier`] returns: the flag set's new version.
pub type ApplyFuture<'a> = Pin<Box<dyn Future<Output = Result<u64, ApplyError>> + Send + 'a>>;

/// Applies the guard's actions.
pub trait Applier: Send + Sync + 'static {
    /// Applies `action`; resolves to the new version of the flag set. The
    /// guard retries a failed kill at its next check.
    fn apply<'a>(&'a self, action: &'a Action) -> ApplyFuture<'a>;
}

/// Applies actions to a [`Flags`] handle through its store
/// ([`Flags::commit_edit_with`]), as actor `guard`: with a shared store
/// (PostgreSQL) every instance stops serving a killed arm, with a file
/// store the kill survives a restart, and each action is in the audit log
/// with its reason (for a kill, the figures that triggered it) as the
/// entry's [`message`](crate::audit::AuditEntry::message).
///
/// The edit is computed from the live definition while other edits are held
/// off, so a kill never overwrites a concurrent admin change.
///
/// ```
/// use flags_middleware::{Context, Flags};
/// use flags_middleware::guard::{Action, Applier, FlagsApplier};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let flags = Flags::from_unleash_json(r#"{"features": [
///   {"name": "new_checkout_flow", "enabled": true, "strategies": [{"name": "default"}]}
/// ]}"#).unwrap();
/// let applier = FlagsApplier::new(flags.clone());
/// applier.apply(&Action::Kill { flag: "new_checkout_flow".into(), reason: "test".into() })
///     .await
///     .unwrap();
/// assert!(!flags.is_enabled("new_checkout_flow", &Context::new()));
/// let entry = &flags.audit_log(0, 1).unwrap()[0];
/// assert_eq!((entry.actor.as_str(), entry.action.as_str()), ("guard", "kill"));
/// assert_eq!(entry.message.as_deref(), Some("test"));
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct FlagsApplier {
    flags: Flags,
}

impl FlagsApplier {
    /// Applies to `flags`.
    pub fn new(flags: Flags) -> FlagsApplier {
        FlagsApplier { flags }
    }
}

/// The actor the guard's changes are audited under.
const GUARD_ACTOR: &str = "guard";

impl Applier for FlagsApplier {
    fn apply<'a>(&'a self, action: &'a Action) -> ApplyFuture<'a> {
        Box::pin(async move {
            let flag = action.flag();
            let error = |message: String| ApplyError {
                flag: flag.to_owned(),
                message,
            };
            let verb = match action {
                Action::Kill { .. } => "kill".to_owned(),
                Action::SetRollout { .. } => "rollout".to_owned(),
                Action::Plan { op, .. } => format!("plan {}", op.as_str()),
            };
            let edit = Edit::new(GUARD_ACTOR, verb, Vec::new()).message(action.reason());
            let owned = action.clone();
            let done = self
                .flags
                .commit_edit_with(edit, None, move |snap| {
                    // A flag deleted meanwhile: nothing to do (reported below).
                    Ok(snap
                        .feature(owned.flag())
                        .map(|current| Change::Upsert(owned.edit(&current)))
                        .into_iter()
                        .collect())
                })
                .await
                .map_err(|e| error(e.to_string()))?;
            if !done.changed && done.snapshot.feature(flag).is_none() {
                return Err(error("no such flag".into()));
            }
            Ok(done.version)
        })
    }
}

/// Strategies whose percentage a plan sets, with the parameter holding it.
fn rollout_param(strategy: &str) -> Option<&'static str> {
    match strategy {
        "flexibleRollout" => Some("rollout"),
        "gradualRolloutUserId" | "gradualRolloutSessionId" | "gradualRolloutRandom" => {
            Some("percentage")
        }
        _ => None,
    }
}

/// The flag's rollout percentage, when its percentage strategies agree on
/// one (a plan's position); `None` without any.
pub(crate) fn rollout_percent(feature: &Feature) -> Option<u32> {
    let mut found = None;
    for s in &feature.strategies {
        let Some(param) = rollout_param(&s.name) else {
            continue;
        };
        let p = s.parameters.get(param)?.trim().parse::<u32>().ok()?;
        if found.is_some_and(|f| f != p) {
            return None;
        }
        found = Some(p);
    }
    found
}

/// `feature` with an operator's plan operation recorded in its `plan`.
fn with_plan_op(feature: &Feature, op: PlanOp, at_ms: u64) -> Feature {
    let mut next = feature.clone();
    match (op, &mut next.plan) {
        (PlanOp::Pause, Some(plan)) if !plan.paused => {
            plan.paused = true;
            plan.done_ms = plan.started_ms.take().map(|s| at_ms.saturating_sub(s));
        }
        (PlanOp::Resume, Some(plan)) if plan.paused => {
            plan.paused = false;
            plan.started_ms = Some(at_ms.saturating_sub(plan.done_ms.take().unwrap_or(0)));
        }
        (PlanOp::Pause | PlanOp::Resume, _) => {}
        (PlanOp::Abandon, _) => {
            // Still guarded once the plan is gone.
            if next.plan.take().is_some() && next.guard.is_none() {
                next.guard = Some(Box::default());
            }
        }
        (PlanOp::Restart, _) => {}
    }
    next
}

/// `feature`, on, with its rollout at `percent`.
///
/// Every percentage strategy gets the new percentage, keeping its
/// stickiness and group id (so the same users are picked at the same
/// percentage, before and after a restart). A flag without one gets a
/// `flexibleRollout` on the user id with the flag's name as group (what
/// Unleash does by default); a `default` (everyone) strategy is replaced by
/// it, and targeted strategies (user lists, constraints) are kept beside it.
pub(crate) fn with_rollout(feature: &Feature, percent: u32) -> Feature {
    let percent = percent.min(100).to_string();
    let mut next = feature.clone();
    next.enabled = true;
    let mut found = false;
    for s in &mut next.strategies {
        if let Some(param) = rollout_param(&s.name) {
            s.parameters.insert(param.to_owned(), percent.clone());
            found = true;
        }
    }
    if !found {
        next.strategies.retain(|s| {
            !(s.name == "default" && s.constraints.is_empty() && s.segments.is_empty())
        });
        let mut rollout = Strategy {
            name: "flexibleRollout".into(),
            ..Strategy::default()
        };
        rollout.parameters.insert("rollout", percent);
        rollout.parameters.insert("stickiness", "default");
        rollout.parameters.insert("groupId", feature.name.clone());
        next.strategies.push(rollout);
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FlagSet;
    use crate::Context;

    fn feature(json: &str) -> Feature {
        FlagSet::from_unleash_json(&format!(r#"{{"features": [{json}]}}"#))
            .unwrap()
            .features
            .remove(0)
    }

    fn users_on(flags: &Flags, name: &str) -> Vec<usize> {
        (0..2000)
            .filter(|i| flags.is_enabled(name, &Context::new().user_id(format!("user-{i}"))))
            .collect()
    }

    #[test]
    fn a_default_strategy_becomes_a_sticky_rollout() {
        let f = feature(r#"{"name": "f", "enabled": false, "strategies": [{"name": "default"}]}"#);
        let next = with_rollout(&f, 5);
        assert!(next.enabled);
        assert_eq!(next.strategies.len(), 1);
        let s = &next.strategies[0];
        assert_eq!(s.name, "flexibleRollout");
        assert_eq!(s.parameters["rollout"], "5");
        assert_eq!(s.parameters["groupId"], "f");
    }

    #[test]
    fn existing_rollouts_keep_group_and_stickiness() {
        let f = feature(
            r#"{"name": "f", "enabled": true, "strategies": [
                {"name": "userWithId", "parameters": {"userIds": "ann"}},
                {"name": "flexibleRollout", "parameters": {"rollout": "20", "stickiness": "sessionId", "groupId": "g"}}
            ]}"#,
        );
        let next = with_rollout(&f, 50);
        assert_eq!(next.strategies[0], f.strategies[0]);
        let p = &next.strategies[1].parameters;
        assert_eq!(
            (
                p["rollout"].as_str(),
                p["stickiness"].as_str(),
                p["groupId"].as_str()
            ),
            ("50", "sessionId", "g")
        );
    }

    #[test]
    fn targeted_strategies_stay_beside_a_new_rollout() {
        let f = feature(
            r#"{"name": "f", "enabled": true, "strategies": [
                {"name": "userWithId", "parameters": {"userIds": "ann"}}]}"#,
        );
        let next = with_rollout(&f, 5);
        assert_eq!(next.strategies.len(), 2);
        assert_eq!(next.strategies[0].name, "userWithId");
    }

    /// Going from 5% up and back to 5% (a restart) gives the same users; a
    /// higher step keeps everyone who had the flag.
    #[tokio::test]
    async fn percentages_are_sticky_through_kill_and_restart() {
        let flags = Flags::from_unleash_json(
            r#"{"features": [{"name": "f", "enabled": true, "strategies": [{"name": "default"}]}]}"#,
        )
        .unwrap();
        let applier = FlagsApplier::new(flags.clone());
        let set = |percent| Action::SetRollout {
            flag: "f".into(),
            percent,
            reason: "plan".into(),
            at_ms: 0,
        };
        applier.apply(&set(5)).await.unwrap();
        let at5 = users_on(&flags, "f");
        assert!((50..150).contains(&at5.len()), "{} of 2000", at5.len());
        applier.apply(&set(25)).await.unwrap();
        let at25 = users_on(&flags, "f");
        assert!(at5.iter().all(|u| at25.contains(u)));
        applier
            .apply(&Action::Kill {
                flag: "f".into(),
                reason: "guard".into(),
            })
            .await
            .unwrap();
        assert!(users_on(&flags, "f").is_empty());
        applier.apply(&set(5)).await.unwrap();
        assert_eq!(users_on(&flags, "f"), at5);
    }

    #[tokio::test]
    async fn an_unknown_flag_is_an_error() {
        let flags = Flags::from_unleash_json(r#"{"features": []}"#).unwrap();
        let e = FlagsApplier::new(flags)
            .apply(&Action::Kill {
                flag: "nope".into(),
                reason: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "flag `nope`: no such flag");
    }
}
