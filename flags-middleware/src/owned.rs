//! Answers copied out of a snapshot, for [`Flags`](crate::Flags)'s
//! one-call readers: they outlive the snapshot that made them.

use crate::engine::{ErrorCode, Evaluation, Reason, Variant};
use crate::model::Payload;

/// A variant copied out of a snapshot (see [`Flags::variant`](crate::Flags::variant)).
///
/// ```
/// use flags_middleware::{Context, Flags};
///
/// let flags = Flags::from_toml_str("[exp]\nvariants = { blue = 100 }\n", "flags.toml").unwrap();
/// let v = flags.variant("exp", &Context::new().user_id("u1"));
/// assert_eq!((v.name.as_str(), v.enabled, v.feature_enabled), ("blue", true, true));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct OwnedVariant {
    /// The arm's name; `disabled` when none.
    pub name: String,
    /// Whether a real variant was picked.
    pub enabled: bool,
    /// Whether the flag is on for the caller.
    pub feature_enabled: bool,
    /// The arm's payload.
    pub payload: Option<Payload>,
}

impl From<Variant<'_>> for OwnedVariant {
    fn from(v: Variant<'_>) -> Self {
        OwnedVariant {
            name: v.name.to_owned(),
            enabled: v.enabled,
            feature_enabled: v.feature_enabled,
            payload: v.payload.cloned(),
        }
    }
}

/// An evaluation copied out of a snapshot (see
/// [`Flags::details`](crate::Flags::details)): value, variant, reason and
/// the version that answered.
///
/// ```
/// use flags_middleware::{Context, Flags, Reason};
///
/// let flags = Flags::from_toml_str("[legacy_api]\nenabled = false\n", "flags.toml").unwrap();
/// let d = flags.details("legacy_api", &Context::new());
/// assert_eq!((d.key.as_str(), d.enabled, d.reason), ("legacy_api", false, Reason::Disabled));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct OwnedEvaluation {
    /// The flag's name as asked.
    pub key: String,
    /// Whether the flag is on for the caller.
    pub enabled: bool,
    /// The caller's variant (`disabled` when none).
    pub variant: OwnedVariant,
    /// Why (OpenFeature's reasons).
    pub reason: Reason,
    /// Set when the flag could not be evaluated (no flag of that name).
    pub error: Option<ErrorCode>,
    /// Set when a random bucket was used for lack of a sticky id.
    pub random: bool,
    /// The version of the flag set that answered.
    pub version: u64,
}

impl From<Evaluation<'_>> for OwnedEvaluation {
    fn from(e: Evaluation<'_>) -> Self {
        OwnedEvaluation {
            key: e.key.to_owned(),
            enabled: e.enabled,
            variant: e.variant.into(),
            reason: e.reason,
            error: e.error,
            random: e.random,
            version: e.version,
        }
    }
}
