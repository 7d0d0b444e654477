//! The one error a guard setting can fail with.

use std::fmt;

/// A guard or plan setting that cannot work, naming the setting.
///
/// ```
/// use flags_core::guard::GuardConfig;
///
/// let err = GuardConfig::new().min_difference(2.0).unwrap_err();
/// assert_eq!(err.field, "min_difference");
/// assert!(err.to_string().starts_with("`min_difference`: must be a fraction"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GuardConfigError {
    /// The setting, as its TOML key under `guard` (`min_difference`,
    /// `latency.factor`...) or `plan`.
    pub field: &'static str,
    /// What is wrong, and what would be right.
    pub message: String,
}

impl GuardConfigError {
    /// An error about `field`.
    ///
    /// ```
    /// use flags_core::guard::GuardConfigError;
    ///
    /// let err = GuardConfigError::new("plan", "a plan needs at least one step");
    /// assert_eq!(err.field, "plan");
    /// assert_eq!(err.to_string(), "`plan`: a plan needs at least one step");
    /// ```
    pub fn new(field: &'static str, message: impl Into<String>) -> GuardConfigError {
        GuardConfigError {
            field,
            message: message.into(),
        }
    }
}

impl fmt::Display for GuardConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.field, self.message)
    }
}

impl std::error::Error for GuardConfigError {}
