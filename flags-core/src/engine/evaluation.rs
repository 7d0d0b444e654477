//! What an evaluation returns, in OpenFeature's vocabulary.

use serde::Serialize;

use crate::model::Payload;

/// Why a flag evaluated the way it did (OpenFeature's reasons).
///
/// ```
/// use flags_core::engine::{Reason, Snapshot};
/// use flags_core::format::toml;
/// use flags_core::Context;
///
/// let set = toml::parse("[vip]\nusers = [\"ann\"]\n[killed]\nenabled = false\n", "flags.toml").unwrap();
/// let snapshot = Snapshot::compile(&set, Default::default(), "flags.toml").unwrap();
/// let ann = Context::new().user_id("ann");
/// assert_eq!(snapshot.evaluate("vip", &ann).reason, Reason::TargetingMatch);
/// assert_eq!(snapshot.evaluate("vip", &Context::new()).reason, Reason::Default);
/// assert_eq!(snapshot.evaluate("killed", &ann).reason, Reason::Disabled);
/// assert_eq!(Reason::TargetingMatch.as_str(), "targeting_match");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// On for everyone: no strategy narrows it.
    Static,
    /// A rule about who the caller is matched (user list, constraints, override).
    TargetingMatch,
    /// A percentage or a weighted variant decided: picked the caller, or
    /// (off) a percentage below 100 left them out.
    Split,
    /// The flag's kill switch is off.
    Disabled,
    /// Nothing matched and no percentage had a say (or a parent flag is
    /// not satisfied): the default, off.
    Default,
    /// The flag could not be evaluated; see [`ErrorCode`].
    Error,
}

impl Reason {
    /// The lowercase name used in logs and JSON (`targeting_match`...).
    ///
    /// ```
    /// use flags_core::Reason;
    ///
    /// assert_eq!(Reason::TargetingMatch.as_str(), "targeting_match");
    /// // Logs and JSON say the same.
    /// let json = serde_json::to_string(&Reason::Split).unwrap();
    /// assert_eq!(json, format!("\"{}\"", Reason::Split.as_str()));
    /// ```
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
///
/// ```
/// use flags_core::engine::{ErrorCode, Reason, Snapshot};
/// use flags_core::Context;
///
/// let snapshot = Snapshot::compile(&Default::default(), Default::default(), "empty").unwrap();
/// let e = snapshot.evaluate("no_such_flag", &Context::new());
/// assert_eq!((e.reason, e.error), (Reason::Error, Some(ErrorCode::FlagNotFound)));
/// assert!(!e.enabled);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// No flag has that name.
    FlagNotFound,
}

impl ErrorCode {
    /// The lowercase name used in logs and JSON.
    ///
    /// ```
    /// use flags_core::{engine::Mode, model::FlagSet, Context, Snapshot};
    ///
    /// let snapshot = Snapshot::compile(&FlagSet::default(), Mode::Strict, "empty").unwrap();
    /// let error = snapshot.evaluate("no_such_flag", &Context::new()).error.unwrap();
    /// assert_eq!(error.as_str(), "flag_not_found");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::FlagNotFound => "flag_not_found",
        }
    }
}

