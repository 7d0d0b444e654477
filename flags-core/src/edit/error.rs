//! Why an edit cannot be applied to a flag's definition.

use std::fmt;

use crate::error::{LoadError, LoadErrors};

/// Why [`Edit::apply`](super::Edit::apply) refused an edit. Nothing changed.
///
/// ```
/// use flags_core::edit::{Edit, EditError};
///
/// let e = Edit::kill("nope").apply(None).unwrap_err();
/// assert_eq!(e, EditError::NoSuchFlag { flag: "nope".into() });
/// assert_eq!(e.to_string(), "flag `nope`: no such flag");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EditError {
    /// The edit names a flag that does not exist.
    NoSuchFlag {
        /// The flag.
        flag: String,
    },
    /// [`Edit::Create`](super::Edit::Create) of a flag that exists.
    AlreadyExists {
        /// The flag.
        flag: String,
    },
    /// The edit cannot be made to this definition, or asks for something
    /// impossible (a percentage over 100, a user id with a comma, two user
    /// lists to choose from).
    Invalid {
        /// The flag.
        flag: String,
        /// The field the problem is in, as the TOML format calls it
        /// (`rollout`, `users[2]`, `guard.window`, `plan`).
        field: String,
        /// What is wrong, and what would be right.
        message: String,
    },
}

impl EditError {
    pub(crate) fn invalid(
        flag: &str,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> EditError {
        EditError::Invalid {
            flag: flag.to_owned(),
            field: field.into(),
            message: message.into(),
        }
    }

    /// The flag the edit names.
    ///
    /// ```
    /// use flags_core::edit::Edit;
    ///
    /// let err = Edit::enable("new_checkout_flow").apply(None).unwrap_err();
    /// assert_eq!(err.flag(), "new_checkout_flow");
    /// ```
    pub fn flag(&self) -> &str {
        match self {
            EditError::NoSuchFlag { flag }
            | EditError::AlreadyExists { flag }
            | EditError::Invalid { flag, .. } => flag,
        }
    }

    /// The field the problem is in, when it is in one.
    ///
    /// ```
    /// use flags_core::{edit::Edit, format::toml};
    ///
    /// let set = toml::parse("[a]\nrollout = 5\n", "flags.toml").unwrap();
    /// let err = Edit::rollout("a", 150).apply(set.feature("a")).unwrap_err();
    /// assert_eq!(err.field(), Some("rollout"));
    /// assert_eq!(Edit::kill("b").apply(None).unwrap_err().field(), None);
    /// ```
    pub fn field(&self) -> Option<&str> {
        match self {
            EditError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }

    /// What is wrong, without the flag and field.
    ///
    /// ```
    /// use flags_core::{edit::Edit, format::toml};
    ///
    /// let set = toml::parse("[a]\nrollout = 5\n", "flags.toml").unwrap();
    /// let err = Edit::rollout("a", 150).apply(set.feature("a")).unwrap_err();
    /// assert_eq!(err.message(), "a percentage must be between 0 and 100, got 150");
    /// ```
    pub fn message(&self) -> &str {
        match self {
            EditError::NoSuchFlag { .. } => "no such flag",
            EditError::AlreadyExists { .. } => "a flag by this name exists",
            EditError::Invalid { message, .. } => message,
        }
    }

    /// The error as a [`LoadError`] from `source` (`admin api`...), naming
    /// the flag and field, for callers that report every problem alike.
    ///
    /// ```
    /// use flags_core::edit::Edit;
    ///
    /// let err = Edit::kill("a").apply(None).unwrap_err().to_load_error("admin api");
    /// assert_eq!(err.flag.as_deref(), Some("a"));
    /// assert_eq!(err.to_string(), "admin api: flag `a`: no such flag");
    /// ```
    pub fn to_load_error(&self, source: &str) -> LoadError {
        let e = LoadError::new(source, self.message()).flag(self.flag());
        match self.field() {
            Some(field) => e.field(field),
            None => e,
        }
    }
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.field() {
            Some(field) => write!(f, "flag `{}`, field `{field}`: ", self.flag())?,
            None => write!(f, "flag `{}`: ", self.flag())?,
        }
        f.write_str(self.message())
    }
}

impl std::error::Error for EditError {}

/// As a [`LoadError`] from source `edit`.
impl From<EditError> for LoadErrors {
    fn from(e: EditError) -> Self {
        LoadErrors::from(e.to_load_error("edit"))
    }
}
