//! A progressive plan's operations and clock, as recorded in a flag's
//! definition (its `plan`), so every instance sharing a store and a
//! restarted one follow the same plan.

use std::fmt;

use crate::model::Feature;

/// An operator's operation on a flag's progressive plan (the admin API's
/// `POST /{name}/plan/{op}`).
///
/// ```
/// use flags_core::edit::PlanOp;
///
/// let op: PlanOp = "pause".parse().unwrap();
/// assert_eq!(op, PlanOp::Pause);
/// assert_eq!(op.as_str(), "pause");
/// assert!("explode".parse::<PlanOp>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
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
    /// Every operation.
    ///
    /// ```
    /// use flags_core::edit::PlanOp;
    ///
    /// // E.g. to list the admin API's plan routes: each name reads back as its operation.
    /// let routes: Vec<_> = PlanOp::ALL.iter().map(|op| format!("/f/plan/{op}")).collect();
    /// assert_eq!(routes[0], "/f/plan/pause");
    /// for op in PlanOp::ALL {
    ///     assert_eq!(op.as_str().parse::<PlanOp>(), Ok(op));
    ///     assert_eq!(serde_json::to_value(op).unwrap(), op.as_str()); // the audit log's JSON
    /// }
    /// ```
    pub const ALL: [PlanOp; 4] = [
        PlanOp::Pause,
        PlanOp::Resume,
        PlanOp::Restart,
        PlanOp::Abandon,
    ];

    /// The operation's name in the admin API's path and the audit log.
    ///
    /// ```
    /// use flags_core::edit::PlanOp;
    ///
    /// let names: Vec<_> = PlanOp::ALL.iter().map(|op| op.as_str()).collect();
    /// assert_eq!(names, ["pause", "resume", "restart", "abandon"]);
    /// assert_eq!(PlanOp::Restart.as_str().parse::<PlanOp>(), Ok(PlanOp::Restart));
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            PlanOp::Pause => "pause",
            PlanOp::Resume => "resume",
            PlanOp::Restart => "restart",
            PlanOp::Abandon => "abandon",
        }
    }
}

impl fmt::Display for PlanOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for PlanOp {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PlanOp::ALL
            .into_iter()
            .find(|op| op.as_str() == s)
            .ok_or_else(|| {
                format!("`{s}` is not a plan operation: pause, resume, restart or abandon")
            })
    }
}

/// A plan step (or a restart) begins at `at_ms`: the plan in the
/// definition, if any, runs from then.
pub(super) fn start_step(feature: &mut Feature, at_ms: u64) {
    if let Some(plan) = &mut feature.plan {
        plan.paused = false;
        plan.started_ms = Some(at_ms);
        plan.done_ms = None;
    }
}

/// Records `op`, done at `at_ms`, in the definition's plan. A pause keeps
/// how much of the step had passed; a resume moves the step's start
/// forward by the pause. A restart changes nothing here: it is a
/// [`PlanStep`](super::Edit::PlanStep) to the first step.
pub(super) fn record_op(feature: &mut Feature, op: PlanOp, at_ms: u64) {
    match (op, &mut feature.plan) {
        (PlanOp::Pause, Some(plan)) if !plan.paused => {
            plan.paused = true;
            plan.done_ms = plan.started_ms.take().map(|s| at_ms.saturating_sub(s));
        }
        (PlanOp::Resume, Some(plan)) if plan.paused => {
            plan.paused = false;
            plan.started_ms = Some(at_ms.saturating_sub(plan.done_ms.take().unwrap_or(0)));
        }
        (PlanOp::Abandon, _) => remove_plan(feature),
        _ => {}
    }
}

/// No more plan; a flag that had one stays guarded (with the default
/// settings unless it has its own).
pub(super) fn remove_plan(feature: &mut Feature) {
    if feature.plan.take().is_some() && feature.guard.is_none() {
        feature.guard = Some(Box::default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PlanSpec;

    fn planned() -> Feature {
        Feature {
            name: "f".into(),
            plan: Some(Box::new(PlanSpec::from_steps([(5, 1000), (100, 0)]))),
            ..Feature::default()
        }
    }

    #[test]
    fn a_pause_keeps_the_time_done_and_a_resume_moves_the_start() {
        let mut f = planned();
        start_step(&mut f, 10_000);
        record_op(&mut f, PlanOp::Pause, 10_400);
        let plan = f.plan.as_deref().unwrap();
        assert!(plan.paused);
        assert_eq!((plan.started_ms, plan.done_ms), (None, Some(400)));
        // Pausing twice changes nothing.
        let before = f.clone();
        record_op(&mut f, PlanOp::Pause, 99_999);
        assert_eq!(f, before);
        record_op(&mut f, PlanOp::Resume, 50_000);
        let plan = f.plan.as_deref().unwrap();
        assert!(!plan.paused);
        assert_eq!((plan.started_ms, plan.done_ms), (Some(49_600), None));
    }

    #[test]
    fn abandoning_keeps_the_flag_guarded() {
        let mut f = planned();
        record_op(&mut f, PlanOp::Abandon, 0);
        assert!(f.plan.is_none());
        assert!(f.guard.is_some());
        let mut unplanned = Feature::default();
        record_op(&mut unplanned, PlanOp::Abandon, 0);
        assert_eq!(unplanned, Feature::default());
    }

    #[test]
    fn a_step_runs_from_its_start() {
        let mut f = planned();
        record_op(&mut f, PlanOp::Pause, 5);
        start_step(&mut f, 7_000);
        let plan = f.plan.as_deref().unwrap();
        assert_eq!(
            (plan.paused, plan.started_ms, plan.done_ms),
            (false, Some(7_000), None)
        );
    }
}
