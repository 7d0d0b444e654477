//! The edit vocabulary: every change anyone makes to a flag (an operator
//! through the admin API or the CLI, the rollout guard, a web UI, a sync
//! source) is one [`Edit`], applied to the flag's current definition by one
//! function, [`Edit::apply`]. So "25%" means the same definition whoever
//! asks for it.
//!
//! ```
//! use flags_core::edit::Edit;
//! use flags_core::engine::Change;
//! use flags_core::format::toml;
//!
//! let set = toml::parse("[new_checkout_flow]\nrollout = 5\nwhen = { beta = true }\n", "flags.toml").unwrap();
//! let current = set.feature("new_checkout_flow");
//!
//! let Some(Change::Upsert(next)) = Edit::rollout("new_checkout_flow", 25).apply(current).unwrap() else {
//!     unreachable!()
//! };
//! assert_eq!(next.rollout_percent(), Some(25));
//! assert_eq!(next.strategies[0].constraints, current.unwrap().strategies[0].constraints);
//!
//! // Already so: nothing to change.
//! assert_eq!(Edit::enable("new_checkout_flow").apply(current).unwrap(), None);
//! ```
//!
//! The edits are pure: they read a definition and return the change. The
//! writer in `flags-middleware` (`Flags::writer`) applies them to the live
//! flags, persists the change, and audits it under [`Edit::action`].

mod apply;
mod commit;
mod error;
mod plan;
mod rollout;
mod users;

pub use commit::Commit;
pub use error::EditError;
pub use plan::PlanOp;

use crate::model::{Feature, GuardSpec, PlanSpec};

/// One change to one flag.
///
/// Build one with the constructors ([`Edit::kill`], [`Edit::rollout`]...),
/// apply it to a definition with [`Edit::apply`].
///
/// ```
/// use flags_core::edit::Edit;
/// use flags_core::format::toml;
///
/// let set = toml::parse("[new_checkout_flow]\nrollout = 20\n", "flags.toml").unwrap();
/// let current = set.feature("new_checkout_flow");
/// // The change it makes to that definition (`None`: already so).
/// let change = Edit::rollout("new_checkout_flow", 50).apply(current).unwrap();
/// assert!(change.is_some());
/// assert_eq!(Edit::kill("new_checkout_flow").action(), "kill");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Edit {
    /// A new flag; refused if one by this name exists.
    Create(Feature),
    /// A whole new definition for an existing flag.
    Replace(Feature),
    /// Delete the flag (refused by the engine while others require it).
    Delete(String),
    /// Off for everyone (`enabled = false`); the strategies stay, so
    /// [`Enable`](Edit::Enable) brings back the same users.
    Kill(String),
    /// On again (`enabled = true`), for whoever the strategies pick.
    Enable(String),
    /// Marks the flag stale (Unleash's `stale`: due for removal from the
    /// code), leaving the rest of its live definition as it is.
    MarkStale(String),
    /// Sets the flag's rollout to `percent`. **The one rollout rule:**
    ///
    /// * A flag with percentage strategies (`flexibleRollout`, the gradual
    ///   rollouts): every one gets `percent`, keeping its stickiness, group
    ///   id, constraints and segments; but only when they agree now (their
    ///   percentages are all equal: that is the flag's percentage,
    ///   [`Feature::rollout_percent`]). When they disagree the edit is
    ///   refused, naming the flag and field `rollout`: which one is meant
    ///   is for a new definition ([`Replace`](Edit::Replace)) to say.
    /// * Else every `default` strategy becomes a `flexibleRollout` at
    ///   `percent` (stickiness `default`, group id the flag's name), keeping
    ///   its constraints and segments: a flag with only `when` becomes
    ///   `when` + `rollout` in the TOML format. With no `default` strategy,
    ///   a `flexibleRollout` at `percent` without constraints is added after
    ///   the targeted strategies (user lists stay).
    /// * `enabled` is left alone: a killed flag stays off until
    ///   [`Enable`](Edit::Enable), then comes back at the new percentage.
    ///
    /// Percentages are sticky, so raising one never turns a user off and
    /// going back down and up gives the same users.
    Rollout {
        /// The flag.
        flag: String,
        /// 0 to 100.
        percent: u32,
    },
    /// Sets the flag's user list: the one `userWithId` strategy's list is
    /// replaced; a flag without one gets one, first; a flag with several is
    /// refused (field `users`). Ids cannot be empty, hold a comma, or start
    /// or end with spaces (field `users[i]`).
    Users {
        /// The flag.
        flag: String,
        /// The user ids.
        users: Vec<String>,
    },
    /// The rollout guard watches the flag with these settings (`None`:
    /// stops watching it, and its plan goes too).
    Guard {
        /// The flag.
        flag: String,
        /// The settings, checked ([`GuardSpec::config`]); `None` to opt out.
        spec: Option<Box<GuardSpec>>,
    },
    /// The guard walks this progressive plan (`None`: no more plan; the
    /// flag stays as it is, guarded).
    Plan {
        /// The flag.
        flag: String,
        /// The plan, checked ([`PlanSpec::plan`]); `None` to remove it.
        spec: Option<Box<PlanSpec>>,
    },
    /// What a plan's step does: the flag on
    /// ([`Enable`](Edit::Enable)), its rollout at `percent` by the rollout
    /// rule ([`Rollout`](Edit::Rollout)), and the step's start recorded in
    /// the definition's plan (running, from `at_ms`).
    PlanStep {
        /// The flag.
        flag: String,
        /// 0 to 100.
        percent: u32,
        /// When the step begins, in milliseconds since the Unix epoch.
        at_ms: u64,
    },
    /// An operator's plan operation, recorded in the definition's plan: a
    /// pause keeps how much of the step had passed, a resume moves the
    /// step's start forward, an abandon removes the plan (the flag stays
    /// guarded). [`PlanOp::Restart`] changes nothing here: a restart is a
    /// [`PlanStep`](Edit::PlanStep) to the first step. The operation is
    /// always recorded (a new version, audited), even on a flag whose plan
    /// is set in code and not in its definition.
    PlanOp {
        /// The flag.
        flag: String,
        /// The operation.
        op: PlanOp,
        /// When, in milliseconds since the Unix epoch.
        at_ms: u64,
    },
}

