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
    pub fn create(feature: Feature) -> Edit {
        Edit::Create(feature)
    }

    /// Replaces the definition of `feature.name`: [`Edit::Replace`].
    pub fn replace(feature: Feature) -> Edit {
        Edit::Replace(feature)
    }

    /// Deletes `flag`: [`Edit::Delete`].
    pub fn delete(flag: impl Into<String>) -> Edit {
        Edit::Delete(flag.into())
    }

    /// Turns `flag` off for everyone: [`Edit::Kill`].
    ///
    /// ```
    /// # use flags_core::edit::Edit;
    /// assert_eq!(Edit::kill("legacy_api"), Edit::Kill("legacy_api".into()));
    /// ```
    pub fn kill(flag: impl Into<String>) -> Edit {
        Edit::Kill(flag.into())
    }

    /// Turns `flag` on again: [`Edit::Enable`].
    pub fn enable(flag: impl Into<String>) -> Edit {
        Edit::Enable(flag.into())
    }

    /// Sets `flag`'s rollout to `percent`, by the one rollout rule:
    /// [`Edit::Rollout`].
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
    pub fn guard(flag: impl Into<String>, spec: GuardSpec) -> Edit {
        Edit::Guard {
            flag: flag.into(),
            spec: Some(Box::new(spec)),
        }
    }

    /// The guard stops watching `flag` (its plan goes too): [`Edit::Guard`]
    /// with no settings.
    pub fn unguard(flag: impl Into<String>) -> Edit {
        Edit::Guard {
            flag: flag.into(),
            spec: None,
        }
    }

    /// The guard walks `spec` on `flag`: [`Edit::Plan`].
    pub fn plan(flag: impl Into<String>, spec: PlanSpec) -> Edit {
        Edit::Plan {
            flag: flag.into(),
            spec: Some(Box::new(spec)),
        }
    }

    /// No more plan on `flag`; it stays guarded: [`Edit::Plan`] with none.
    pub fn remove_plan(flag: impl Into<String>) -> Edit {
        Edit::Plan {
            flag: flag.into(),
            spec: None,
        }
    }

    /// A plan step to `percent`, begun at `at_ms`: [`Edit::PlanStep`].
    pub fn plan_step(flag: impl Into<String>, percent: u32, at_ms: u64) -> Edit {
        Edit::PlanStep {
            flag: flag.into(),
            percent,
            at_ms,
        }
    }

    /// An operator's plan operation, done at `at_ms`: [`Edit::PlanOp`].
    pub fn plan_op(flag: impl Into<String>, op: PlanOp, at_ms: u64) -> Edit {
        Edit::PlanOp {
            flag: flag.into(),
            op,
            at_ms,
        }
    }

    /// The flag the edit changes.
    pub fn flag(&self) -> &str {
        match self {
            Edit::Create(f) | Edit::Replace(f) => &f.name,
            Edit::Delete(flag) | Edit::Kill(flag) | Edit::Enable(flag) => flag,
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
    pub fn is_derived(&self) -> bool {
        !matches!(self, Edit::Create(_) | Edit::Replace(_) | Edit::Delete(_))
    }
}
