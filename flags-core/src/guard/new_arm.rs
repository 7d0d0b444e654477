//! Which requests a guard compares: the new arm against the old.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Which requests count as the new arm; every other request of the flag is
/// the old arm.
///
/// ```
/// use flags_core::guard::{GuardConfig, NewArm};
///
/// // An A/B test: the `green` variant's requests against all the others.
/// let config = GuardConfig::new().arm(NewArm::Variant("green".into()));
/// assert_eq!(config.settings().arm.to_string(), "variant `green`");
/// assert_eq!(GuardConfig::new().settings().arm, NewArm::Enabled);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NewArm {
    /// Requests for which the flag was on (whatever the variant) against
    /// those for which it was off. The default.
    #[default]
    Enabled,
    /// Requests that got this variant against all the others (including
    /// those for which the flag was off).
    Variant(String),
}

impl fmt::Display for NewArm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NewArm::Enabled => f.write_str("enabled"),
            NewArm::Variant(v) => write!(f, "variant `{v}`"),
        }
    }
}