impl Edit {
    /// Creates `feature`: [`Edit::Create`].
    ///
    /// ```
    /// use flags_core::{edit::{Edit, EditError}, engine::Change, model::Feature};
    ///
    /// let beta = Feature { name: "beta_search".into(), enabled: true, ..Feature::default() };
    /// let change = Edit::create(beta.clone()).apply(None).unwrap();
    /// assert_eq!(change, Some(Change::Upsert(beta.clone())));
    /// // Creating a flag that exists is an error, not a silent replace.
    /// let e = Edit::create(beta.clone()).apply(Some(&beta)).unwrap_err();
    /// assert!(matches!(e, EditError::AlreadyExists { .. }));
    /// ```
    pub fn create(feature: Feature) -> Edit {
        Edit::Create(feature)
    }

    /// Replaces the definition of `feature.name`: [`Edit::Replace`].
    ///
    /// ```
    /// use flags_core::{edit::Edit, engine::Change, format::toml};
    ///
    /// let old = toml::parse("[a]\nrollout = 5\n", "flags.toml").unwrap();
    /// let new = toml::parse("[a]\nusers = [\"ann\"]\n", "flags.toml").unwrap();
    /// let edit = Edit::replace(new.features[0].clone());
    /// assert!(!edit.is_derived()); // the whole definition, not a change to the current one
    /// let Some(Change::Upsert(next)) = edit.apply(old.feature("a")).unwrap() else { panic!() };
    /// assert_eq!(next.strategies[0].name, "userWithId");
    /// ```
    pub fn replace(feature: Feature) -> Edit {
        Edit::Replace(feature)
    }

    /// Deletes `flag`: [`Edit::Delete`].
    ///
    /// ```
    /// use flags_core::{edit::{Edit, EditError}, engine::Change, format::toml};
    ///
    /// let set = toml::parse("[old_banner]\n", "flags.toml").unwrap();
    /// let change = Edit::delete("old_banner").apply(set.feature("old_banner")).unwrap();
    /// assert_eq!(change, Some(Change::Remove("old_banner".into())));
    /// let e = Edit::delete("typo").apply(set.feature("typo")).unwrap_err();
    /// assert!(matches!(e, EditError::NoSuchFlag { .. }));
    /// ```
    pub fn delete(flag: impl Into<String>) -> Edit {
        Edit::Delete(flag.into())
    }

