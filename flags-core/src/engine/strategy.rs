//! Activation strategies, compiled: parameters parsed, user lists hashed,
//! bucket prefixes pre-hashed.

use std::sync::Arc;

use foldhash::HashSet;

use super::bucket::{Prefix, STRATEGY_SEED};
use super::constraint::{parse_net, CompiledConstraint};
use super::field::Stickiness;
use super::variant::VariantSet;
use crate::Context;

/// A strategy ready to evaluate.
#[derive(Debug, Clone)]
pub(crate) struct CompiledStrategy {
    /// Segment constraints then the strategy's own; all must hold.
    pub(crate) constraints: Box<[Arc<[CompiledConstraint]>]>,
    pub(crate) rule: Rule,
    /// `Some` when the strategy carries its own variants.
    pub(crate) variants: Option<Box<VariantSet>>,
    /// Whether anything about the caller narrows this strategy.
    pub(crate) targeted: bool,
}

/// The strategy's own decision.
#[derive(Debug, Clone)]
pub(crate) enum Rule {
    Always,
    Never,
    Users(UserSet),
    /// `flexibleRollout` and the legacy gradual rollouts.
    Rollout {
        percent: u32,
        stickiness: Stickiness,
        prefix: Prefix,
    },
    RandomPercent(u32),
    RemoteAddress(Box<[ipnet::IpNet]>),
}

/// A user list: linear for a few ids, hashed for many.
#[derive(Debug, Clone)]
pub(crate) enum UserSet {
    Small(Box<[Box<str>]>),
    Large(HashSet<Box<str>>),
}

impl UserSet {
    pub(crate) fn new(ids: impl Iterator<Item = Box<str>>) -> UserSet {
        let ids: Vec<Box<str>> = ids.collect();
        if ids.len() <= 8 {
            UserSet::Small(ids.into_boxed_slice())
        } else {
            UserSet::Large(ids.into_iter().collect())
        }
    }

    #[inline]
    fn contains(&self, id: &str) -> bool {
        match self {
            UserSet::Small(ids) => ids.iter().any(|x| &**x == id),
            UserSet::Large(ids) => ids.contains(id),
        }
    }
}

/// What a strategy made of a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// The strategy matched: the flag is on for the caller.
    pub(crate) matched: bool,
    /// A percentage below 100 decided, either way (the constraints held).
    pub(crate) split: bool,
    /// No sticky id: a random roll decided, either way.
    pub(crate) random: bool,
}

impl Outcome {
    /// Not for this caller, and no percentage had a say (a constraint, a
    /// user list, an address, or a rollout at 0%).
    const MISS: Outcome = Outcome {
        matched: false,
        split: false,
        random: false,
    };

    const MATCH: Outcome = Outcome {
        matched: true,
        split: false,
        random: false,
    };

    /// A percentage `percent` decided, by a sticky bucket or at random.
    fn rolled(matched: bool, percent: u32, random: bool) -> Outcome {
        Outcome {
            matched,
            split: percent > 0 && percent < 100,
            random: random && percent > 0,
        }
    }
}

impl Rule {
    pub(crate) fn rollout(percent: u32, stickiness: Option<&str>, group: &str) -> Rule {
        Rule::Rollout {
            percent,
            stickiness: Stickiness::parse(stickiness),
            prefix: Prefix::new(group, STRATEGY_SEED),
        }
    }

    pub(crate) fn remote_address(list: &str) -> Rule {
        Rule::RemoteAddress(list.split(',').filter_map(parse_net).collect())
    }
}

