//! What the guard does to a flag, and the one place that does it.
//!
//! The guard decides; an [`Applier`] changes the flag. An [`Action`] is an
//! [`Edit`] from the edit vocabulary (a kill, a plan step, an operator's
//! plan operation) and the reason for it. [`FlagsApplier`](super::FlagsApplier) commits it
//! through the [`Flags`] handle's writer, so that every instance sharing
//! the store stops serving a killed arm, and the change is audited with its
//! reason.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use crate::edit::Edit;
use crate::model::Feature;

/// The guard's actions carry an operator's plan operations.
pub use crate::edit::PlanOp;

/// A change the guard wants made to a flag, and why.
///
/// The guard makes three kinds: [`Edit::Kill`] (the new arm is worse),
/// [`Edit::PlanStep`] (a plan's next step, or its first on a restart) and
/// [`Edit::PlanOp`] (an operator paused, resumed or abandoned a plan).
///
/// ```
/// use flags_middleware::edit::Edit;
/// use flags_middleware::guard::Action;
///
/// let action = Action::new(Edit::kill("new_checkout_flow"), "guard: new arm 30.0% errors");
/// assert_eq!(action.flag(), "new_checkout_flow");
/// assert_eq!(action.edit(), &Edit::kill("new_checkout_flow"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    edit: Edit,
    reason: String,
    judged: Option<Box<Feature>>,
    by: Option<String>,
    expected_version: Option<u64>,
}

impl Action {
    /// `edit`, made for `reason` (for the audit log: the figures that
    /// triggered a kill, the plan step taken).
    ///
    /// ```
    /// use flags_middleware::edit::Edit;
    /// use flags_middleware::guard::Action;
    ///
    /// let step = Action::new(Edit::plan_step("f", 25, 1_735_689_600_000), "plan: 5% -> 25%");
    /// assert_eq!(step.flag(), "f");
    /// assert!(step.judged().is_none()); // made whatever the flag's definition is by then
    /// ```
    pub fn new(edit: Edit, reason: impl Into<String>) -> Action {
        Action {
            edit,
            reason: reason.into(),
            judged: None,
            by: None,
            expected_version: None,
        }
    }

    /// Made for an operator (a plan paused through the admin API), who is
    /// then the audit log's actor rather than the guard.
    ///
    /// ```
    /// use flags_middleware::edit::{Edit, PlanOp};
    /// use flags_middleware::guard::{Action, Applier, FlagsApplier};
    /// use flags_middleware::Flags;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[f]\nrollout = 5\nplan = \"gradual\"\n", "flags.toml").unwrap();
    /// let pause = Action::new(Edit::plan_op("f", PlanOp::Pause, 0), "plan: paused by ops").by("ops");
    /// assert_eq!(pause.actor(), Some("ops"));
    /// FlagsApplier::new(flags.clone()).apply(&pause).await.unwrap();
    /// assert_eq!(flags.audit_log(0, 1).unwrap()[0].actor, "ops");
    /// # }
    /// ```
    #[must_use]
    pub fn by(mut self, actor: impl Into<String>) -> Action {
        self.by = Some(actor.into());
        self
    }

    /// The operator the action is made for, if any ([`Action::by`]).
    ///
    /// ```
    /// use flags_middleware::edit::Edit;
    /// use flags_middleware::guard::Action;
    ///
    /// assert_eq!(Action::new(Edit::kill("f"), "guard: ...").actor(), None); // the guard's own
    /// ```
    pub fn actor(&self) -> Option<&str> {
        self.by.as_deref()
    }

    /// Refused unless the flags are at `version` when it is applied (an
    /// operator's `If-Match`): [`FlagsApplier`](super::FlagsApplier) commits it as
    /// [`Commit::if_version`](crate::edit::Commit::if_version), and a refusal says the version the flags
    /// were at ([`ApplyError::current_version`]).
    ///
    /// ```
    /// use flags_middleware::edit::Edit;
    /// use flags_middleware::guard::{Action, Applier, FlagsApplier};
    /// use flags_middleware::Flags;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
    /// let kill = Action::new(Edit::kill("f"), "ops saw version 7").if_version(7);
    /// assert_eq!(kill.expected_version(), Some(7));
    /// let refused = FlagsApplier::new(flags.clone()).apply(&kill).await.unwrap_err();
    /// assert_eq!(refused.current_version, Some(1));
    /// # }
    /// ```
    #[must_use]
    pub fn if_version(mut self, version: u64) -> Action {
        self.expected_version = Some(version);
        self
    }