    /// Turns `flag` off for everyone: [`Edit::Kill`].
    ///
    /// ```
    /// use flags_core::{edit::Edit, engine::Change, format::toml};
    ///
    /// let set = toml::parse("[legacy_api]\nrollout = 20\n", "flags.toml").unwrap();
    /// let current = set.feature("legacy_api");
    /// let Some(Change::Upsert(off)) = Edit::kill("legacy_api").apply(current).unwrap() else { panic!() };
    /// assert!(!off.enabled);
    /// assert_eq!(off.rollout_percent(), Some(20)); // kept for when it comes back
    /// ```
    pub fn kill(flag: impl Into<String>) -> Edit {
        Edit::Kill(flag.into())
    }

    /// Turns `flag` on again: [`Edit::Enable`].
    ///
    /// ```
    /// use flags_core::{edit::Edit, engine::Change, format::toml};
    ///
    /// let set = toml::parse("[legacy_api]\nenabled = false\nrollout = 20\n", "flags.toml").unwrap();
    /// let Some(Change::Upsert(on)) = Edit::enable("legacy_api").apply(set.feature("legacy_api")).unwrap() else {
    ///     panic!()
    /// };
    /// assert!(on.enabled);
    /// assert_eq!(on.rollout_percent(), Some(20)); // back to the same 20% of users
    /// assert_eq!(Edit::enable("legacy_api").apply(Some(&on)).unwrap(), None); // already on
    /// ```
    pub fn enable(flag: impl Into<String>) -> Edit {
        Edit::Enable(flag.into())
    }

    /// Marks `flag` stale: [`Edit::MarkStale`].
    ///
    /// ```
    /// use flags_core::{edit::Edit, engine::Change, format::toml};
    ///
    /// let set = toml::parse("[old_banner]\nenabled = false\n", "flags.toml").unwrap();
    /// let current = set.feature("old_banner");
    /// let Some(Change::Upsert(marked)) = Edit::mark_stale("old_banner").apply(current).unwrap() else {
    ///     panic!()
    /// };
    /// assert!(marked.stale && !marked.enabled); // only the mark changed
    /// assert_eq!(Edit::mark_stale("old_banner").apply(Some(&marked)).unwrap(), None);
    /// assert!(Edit::mark_stale("old_banner").is_derived()); // applied to the live definition
    /// ```
    pub fn mark_stale(flag: impl Into<String>) -> Edit {
        Edit::MarkStale(flag.into())
    }

    /// Sets `flag`'s rollout to `percent`, by the one rollout rule:
    /// [`Edit::Rollout`].
    ///
    /// ```
    /// use flags_core::{edit::Edit, engine::Change, format::toml};
    ///
    /// let set = toml::parse("[new_checkout_flow]\nrollout = 5\n", "flags.toml").unwrap();
    /// let current = set.feature("new_checkout_flow");
    /// let Some(Change::Upsert(next)) = Edit::rollout("new_checkout_flow", 25).apply(current).unwrap() else {
    ///     panic!()
    /// };
    /// assert_eq!(next.rollout_percent(), Some(25));
    /// let e = Edit::rollout("new_checkout_flow", 150).apply(current).unwrap_err();
    /// assert_eq!(e.field(), Some("rollout"));
    /// ```
    pub fn rollout(flag: impl Into<String>, percent: u32) -> Edit {
        Edit::Rollout {
            flag: flag.into(),
            percent,
        }
    }