impl CompiledStrategy {
    #[inline]
    pub(crate) fn evaluate(&self, ctx: &Context) -> Outcome {
        for group in &self.constraints {
            if !group.iter().all(|c| c.matches(ctx)) {
                return Outcome::MISS;
            }
        }
        let matched = |yes: bool| if yes { Outcome::MATCH } else { Outcome::MISS };
        match &self.rule {
            Rule::Always => Outcome::MATCH,
            Rule::Never => Outcome::MISS,
            Rule::Users(set) => matched(ctx.user_id.as_deref().is_some_and(|id| set.contains(id))),
            Rule::Rollout {
                percent,
                stickiness,
                prefix,
            } => {
                let percent = *percent;
                let id = match stickiness {
                    Stickiness::Default => ctx.user_id.as_deref().or(ctx.session_id.as_deref()),
                    Stickiness::Random => None,
                    // Without the field, no bucket: the percentage has no say.
                    Stickiness::Field(f) => match f.get(ctx) {
                        Some(v) => Some(v),
                        None => return Outcome::MISS,
                    },
                };
                match id {
                    Some(id) => Outcome::rolled(
                        percent > 0 && prefix.normalized(id, 100) <= percent,
                        percent,
                        false,
                    ),
                    None => Outcome::rolled(
                        percent > 0 && fastrand::u32(1..=100) <= percent,
                        percent,
                        true,
                    ),
                }
            }
            Rule::RandomPercent(percent) => {
                let percent = *percent;
                Outcome::rolled(
                    percent > 0 && fastrand::u32(1..=100) <= percent,
                    percent,
                    true,
                )
            }
            Rule::RemoteAddress(nets) => matched(
                ctx.remote_ip
                    .is_some_and(|ip| nets.iter().any(|n| n.contains(&ip))),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::{Reason, Snapshot};
    use crate::model::FlagSet;
    use crate::Context;

    /// The decision for each of 200 users of flag `f` with `strategies`.
    fn reasons(strategies: &str, ctx: impl Fn(usize) -> Context) -> Vec<(bool, Reason, bool)> {
        let json = format!(
            r#"{{"features": [{{"name": "f", "enabled": true, "strategies": {strategies}}}]}}"#
        );
        let set = FlagSet::from_unleash_json(&json).unwrap();
        let snapshot = Snapshot::compile(&set, Default::default(), "test").unwrap();
        let id = snapshot.lookup("f");
        (0..200)
            .map(|i| {
                let d = snapshot.decide(id, &ctx(i));
                (d.enabled, d.reason, d.random)
            })
            .collect()
    }

    fn rollout(percent: u32, stickiness: &str) -> String {
        format!(
            r#"{{"name": "flexibleRollout", "parameters": {{"rollout": "{percent}", "stickiness": "{stickiness}", "groupId": "f"}}}}"#
        )
    }

    fn user(i: usize) -> Context {
        Context::new().user_id(format!("user-{i}"))
    }

    #[test]
    fn a_percentage_below_100_is_the_reason_for_those_out_as_for_those_in() {
        let half = reasons(&format!("[{}]", rollout(50, "default")), user);
        assert!(half.iter().any(|d| d.0) && half.iter().any(|d| !d.0));
        assert!(half
            .iter()
            .all(|&(_, r, random)| r == Reason::Split && !random));
        // Past a user list that does not name them, the split still decides.
        let listed = r#"{"name": "userWithId", "parameters": {"userIds": "user-1"}}"#;
        let both = reasons(&format!("[{listed}, {}]", rollout(50, "default")), user);
        assert_eq!(both[1], (true, Reason::TargetingMatch, false));
        assert!(both.iter().filter(|d| !d.0).all(|d| d.1 == Reason::Split));
        // Anonymous: a random roll decided, either way.
        let anonymous = reasons(&format!("[{}]", rollout(50, "default")), |_| Context::new());
        assert!(anonymous
            .iter()
            .all(|&(_, r, random)| r == Reason::Split && random));
    }

    #[test]
    fn no_percentage_had_a_say_is_the_default() {
        let off = (false, Reason::Default, false);
        // At 0% nobody is in: no split.
        assert!(reasons(&format!("[{}]", rollout(0, "default")), user)
            .iter()
            .all(|d| *d == off));
        // A constraint keeps them out before the bucket is looked at.
        let constrained = r#"[{"name": "flexibleRollout", "parameters": {"rollout": "50", "stickiness": "default", "groupId": "f"},
                "constraints": [{"contextName": "plan", "operator": "IN", "values": ["pro"]}]}]"#;
        assert!(reasons(constrained, user).iter().all(|d| *d == off));
        // Sticky on a field the caller lacks: no bucket at all.
        assert!(reasons(&format!("[{}]", rollout(50, "plan")), user)
            .iter()
            .all(|d| *d == off));
        // A user list that does not name them.
        let listed = r#"[{"name": "userWithId", "parameters": {"userIds": "someone"}}]"#;
        assert!(reasons(listed, user).iter().all(|d| *d == off));
    }
}