    /// The version the action expects the flags at, if any
    /// ([`Action::if_version`]).
    ///
    /// ```
    /// use flags_middleware::edit::Edit;
    /// use flags_middleware::guard::Action;
    ///
    /// assert_eq!(Action::new(Edit::kill("f"), "guard").expected_version(), None);
    /// ```
    pub fn expected_version(&self) -> Option<u64> {
        self.expected_version
    }

    /// Makes the action only while the flag's definition is still
    /// `definition`, the one the guard judged: a verdict is acted on once,
    /// by whichever instance sharing the store gets there first, and never
    /// on a flag that changed since (killed already, re-enabled by an
    /// operator). [`FlagsApplier`](super::FlagsApplier) commits it as
    /// [`Commit::unless_changed_from`](crate::edit::Commit::unless_changed_from).
    ///
    /// ```
    /// use flags_middleware::edit::Edit;
    /// use flags_middleware::guard::Action;
    /// use flags_middleware::Flags;
    ///
    /// let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "x").unwrap();
    /// let judged = flags.snapshot().feature("f").unwrap();
    /// let action = Action::new(Edit::kill("f"), "guard").unless_changed_from(judged.clone());
    /// assert_eq!(action.judged(), Some(&judged));
    /// ```
    #[must_use]
    pub fn unless_changed_from(mut self, definition: Feature) -> Action {
        self.judged = Some(Box::new(definition));
        self
    }

    /// The definition the action is conditioned on, if any.
    ///
    /// ```
    /// use flags_middleware::edit::Edit;
    /// use flags_middleware::guard::Action;
    /// use flags_middleware::Flags;
    ///
    /// let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
    /// let kill = Action::new(Edit::kill("f"), "guard");
    /// assert!(kill.judged().is_none());
    /// let kill = kill.unless_changed_from(flags.snapshot().feature("f").unwrap());
    /// assert_eq!(kill.judged().unwrap().rollout_percent(), Some(5));
    /// ```
    pub fn judged(&self) -> Option<&Feature> {
        self.judged.as_deref()
    }

    /// The change.
    ///
    /// ```
    /// use flags_middleware::edit::Edit;
    /// use flags_middleware::guard::Action;
    ///
    /// let step = Action::new(Edit::plan_step("f", 25, 0), "plan");
    /// assert!(matches!(step.edit(), Edit::PlanStep { percent: 25, .. }));
    /// assert_eq!(step.edit().action(), "rollout"); // as the audit log names it
    /// ```
    pub fn edit(&self) -> &Edit {
        &self.edit
    }

    /// The flag changed.
    ///
    /// ```
    /// use flags_middleware::edit::Edit;
    /// use flags_middleware::guard::Action;
    ///
    /// let kill = Action::new(Edit::kill("new_checkout_flow"), "guard");
    /// assert_eq!(kill.flag(), "new_checkout_flow");
    /// ```
    pub fn flag(&self) -> &str {
        self.edit.flag()
    }