/// The variant a caller gets, borrowed from the snapshot (no allocation).
///
/// ```
/// use flags_core::engine::Snapshot;
/// use flags_core::format::toml;
/// use flags_core::Context;
///
/// let set = toml::parse("[exp]\nvariants = { blue = 50, green = 50 }\n[plain]\n", "flags.toml").unwrap();
/// let snapshot = Snapshot::compile(&set, Default::default(), "flags.toml").unwrap();
/// let ctx = Context::new().user_id("user_123");
/// let v = snapshot.variant("exp", &ctx);
/// assert!(v.enabled && v.feature_enabled);
/// assert!(v.name == "blue" || v.name == "green");
/// // On, but no variants: `disabled`.
/// let none = snapshot.variant("plain", &ctx);
/// assert_eq!((none.name, none.enabled, none.feature_enabled), ("disabled", false, true));
/// ```
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
    ///
    /// ```
    /// use flags_core::{format::toml, Context, Snapshot, Variant};
    ///
    /// let set = toml::parse("[off]\nenabled = false\nvariants = { blue = 100 }\n", "flags.toml").unwrap();
    /// let snapshot = Snapshot::compile(&set, Default::default(), "flags.toml").unwrap();
    /// // A flag that is off gives no variant, whatever variants it lists; so does an unknown flag.
    /// assert_eq!(snapshot.variant("off", &Context::new()).name, Variant::DISABLED_NAME);
    /// assert_eq!(snapshot.variant("no_such_flag", &Context::new()).name, Variant::DISABLED_NAME);
    /// ```
    pub const DISABLED_NAME: &'static str = "disabled";

    /// "No variant" (`disabled`), for a flag that is on or off.
    ///
    /// ```
    /// use flags_core::{format::toml, Context, Snapshot, Variant};
    ///
    /// let set = toml::parse("[plain]\n", "flags.toml").unwrap();
    /// let snapshot = Snapshot::compile(&set, Default::default(), "flags.toml").unwrap();
    /// // On, but without variants: what the snapshot answers too.
    /// assert_eq!(snapshot.variant("plain", &Context::new()), Variant::none(true));
    /// assert_eq!(Variant::none(true).name, "disabled");
    /// ```
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
///
/// ```
/// use flags_core::{format::toml, engine::Mode, Context, Reason, Snapshot};
///
/// let set = toml::parse("[beta]\nenabled = true\nusers = [\"ann\"]\n", "flags.toml").unwrap();
/// let snapshot = Snapshot::compile(&set, Mode::Strict, "flags.toml").unwrap();
/// let id = snapshot.lookup("beta");
/// let ann = snapshot.decide(id, &Context::new().user_id("ann"));
/// let bob = snapshot.decide(id, &Context::new().user_id("bob"));
/// assert!(ann.enabled && !bob.enabled);
/// assert_eq!(ann.reason, Reason::TargetingMatch);
/// // The full evaluation, names and all, when it is needed.
/// assert!(snapshot.evaluation("beta", id, &ann).enabled);
/// ```
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
    /// How many low bits of a `u64` [`Decision::to_bits`] uses.
    ///
    /// ```
    /// use flags_core::engine::{Decision, FlagId};
    /// use flags_core::{format::toml, Context, Snapshot};
    ///
    /// let set = toml::parse("[a]\n[beta]\nusers = [\"ann\"]\n", "flags.toml").unwrap();
    /// let snapshot = Snapshot::compile(&set, Default::default(), "flags.toml").unwrap();
    /// let id = snapshot.lookup("beta").unwrap();
    /// let decision = snapshot.decide(Some(id), &Context::new().user_id("ann"));
    /// // The flag's id above the decision: one word, e.g. for an `AtomicU64`.
    /// let word = u64::from(id.to_bits()) << Decision::BITS | decision.to_bits();
    /// assert_eq!(FlagId::from_bits((word >> Decision::BITS) as u32), id);
    /// assert_eq!(Decision::from_bits(word & ((1 << Decision::BITS) - 1)), decision);
    /// ```
    pub const BITS: u32 = 40;

    /// The decision as the low [`Decision::BITS`] bits of a `u64` (the rest
    /// are zero): small enough to share a 64-bit atomic with a flag id, so a
    /// request's memo can be read and claimed without a lock.
    ///
    /// ```
    /// use flags_core::engine::{Decision, Snapshot};
    /// use flags_core::{model::FlagSet, Context};
    ///
    /// let set = FlagSet::from_unleash_json(r#"{"features": [{"name": "f", "enabled": true,
    ///     "strategies": [{"name": "default"}],
    ///     "variants": [{"name": "blue", "weight": 1000}]}]}"#).unwrap();
    /// let snapshot = Snapshot::compile(&set, Default::default(), "example").unwrap();
    /// let decision = snapshot.decide(snapshot.lookup("f"), &Context::new());
    /// let bits = decision.to_bits();
    /// assert!(bits < 1 << Decision::BITS);
    /// assert_eq!(Decision::from_bits(bits), decision);
    /// ```
    pub fn to_bits(self) -> u64 {
        // Its place in the declaration, which `REASONS` follows.
        let reason = self.reason as u64;
        let (has_variant, owner, index) = match self.variant {
            Some(v) => (1, u64::from(v.owner), u64::from(v.index)),
            None => (0, 0, 0),
        };
        u64::from(self.enabled)
            | reason << 1
            | u64::from(self.error.is_some()) << 4
            | u64::from(self.random) << 5
            | has_variant << 6
            | owner << 7
            | index << 23
    }

    /// The decision [`Decision::to_bits`] made these bits from. Bits it
    /// cannot have made read as an unknown flag's decision (off, in error
    /// with [`ErrorCode::FlagNotFound`]).
    ///
    /// ```
    /// use flags_core::engine::{Decision, ErrorCode};
    /// use flags_core::{format::toml, Context, Snapshot};
    ///
    /// let set = toml::parse("[beta]\nusers = [\"ann\"]\n", "flags.toml").unwrap();
    /// let snapshot = Snapshot::compile(&set, Default::default(), "flags.toml").unwrap();
    /// let ann = snapshot.decide(snapshot.lookup("beta"), &Context::new().user_id("ann"));
    /// assert_eq!(Decision::from_bits(ann.to_bits()), ann);
    /// // Bits `to_bits` never writes: an unknown flag's decision.
    /// assert_eq!(Decision::from_bits(u64::MAX).error, Some(ErrorCode::FlagNotFound));
    /// ```
    pub fn from_bits(bits: u64) -> Decision {
        // In declaration order (`to_bits` writes `reason as u64`).
        const REASONS: [Option<Reason>; 8] = [
            Some(Reason::Static),
            Some(Reason::TargetingMatch),
            Some(Reason::Split),
            Some(Reason::Disabled),
            Some(Reason::Default),
            Some(Reason::Error),
            None,
            None,
        ];
        let reason = match REASONS[(bits >> 1 & 0b111) as usize] {
            Some(reason) if bits >> 39 == 0 => reason,
            _ => return Decision::NOT_FOUND,
        };
        let field = |shift: u32| (bits >> shift) as u16;
        Decision {
            enabled: bits & 1 != 0,
            reason,
            error: (bits >> 4 & 1 != 0).then_some(ErrorCode::FlagNotFound),
            random: bits >> 5 & 1 != 0,
            variant: (bits >> 6 & 1 != 0).then(|| VariantPick {
                owner: field(7),
                index: field(23),
            }),
        }
    }

    pub(crate) const NOT_FOUND: Decision = Decision {
        enabled: false,
        reason: Reason::Error,
        error: Some(ErrorCode::FlagNotFound),
        random: false,
        variant: None,
    };
}

