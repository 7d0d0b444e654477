//! Which built-in rule a [`Strategy`](super::Strategy) is: the one place
//! that knows Unleash's strategy names.

use std::fmt;

/// The built-in strategies, by what they do. A strategy names its kind in
/// its `name` field (Unleash's wire format); [`Strategy::kind`](super::Strategy::kind)
/// reads it.
///
/// ```
/// use flags_core::model::{Strategy, StrategyKind};
///
/// let s = Strategy { name: "flexibleRollout".into(), ..Strategy::default() };
/// assert_eq!(s.kind(), StrategyKind::FlexibleRollout);
/// assert_eq!(s.kind().percentage_param(), Some("rollout"));
/// assert_eq!(StrategyKind::from_name("gradualRolloutUserId").percentage_param(), Some("percentage"));
/// assert_eq!(StrategyKind::from_name("myCustomStrategy"), StrategyKind::Unknown);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StrategyKind {
    /// `default`: on for everyone its constraints and segments let through.
    Default,
    /// `userWithId`: on for the user ids listed in `userIds`.
    UserWithId,
    /// `flexibleRollout`: on for `rollout` percent, sticky on `stickiness`
    /// within `groupId`.
    FlexibleRollout,
    /// `gradualRolloutUserId`: on for `percentage` percent, by user id (legacy).
    GradualRolloutUserId,
    /// `gradualRolloutSessionId`: on for `percentage` percent, by session id (legacy).
    GradualRolloutSessionId,
    /// `gradualRolloutRandom`: on for `percentage` percent of calls, at random (legacy).
    GradualRolloutRandom,
    /// `remoteAddress`: on for the addresses and networks in `IPs`.
    RemoteAddress,
    /// `applicationHostname`: on for the hosts in `hostNames`.
    ApplicationHostname,
    /// Any other name: a custom strategy this engine cannot evaluate (off).
    Unknown,
}

impl StrategyKind {
    /// Every kind this engine evaluates, in Unleash's documentation order.
    ///
    /// ```
    /// use flags_core::{format::toml, model::StrategyKind};
    ///
    /// assert!(!StrategyKind::KNOWN.contains(&StrategyKind::Unknown));
    /// // A TOML rule naming another strategy is refused with this list.
    /// let err = toml::parse("[f]\n[[f.rules]]\nstrategy = \"myStrategy\"\n", "flags.toml").unwrap_err();
    /// let known = StrategyKind::KNOWN.map(StrategyKind::name).join(", ");
    /// assert!(err.to_string().contains(&known), "{err}");
    /// ```
    pub const KNOWN: [StrategyKind; 8] = [
        StrategyKind::Default,
        StrategyKind::UserWithId,
        StrategyKind::FlexibleRollout,
        StrategyKind::GradualRolloutUserId,
        StrategyKind::GradualRolloutSessionId,
        StrategyKind::GradualRolloutRandom,
        StrategyKind::RemoteAddress,
        StrategyKind::ApplicationHostname,
    ];

    /// The kind a strategy `name` stands for (names are case-sensitive, as
    /// in Unleash); [`Unknown`](Self::Unknown) for any other name.
    ///
    /// ```
    /// use flags_core::model::StrategyKind;
    ///
    /// assert_eq!(StrategyKind::from_name("userWithId"), StrategyKind::UserWithId);
    /// assert_eq!(StrategyKind::from_name("UserWithId"), StrategyKind::Unknown);
    /// ```
    pub fn from_name(name: &str) -> StrategyKind {
        match name {
            "default" => StrategyKind::Default,
            "userWithId" => StrategyKind::UserWithId,
            "flexibleRollout" => StrategyKind::FlexibleRollout,
            "gradualRolloutUserId" => StrategyKind::GradualRolloutUserId,
            "gradualRolloutSessionId" => StrategyKind::GradualRolloutSessionId,
            "gradualRolloutRandom" => StrategyKind::GradualRolloutRandom,
            "remoteAddress" => StrategyKind::RemoteAddress,
            "applicationHostname" => StrategyKind::ApplicationHostname,
            _ => StrategyKind::Unknown,
        }
    }

    /// The name Unleash gives this kind (`flexibleRollout`...);
    /// `unknown` for [`Unknown`](Self::Unknown), which no built-in
    /// strategy is called (a custom strategy keeps its own name).
    ///
    /// ```
    /// use flags_core::model::StrategyKind;
    ///
    /// assert_eq!(StrategyKind::RemoteAddress.name(), "remoteAddress");
    /// for kind in StrategyKind::KNOWN {
    ///     assert_eq!(StrategyKind::from_name(kind.name()), kind);
    /// }
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            StrategyKind::Default => "default",
            StrategyKind::UserWithId => "userWithId",
            StrategyKind::FlexibleRollout => "flexibleRollout",
            StrategyKind::GradualRolloutUserId => "gradualRolloutUserId",
            StrategyKind::GradualRolloutSessionId => "gradualRolloutSessionId",
            StrategyKind::GradualRolloutRandom => "gradualRolloutRandom",
            StrategyKind::RemoteAddress => "remoteAddress",
            StrategyKind::ApplicationHostname => "applicationHostname",
            StrategyKind::Unknown => "unknown",
        }
    }

    /// The parameter holding the percentage of a percentage strategy:
    /// `rollout` for `flexibleRollout`, `percentage` for the gradual
    /// rollouts; `None` for the others.
    ///
    /// ```
    /// use flags_core::model::StrategyKind;
    ///
    /// assert_eq!(StrategyKind::FlexibleRollout.percentage_param(), Some("rollout"));
    /// assert_eq!(StrategyKind::GradualRolloutRandom.percentage_param(), Some("percentage"));
    /// assert_eq!(StrategyKind::UserWithId.percentage_param(), None);
    /// ```
    pub fn percentage_param(self) -> Option<&'static str> {
        match self {
            StrategyKind::FlexibleRollout => Some("rollout"),
            StrategyKind::GradualRolloutUserId
            | StrategyKind::GradualRolloutSessionId
            | StrategyKind::GradualRolloutRandom => Some("percentage"),
            _ => None,
        }
    }
}

impl fmt::Display for StrategyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in StrategyKind::KNOWN {
            assert_eq!(StrategyKind::from_name(kind.name()), kind);
        }
        assert_eq!(StrategyKind::from_name("Default"), StrategyKind::Unknown);
        assert_eq!(StrategyKind::from_name(""), StrategyKind::Unknown);
    }

    #[test]
    fn only_rollouts_have_a_percentage() {
        let with: Vec<_> = StrategyKind::KNOWN
            .into_iter()
            .filter(|k| k.percentage_param().is_some())
            .collect();
        assert_eq!(
            with,
            [
                StrategyKind::FlexibleRollout,
                StrategyKind::GradualRolloutUserId,
                StrategyKind::GradualRolloutSessionId,
                StrategyKind::GradualRolloutRandom
            ]
        );
    }
}