    /// Why, for the audit log.
    ///
    /// [`FlagsApplier`](super::FlagsApplier) commits it as the audit entry's message:
    ///
    /// ```
    /// use flags_middleware::edit::Edit;
    /// use flags_middleware::guard::{Action, Applier, FlagsApplier};
    /// use flags_middleware::Flags;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
    /// let kill = Action::new(Edit::kill("f"), "guard: new arm 30.0% errors over 50 requests");
    /// FlagsApplier::new(flags.clone()).apply(&kill).await.unwrap();
    /// let entry = &flags.audit_log(0, 1).unwrap()[0];
    /// assert_eq!(entry.message.as_deref(), Some(kill.reason()));
    /// # }
    /// ```
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// An action that could not be applied.
///
/// ```
/// use flags_middleware::edit::Edit;
/// use flags_middleware::guard::{Action, Applier, FlagsApplier};
/// use flags_middleware::Flags;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
/// let applier = FlagsApplier::new(flags);
/// let error = applier.apply(&Action::new(Edit::kill("gone"), "guard")).await.unwrap_err();
/// assert_eq!(error.flag, "gone");
/// assert_eq!(error.to_string(), "flag `gone`: no such flag");
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApplyError {
    /// The flag.
    pub flag: String,
    /// What went wrong.
    pub message: String,
    /// When the action [expected a version](Action::if_version) the flags
    /// were no longer at: the version they were at.
    pub current_version: Option<u64>,
}

impl ApplyError {
    /// An error about `flag`, for an [`Applier`] of your own.
    ///
    /// ```
    /// use flags_middleware::guard::run::ApplyError;
    ///
    /// let error = ApplyError::new("f", "the flags are read-only here");
    /// assert_eq!(error.to_string(), "flag `f`: the flags are read-only here");
    /// ```
    pub fn new(flag: impl Into<String>, message: impl Into<String>) -> Self {
        ApplyError {
            flag: flag.into(),
            message: message.into(),
            current_version: None,
        }
    }
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "flag `{}`: {}", self.flag, self.message)
    }
}

impl std::error::Error for ApplyError {}

/// The future an [`Applier`] returns: the flag set's new version.
///
/// An applier for a read-only deployment, refusing every change: the guard
/// reports a plan step it could not take, and retries it at its next check.
///
/// ```
/// use flags_middleware::guard::run::{Action, Applier, ApplyError, ApplyFuture};
/// use flags_middleware::guard::{EventKind, Guard, GuardConfig, ManualCounts, Plan};
///
/// struct ReadOnly;
///
/// impl Applier for ReadOnly {
///     fn apply<'a>(&'a self, action: &'a Action) -> ApplyFuture<'a> {
///         Box::pin(async move { Err(ApplyError::new(action.flag(), "read-only")) })
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let guard = Guard::builder(ManualCounts::new(), ReadOnly)
///     .plan("f", GuardConfig::new(), Plan::gradual())
///     .build();
/// let events = guard.check().await;
/// assert!(matches!(
///     &events[0].kind,
///     EventKind::AdvanceFailed { to: 5, error } if error == "flag `f`: read-only"
/// ));
/// // Tried again at the next check.
/// let again = guard.check().await;
/// assert!(matches!(again[0].kind, EventKind::AdvanceFailed { to: 5, .. }));
/// # }
/// ```
pub type ApplyFuture<'a> = Pin<Box<dyn Future<Output = Result<u64, ApplyError>> + Send + 'a>>;

/// What applying an action did.
///
/// ```
/// use flags_middleware::edit::Edit;
/// use flags_middleware::guard::{Action, Applier, FlagsApplier};
/// use flags_middleware::Flags;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
/// let applier = FlagsApplier::new(flags);
/// let kill = Action::new(Edit::kill("f"), "guard");
/// let first = applier.apply_checked(&kill).await.unwrap();
/// assert!(first.changed && !first.superseded);
/// // Killing a flag that is already off changes nothing.
/// let again = applier.apply_checked(&kill).await.unwrap();
/// assert!(!again.changed);
/// assert_eq!(again.version, first.version);
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Applied {
    /// The flag set's version after it.
    pub version: u64,
    /// Whether the action changed the flag: `false` when the flag already
    /// was as asked, or when it was superseded.
    pub changed: bool,
    /// Whether the flag had changed from the definition the action was
    /// [judged on](Action::unless_changed_from), so nothing was done
    /// (another instance acted first, or an operator stepped in).
    pub superseded: bool,
}

impl Applied {
    /// `changed` at `version`, not superseded.
    ///
    /// ```
    /// use flags_middleware::guard::Applied;
    ///
    /// // What an applier of your own answers when the flag already was off.
    /// let applied = Applied::new(12, false);
    /// assert!(!applied.superseded); // see `Applied::superseded` for that case
    /// ```
    pub fn new(version: u64, changed: bool) -> Applied {
        Applied {
            version,
            changed,
            superseded: false,
        }
    }