/// An evaluation with everything a caller or a log line wants.
///
/// ```
/// use flags_core::engine::{Reason, Snapshot};
/// use flags_core::format::toml;
/// use flags_core::Context;
///
/// let set = toml::parse("[new_checkout_flow]\nrollout = 50\n", "flags.toml").unwrap();
/// let snapshot = Snapshot::compile(&set, Default::default(), "flags.toml").unwrap();
/// let e = snapshot.evaluate("new_checkout_flow", &Context::new().user_id("user_123"));
/// assert_eq!(e.key, "new_checkout_flow");
/// assert_eq!(e.reason, Reason::Split); // the 50% decided, in or out
/// assert_eq!(e.version, snapshot.version());
/// assert!(!e.random, "sticky: a user id decided");
/// ```
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_decision_survives_its_bits() {
        let reasons = [
            Reason::Static,
            Reason::TargetingMatch,
            Reason::Split,
            Reason::Disabled,
            Reason::Default,
            Reason::Error,
        ];
        let picks = [
            None,
            Some(VariantPick { owner: 0, index: 0 }),
            Some(VariantPick {
                owner: u16::MAX,
                index: 7,
            }),
            Some(VariantPick {
                owner: 12,
                index: u16::MAX,
            }),
        ];
        for reason in reasons {
            for variant in picks {
                for (enabled, random, error) in [
                    (false, false, None),
                    (true, false, None),
                    (true, true, None),
                    (false, false, Some(ErrorCode::FlagNotFound)),
                ] {
                    let d = Decision {
                        enabled,
                        reason,
                        error,
                        random,
                        variant,
                    };
                    let bits = d.to_bits();
                    assert!(bits < 1 << Decision::BITS, "{d:?}");
                    assert_eq!(Decision::from_bits(bits), d);
                }
            }
        }
        assert_eq!(
            Decision::from_bits(6 << 1),
            Decision::NOT_FOUND,
            "no seventh reason"
        );
        assert_eq!(
            Decision::from_bits(1 << 39),
            Decision::NOT_FOUND,
            "past the bits used"
        );
    }
}
