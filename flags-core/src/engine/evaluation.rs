//! What an evaluation returns, in OpenFeature's vocabulary.

use serde::Serialize;

use crate::model::Payload;

/// Why a flag evaluated the way it did (OpenFeature's reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// On for everyone: no strategy narrows it.
    Static,
    /// A rule about who the caller is matched (user list, constraints, override).
    TargetingMatch,
    /// A percentage or a weighted variant picked the caller.
    Split,
    /// The flag's kill switch is off.
    Disabled,
    /// Nothing matched (or a parent flag is not satisfied): the default, off.
    Default,
    /// The flag could not be evaluated; see [`ErrorCode`].
    Error,
}

impl Reason {
    /// The lowercase name used in logs and JSON (`targeting_match`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Static => "static",
            Reason::TargetingMatch => "targeting_match",
            Reason::Split => "split",
            Reason::Disabled => "disabled",
            Reason::Default => "default",
            Reason::Error => "error",
        }
    }
}

/// Why an evaluation is an error (OpenFeature's error codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// No flag has that name.
    FlagNotFound,
}

impl ErrorCode {
    /// The lowercase name used in logs and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::FlagNotFound => "flag_not_found",
        }
    }
}

/// The variant a caller gets, borrowed from the snapshot (no allocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Variant<'a> {
    /// The arm's name; `disabled` when there is none.
    pub name: &'a str,
    /// Whether a real variant was picked.
    pub enabled: bool,
    /// Whether the flag itself is on for the caller.
    pub feature_enabled: bool,
    /// The arm's payload, if it has one.
    pub payload: Option<&'a Payload>,
}

impl Variant<'_> {
    /// The name Unleash gives "no variant".
    pub const DISABLED_NAME: &'static str = "disabled";

    /// "No variant" (`disabled`), for a flag that is on or off.
    pub fn none(feature_enabled: bool) -> Variant<'static> {
        Variant {
            name: Self::DISABLED_NAME,
            enabled: false,
            feature_enabled,
            payload: None,
        }
    }
}

/// A compact, `Copy` record of one evaluation; it refers into the snapshot by
/// index, so it can be memoized per request without borrowing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the flag is on for the caller.
    pub enabled: bool,
    /// Why.
    pub reason: Reason,
    /// Set when the flag is unknown.
    pub error: Option<ErrorCode>,
    /// Set when no sticky id was available and a random bucket was used, as
    /// Unleash does; a request with no user and no session lands here.
    pub random: bool,
    pub(crate) variant: Option<VariantPick>,
}

/// Where the picked variant lives inside the flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct VariantPick {
    /// `u16::MAX`: the flag's own variants; otherwise the strategy's index.
    pub(crate) owner: u16,
    pub(crate) index: u16,
}

impl Decision {
    pub(crate) const NOT_FOUND: Decision = Decision {
        enabled: false,
        reason: Reason::Error,
        error: Some(ErrorCode::FlagNotFound),
        random: false,
        variant: None,
    };
}

/// An evaluation with everything a caller or a log line wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Evaluation<'a> {
    /// The flag's name as asked.
    pub key: &'a str,
    /// Whether the flag is on for the caller.
    pub enabled: bool,
    /// The caller's variant (`disabled` when none).
    pub variant: Variant<'a>,
    /// Why.
    pub reason: Reason,
    /// Set when the flag could not be evaluated.
    pub error: Option<ErrorCode>,
    /// Set when a random bucket was used for lack of a sticky id.
    pub random: bool,
    /// The version of the flag set that answered.
    pub version: u64,
}
