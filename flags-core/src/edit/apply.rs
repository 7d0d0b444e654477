//! [`Edit::apply`]: the one function that turns an edit into a change.

use super::error::EditError;
use super::{plan, rollout, users, Edit};
use crate::engine::Change;
use crate::model::Feature;

impl Edit {
    /// Applies the edit to `current`, the flag's definition now (`None`
    /// when there is no such flag), and returns the change to make:
    /// `Ok(None)` when the definition is already as asked.
    ///
    /// The result is checked as far as the edit goes (a percentage, user
    /// ids, guard settings, a plan); the whole definition is checked when
    /// the change is compiled ([`Snapshot::apply`](crate::Snapshot::apply)).
    ///
    /// ```
    /// use flags_core::edit::{Edit, EditError};
    /// use flags_core::engine::Change;
    /// use flags_core::format::toml;
    ///
    /// let set = toml::parse("[a]\n[[a.rules]]\nrollout = 5\n[[a.rules]]\nrollout = 100\n", "x").unwrap();
    /// let e = Edit::rollout("a", 25).apply(set.feature("a")).unwrap_err();
    /// assert_eq!(e.field(), Some("rollout"));
    ///
    /// let set = toml::parse("[a]\n", "x").unwrap();
    /// let change = Edit::kill("a").apply(set.feature("a")).unwrap();
    /// assert!(matches!(change, Some(Change::Upsert(f)) if !f.enabled));
    /// assert_eq!(Edit::delete("a").apply(set.feature("a")).unwrap(), Some(Change::Remove("a".into())));
    /// ```
    ///
    /// # Errors
    /// [`EditError`], naming the flag (and the field): the flag does not
    /// exist (or, to create, does), or the edit cannot be made to it.
    pub fn apply(&self, current: Option<&Feature>) -> Result<Option<Change>, EditError> {
        let Some(old) = current else {
            // A new flag's name is checked with the rest of its definition,
            // by the naming rule (`crate::name`), when the change is compiled.
            return match self {
                Edit::Create(new) => Ok(Some(Change::Upsert(new.clone()))),
                _ => Err(EditError::NoSuchFlag {
                    flag: self.flag().to_owned(),
                }),
            };
        };
        let mut next = old.clone();
        match self {
            Edit::Create(new) => {
                return Err(EditError::AlreadyExists {
                    flag: new.name.clone(),
                })
            }
            Edit::Delete(name) => return Ok(Some(Change::Remove(name.clone()))),
            Edit::Replace(new) => next = new.clone(),
            Edit::Kill(_) => next.enabled = false,
            Edit::Enable(_) => next.enabled = true,
            Edit::MarkStale(_) => next.stale = true,
            Edit::Rollout { percent, .. } => rollout::set_rollout(&mut next, *percent)?,
            Edit::Users { users, .. } => users::set_users(&mut next, users)?,
            Edit::Guard {
                flag,
                spec: Some(spec),
            } => {
                spec.config().map_err(|e| {
                    EditError::invalid(flag, format!("guard.{}", e.field), e.message)
                })?;
                next.guard = Some(spec.clone());
            }
            Edit::Guard { spec: None, .. } => {
                next.guard = None;
                next.plan = None;
            }
            Edit::Plan {
                flag,
                spec: Some(spec),
            } => {
                spec.plan()
                    .map_err(|e| EditError::invalid(flag, "plan", e.message))?;
                next.plan = Some(spec.clone());
            }
            Edit::Plan { spec: None, .. } => plan::remove_plan(&mut next),
            Edit::PlanStep { percent, at_ms, .. } => {
                next.enabled = true;
                rollout::set_rollout(&mut next, *percent)?;
                plan::start_step(&mut next, *at_ms);
            }
            Edit::PlanOp { op, at_ms, .. } => {
                // Always recorded: for a plan set in code the definition is
                // unchanged, and the new version carries the audit entry.
                plan::record_op(&mut next, *op, *at_ms);
                return Ok(Some(Change::Upsert(next)));
            }
        }
        Ok(changed(old, next))
    }
}