    /// Nothing done at `version`: the flag changed since it was judged.
    ///
    /// [`FlagsApplier`](super::FlagsApplier) answers it when the flag changed under the guard:
    ///
    /// ```
    /// use flags_middleware::edit::Edit;
    /// use flags_middleware::guard::{Action, Applied, Applier, FlagsApplier};
    /// use flags_middleware::Flags;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
    /// let judged = flags.snapshot().feature("f").unwrap();
    /// let applier = FlagsApplier::new(flags.clone());
    /// // Another instance kills the flag first.
    /// applier.apply(&Action::new(Edit::kill("f"), "web-2")).await.unwrap();
    /// let late = Action::new(Edit::kill("f"), "web-1").unless_changed_from(judged);
    /// let applied = applier.apply_checked(&late).await.unwrap();
    /// assert_eq!(applied, Applied::superseded(flags.version()));
    /// # }
    /// ```
    pub fn superseded(version: u64) -> Applied {
        Applied {
            version,
            changed: false,
            superseded: true,
        }
    }
}

/// The future [`Applier::apply_checked`] returns.
///
/// An applier that knows whether an action changed anything overrides
/// `apply_checked`, so that the guard does not count a kill that was
/// already done:
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use flags_middleware::edit::Edit;
/// use flags_middleware::guard::run::{Action, Applied, AppliedFuture, Applier, ApplyFuture};
///
/// struct Switch(AtomicBool);
///
/// impl Applier for Switch {
///     fn apply<'a>(&'a self, action: &'a Action) -> ApplyFuture<'a> {
///         Box::pin(async move { Ok(self.apply_checked(action).await?.version) })
///     }
///     fn apply_checked<'a>(&'a self, _action: &'a Action) -> AppliedFuture<'a> {
///         let was_on = self.0.swap(false, Ordering::SeqCst);
///         Box::pin(async move { Ok(Applied::new(1, was_on)) })
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let switch = Switch(AtomicBool::new(true));
/// let kill = Action::new(Edit::kill("f"), "guard");
/// assert!(switch.apply_checked(&kill).await.unwrap().changed);
/// assert!(!switch.apply_checked(&kill).await.unwrap().changed);
/// # });
/// ```
pub type AppliedFuture<'a> = Pin<Box<dyn Future<Output = Result<Applied, ApplyError>> + Send + 'a>>;

/// Applies the guard's actions.
///
/// An action may name the operator it is made [for](Action::actor) and the
/// [version it expects](Action::expected_version) (a plan paused through the
/// admin API with `If-Match`): [`FlagsApplier`](super::FlagsApplier) commits as that operator and
/// refuses the action when the flags moved on. An applier of your own
/// should do the same; the admin API checks the version before it asks,
/// but only an applier can check it when the change is made.
///
/// An applier of your own, here one that only records what the guard
/// would change (a dry run):
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use flags_middleware::guard::{Action, Applier, Guard, GuardConfig, ManualCounts, Plan};
/// use flags_middleware::guard::run::ApplyFuture;
///
/// #[derive(Clone, Default)]
/// struct DryRun(Arc<Mutex<Vec<String>>>);
///
/// impl Applier for DryRun {
///     fn apply<'a>(&'a self, action: &'a Action) -> ApplyFuture<'a> {
///         let mut seen = self.0.lock().unwrap();
///         seen.push(format!("{}: {}", action.flag(), action.reason()));
///         let version = seen.len() as u64;
///         Box::pin(async move { Ok(version) })
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let dry_run = DryRun::default();
/// let guard = Guard::builder(ManualCounts::new(), dry_run.clone())
///     .plan("new_checkout_flow", GuardConfig::new(), Plan::gradual())
///     .build();
/// guard.check().await;
/// assert_eq!(*dry_run.0.lock().unwrap(), ["new_checkout_flow: plan: start at 5% (step 1 of 4)"]);
/// # }
/// ```
pub trait Applier: Send + Sync + 'static {
    /// Applies `action`; resolves to the new version of the flag set. The
    /// guard retries a failed kill at its next check.
    fn apply<'a>(&'a self, action: &'a Action) -> ApplyFuture<'a>;

    /// Applies `action` and says whether it changed the flag; the guard
    /// calls this one, and counts (and logs) a kill only when it did. The
    /// default calls [`apply`](Self::apply) and counts every success as a
    /// change.
    fn apply_checked<'a>(&'a self, action: &'a Action) -> AppliedFuture<'a> {
        Box::pin(async move { self.apply(action).await.map(|v| Applied::new(v, true)) })
    }
}
