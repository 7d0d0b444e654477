//! [`Commit`]: an edit as handed to a writer, with its conditions.

use super::Edit;
use crate::model::Feature;

/// An [`Edit`] to commit, optionally only against one version (optimistic
/// concurrency: the admin API's `If-Match`) and with a reason for the audit
/// log. Every `Edit` is a `Commit` with neither, so a writer's `commit`
/// takes either.
///
/// ```
/// use flags_core::edit::{Commit, Edit};
///
/// let commit = Edit::kill("new_checkout_flow")
///     .if_version(7)
///     .message("error spike after the 14:02 deploy");
/// assert_eq!(commit.edit, Edit::kill("new_checkout_flow"));
/// assert_eq!(commit.expected_version, Some(7));
/// assert_eq!(commit.message.as_deref(), Some("error spike after the 14:02 deploy"));
///
/// let plain = Commit::from(Edit::enable("new_checkout_flow"));
/// assert_eq!((plain.expected_version, plain.message), (None, None));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Commit {
    /// The change.
    pub edit: Edit,
    /// When set, the commit is refused unless the flags are at this
    /// version; a commit without one is made against the newest flags.
    pub expected_version: Option<u64>,
    /// Why, for the audit log (the rollout guard puts the figures that
    /// triggered a kill here).
    pub message: Option<String>,
    /// When set, the commit is made only while the flag's definition is
    /// still this one; otherwise nothing is written (the writer reports
    /// `changed: false`). The rollout guard acts this way on what it
    /// judged: several instances reaching one verdict write it once.
    pub unless_changed_from: Option<Box<Feature>>,
}

impl Commit {
    /// Refuses the commit unless the flags are at `version`.
    ///
    /// ```
    /// use flags_core::edit::{Commit, Edit};
    ///
    /// let commit = Commit::from(Edit::enable("a")).message("ready").if_version(12);
    /// assert_eq!(commit.expected_version, Some(12));
    /// assert_eq!(commit.message.as_deref(), Some("ready"));
    /// ```
    #[must_use]
    pub fn if_version(mut self, version: u64) -> Commit {
        self.expected_version = Some(version);
        self
    }

    /// Says why, for the audit log.
    ///
    /// ```
    /// use flags_core::edit::{Commit, Edit};
    ///
    /// let commit = Commit::from(Edit::rollout("a", 50)).message("half of the users");
    /// assert_eq!(commit.message.as_deref(), Some("half of the users"));
    /// assert_eq!(commit.expected_version, None);
    /// ```
    #[must_use]
    pub fn message(mut self, message: impl Into<String>) -> Commit {
        self.message = Some(message.into());
        self
    }

    /// Makes the commit only while the flag's definition is still
    /// `definition` (compared whole); when the flag changed since (another
    /// instance made the same decision first, an operator stepped in),
    /// nothing is written.
    ///
    /// ```
    /// use flags_core::edit::Edit;
    /// use flags_core::format::toml;
    ///
    /// let set = toml::parse("[a]\nrollout = 5\n", "x").unwrap();
    /// let judged = set.feature("a").unwrap().clone();
    /// let commit = Edit::kill("a").message("guard: ...").unless_changed_from(judged.clone());
    /// assert_eq!(commit.unless_changed_from.as_deref(), Some(&judged));
    /// ```
    #[must_use]
    pub fn unless_changed_from(mut self, definition: Feature) -> Commit {
        self.unless_changed_from = Some(Box::new(definition));
        self
    }
}

impl From<Edit> for Commit {
    fn from(edit: Edit) -> Commit {
        Commit {
            edit,
            expected_version: None,
            message: None,
            unless_changed_from: None,
        }
    }
}

impl Edit {
    /// This edit, refused unless the flags are at `version`: [`Commit::if_version`].
    ///
    /// ```
    /// use flags_core::edit::Edit;
    ///
    /// let commit = Edit::rollout("a", 25).if_version(3);
    /// assert_eq!(commit.edit, Edit::rollout("a", 25));
    /// assert_eq!(commit.expected_version, Some(3));
    /// ```
    #[must_use]
    pub fn if_version(self, version: u64) -> Commit {
        Commit::from(self).if_version(version)
    }

    /// This edit, with why, for the audit log: [`Commit::message`].
    ///
    /// ```
    /// use flags_core::edit::Edit;
    ///
    /// let commit = Edit::kill("a").message("5xx spike");
    /// assert_eq!(commit.edit, Edit::kill("a"));
    /// assert_eq!(commit.message.as_deref(), Some("5xx spike"));
    /// ```
    #[must_use]
    pub fn message(self, message: impl Into<String>) -> Commit {
        Commit::from(self).message(message)
    }
}