/// An upsert of `next`, unless it is what `old` already is.
fn changed(old: &Feature, next: Feature) -> Option<Change> {
    (*old != next).then_some(Change::Upsert(next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::toml;
    use crate::model::{GuardSpec, PlanSpec};

    fn feature(text: &str) -> Feature {
        toml::parse(text, "x").unwrap().features.remove(0)
    }

    fn upserted(edit: Edit, f: &Feature) -> Feature {
        match edit.apply(Some(f)).unwrap() {
            Some(Change::Upsert(next)) => next,
            other => panic!("{edit:?}: {other:?}"),
        }
    }

    #[test]
    fn kill_and_enable_flip_the_switch_only() {
        let f = feature("[a]\nrollout = 5\n");
        let killed = upserted(Edit::kill("a"), &f);
        assert_eq!(
            killed,
            Feature {
                enabled: false,
                ..f.clone()
            }
        );
        assert_eq!(Edit::kill("a").apply(Some(&killed)).unwrap(), None);
        assert_eq!(upserted(Edit::enable("a"), &killed), f);
    }

    #[test]
    fn a_rollout_leaves_a_killed_flag_off_and_a_plan_step_turns_it_on() {
        let f = feature("[a]\nenabled = false\nrollout = 5\nplan = \"gradual\"\n");
        let rolled = upserted(Edit::rollout("a", 25), &f);
        assert!(!rolled.enabled);
        assert_eq!(rolled.rollout_percent(), Some(25));
        assert_eq!(rolled.plan, f.plan);
        let stepped = upserted(Edit::plan_step("a", 25, 1_000), &f);
        assert!(stepped.enabled);
        assert_eq!(
            Feature {
                enabled: false,
                plan: f.plan.clone(),
                ..stepped.clone()
            },
            rolled
        );
        assert_eq!(stepped.plan.unwrap().started_ms, Some(1_000));
    }

    #[test]
    fn create_replace_and_delete_check_existence() {
        let f = feature("[a]\n");
        assert_eq!(
            Edit::create(f.clone()).apply(Some(&f)).unwrap_err(),
            EditError::AlreadyExists { flag: "a".into() }
        );
        assert_eq!(
            Edit::create(f.clone()).apply(None).unwrap(),
            Some(Change::Upsert(f.clone()))
        );
        for edit in [
            Edit::replace(f.clone()),
            Edit::delete("a"),
            Edit::rollout("a", 5),
        ] {
            assert_eq!(
                edit.apply(None).unwrap_err(),
                EditError::NoSuchFlag { flag: "a".into() }
            );
        }
        assert_eq!(Edit::replace(f.clone()).apply(Some(&f)).unwrap(), None);
    }

    #[test]
    fn guard_and_plan_settings_are_checked_and_opting_out_clears_the_plan() {
        let f = feature("[a]\nplan = \"gradual\"\n");
        let bad = GuardSpec {
            min_difference: Some(2.0),
            ..GuardSpec::default()
        };
        let e = Edit::guard("a", bad).apply(Some(&f)).unwrap_err();
        assert_eq!(e.field(), Some("guard.min_difference"));
        let e = Edit::plan("a", PlanSpec::from_steps([(50, 0), (10, 0)]))
            .apply(Some(&f))
            .unwrap_err();
        assert_eq!(e.field(), Some("plan"));
        let out = upserted(Edit::unguard("a"), &f);
        assert_eq!((out.guard, out.plan), (None, None));
        let unplanned = upserted(Edit::remove_plan("a"), &f);
        assert_eq!(unplanned.plan, None);
        assert_eq!(unplanned.guard, Some(Box::default()));
    }

    #[test]
    fn a_plan_operation_is_recorded_even_when_nothing_changes() {
        let f = feature("[a]\n");
        let op = Edit::plan_op("a", crate::edit::PlanOp::Pause, 5);
        assert_eq!(op.apply(Some(&f)).unwrap(), Some(Change::Upsert(f)));
    }
}