    /// Sets `flag`'s user list: [`Edit::Users`].
    ///
    /// ```
    /// # use flags_core::edit::Edit;
    /// let edit = Edit::users("ai_recommendations", ["user_123", "user_789"]);
    /// assert_eq!(edit.action(), "users");
    /// ```
    pub fn users<I>(flag: impl Into<String>, users: I) -> Edit
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        Edit::Users {
            flag: flag.into(),
            users: users.into_iter().map(Into::into).collect(),
        }
    }

    /// The guard watches `flag` with `spec`: [`Edit::Guard`].
    ///
    /// ```
    /// use flags_core::{edit::Edit, engine::Change, format::toml};
    ///
    /// let set = toml::parse("[a]\nrollout = 5\n", "flags.toml").unwrap();
    /// let spec = serde_json::from_str(r#"{"minRequests": 100}"#).unwrap();
    /// let Some(Change::Upsert(guarded)) = Edit::guard("a", spec).apply(set.feature("a")).unwrap() else {
    ///     panic!()
    /// };
    /// assert_eq!(guarded.guard.unwrap().min_requests, Some(100));
    /// // Settings the guard cannot work with are refused, by field.
    /// let bad = serde_json::from_str(r#"{"alpha": 2.0}"#).unwrap();
    /// assert_eq!(Edit::guard("a", bad).apply(set.feature("a")).unwrap_err().field(), Some("guard.alpha"));
    /// ```
    pub fn guard(flag: impl Into<String>, spec: GuardSpec) -> Edit {
        Edit::Guard {
            flag: flag.into(),
            spec: Some(Box::new(spec)),
        }
    }

    /// The guard stops watching `flag` (its plan goes too): [`Edit::Guard`]
    /// with no settings.
    ///
    /// ```
    /// use flags_core::{edit::Edit, engine::Change, format::toml};
    ///
    /// let set = toml::parse("[a]\nrollout = 5\nguard = true\nplan = \"gradual\"\n", "flags.toml").unwrap();
    /// let Some(Change::Upsert(next)) = Edit::unguard("a").apply(set.feature("a")).unwrap() else { panic!() };
    /// assert!(next.guard.is_none() && next.plan.is_none());
    /// ```
    pub fn unguard(flag: impl Into<String>) -> Edit {
        Edit::Guard {
            flag: flag.into(),
            spec: None,
        }
    }

    /// The guard walks `spec` on `flag`: [`Edit::Plan`].
    ///
    /// ```
    /// use flags_core::{edit::Edit, engine::Change, format::toml, model::PlanSpec};
    ///
    /// let set = toml::parse("[a]\nrollout = 5\n", "flags.toml").unwrap();
    /// let plan = PlanSpec::from_steps([(5, 3_600_000), (50, 3_600_000), (100, 0)]);
    /// let Some(Change::Upsert(next)) = Edit::plan("a", plan.clone()).apply(set.feature("a")).unwrap() else {
    ///     panic!()
    /// };
    /// assert_eq!(next.plan.as_deref(), Some(&plan));
    /// // Steps must go up.
    /// let down = PlanSpec::from_steps([(50, 0), (5, 0)]);
    /// assert_eq!(Edit::plan("a", down).apply(set.feature("a")).unwrap_err().field(), Some("plan"));
    /// ```
    pub fn plan(flag: impl Into<String>, spec: PlanSpec) -> Edit {
        Edit::Plan {
            flag: flag.into(),
            spec: Some(Box::new(spec)),
        }
    }

    /// No more plan on `flag`; it stays guarded: [`Edit::Plan`] with none.
    ///
    /// ```
    /// use flags_core::{edit::Edit, engine::Change, format::toml};
    ///
    /// let set = toml::parse("[a]\nrollout = 5\nguard = true\nplan = \"gradual\"\n", "flags.toml").unwrap();
    /// let Some(Change::Upsert(next)) = Edit::remove_plan("a").apply(set.feature("a")).unwrap() else {
    ///     panic!()
    /// };
    /// assert!(next.plan.is_none() && next.guard.is_some());
    /// ```
    pub fn remove_plan(flag: impl Into<String>) -> Edit {
        Edit::Plan {
            flag: flag.into(),
            spec: None,
        }
    }

    /// A plan step to `percent`, begun at `at_ms`: [`Edit::PlanStep`].
    ///
    /// ```
    /// use flags_core::{edit::Edit, engine::Change, format::toml};
    ///
    /// let set = toml::parse("[a]\nrollout = 5\nplan = \"gradual\"\n", "flags.toml").unwrap();
    /// let step = Edit::plan_step("a", 25, 1_700_000_000_000);
    /// assert_eq!(step.action(), "rollout");
    /// let Some(Change::Upsert(next)) = step.apply(set.feature("a")).unwrap() else { panic!() };
    /// assert_eq!(next.rollout_percent(), Some(25));
    /// assert_eq!(next.plan.unwrap().started_ms, Some(1_700_000_000_000));
    /// ```
    pub fn plan_step(flag: impl Into<String>, percent: u32, at_ms: u64) -> Edit {
        Edit::PlanStep {
            flag: flag.into(),
            percent,
            at_ms,
        }
    }

    /// An operator's plan operation, done at `at_ms`: [`Edit::PlanOp`].
    ///
    /// ```
    /// use flags_core::{edit::{Edit, PlanOp}, engine::Change, format::toml};
    ///
    /// let set = toml::parse("[a]\nrollout = 5\nplan = \"gradual\"\n", "flags.toml").unwrap();
    /// let pause = Edit::plan_op("a", PlanOp::Pause, 1_700_000_000_000);
    /// let Some(Change::Upsert(next)) = pause.apply(set.feature("a")).unwrap() else { panic!() };
    /// assert!(next.plan.unwrap().paused);
    /// ```
    pub fn plan_op(flag: impl Into<String>, op: PlanOp, at_ms: u64) -> Edit {
        Edit::PlanOp {
            flag: flag.into(),
            op,
            at_ms,
        }
    }

    /// The flag the edit changes.
    ///
    /// ```
    /// use flags_core::{edit::Edit, model::Feature};
    ///
    /// assert_eq!(Edit::rollout("new_checkout_flow", 25).flag(), "new_checkout_flow");
    /// let beta = Feature { name: "beta_search".into(), ..Feature::default() };
    /// assert_eq!(Edit::create(beta).flag(), "beta_search");
    /// ```
    pub fn flag(&self) -> &str {
        match self {
            Edit::Create(f) | Edit::Replace(f) => &f.name,
            Edit::Delete(flag) | Edit::Kill(flag) | Edit::Enable(flag) | Edit::MarkStale(flag) => {
                flag
            }
            Edit::Rollout { flag, .. }
            | Edit::Users { flag, .. }
            | Edit::Guard { flag, .. }
            | Edit::Plan { flag, .. }
            | Edit::PlanStep { flag, .. }
            | Edit::PlanOp { flag, .. } => flag,
        }
    }

    /// The verb the audit log records: `create`, `replace`, `delete`,
    /// `kill`, `enable`, `rollout 25%`, `users`, `guard` / `unguard`,
    /// `plan` / `no plan`, `rollout` (a plan step), `plan pause`...
    ///
    /// ```
    /// # use flags_core::edit::{Edit, PlanOp};
    /// assert_eq!(Edit::rollout("a", 25).action(), "rollout 25%");
    /// assert_eq!(Edit::plan_op("a", PlanOp::Pause, 0).action(), "plan pause");
    /// ```
    pub fn action(&self) -> String {
        match self {
            Edit::Create(_) => "create".into(),
            Edit::Replace(_) => "replace".into(),
            Edit::Delete(_) => "delete".into(),
            Edit::Kill(_) => "kill".into(),
            Edit::Enable(_) => "enable".into(),
            Edit::MarkStale(_) => "mark stale".into(),
            Edit::Rollout { percent, .. } => format!("rollout {percent}%"),
            Edit::Users { .. } => "users".into(),
            Edit::Guard { spec: Some(_), .. } => "guard".into(),
            Edit::Guard { spec: None, .. } => "unguard".into(),
            Edit::Plan { spec: Some(_), .. } => "plan".into(),
            Edit::Plan { spec: None, .. } => "no plan".into(),
            Edit::PlanStep { .. } => "rollout".into(),
            Edit::PlanOp { op, .. } => format!("plan {}", op.as_str()),
        }
    }

    /// Whether the change is derived from the flag's current definition (a
    /// kill, a rollout...), rather than replacing it whole
    /// ([`Create`](Edit::Create), [`Replace`](Edit::Replace),
    /// [`Delete`](Edit::Delete)). A writer that loses a race to another may
    /// apply a derived edit again to the newer definition; a whole
    /// definition applied again would undo the other writer's change.
    ///
    /// ```
    /// use flags_core::{edit::Edit, format::toml};
    ///
    /// // Another writer raised `a` to 50% first: a kill still applies on top of it.
    /// let newer = toml::parse("[a]\nrollout = 50\n", "flags.toml").unwrap();
    /// assert!(Edit::kill("a").is_derived());
    /// assert!(Edit::kill("a").apply(newer.feature("a")).unwrap().is_some());
    /// assert!(!Edit::delete("a").is_derived());
    /// ```
    pub fn is_derived(&self) -> bool {
        !matches!(self, Edit::Create(_) | Edit::Replace(_) | Edit::Delete(_))
    }
}
