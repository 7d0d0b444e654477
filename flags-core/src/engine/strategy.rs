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

/// The outcome of a strategy that matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hit {
    /// A percentage picked the caller.
    pub(crate) split: bool,
    /// No sticky id: a random bucket decided.
    pub(crate) random: bool,
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
    /// Whether a miss of this strategy for `ctx` came from a random roll (no
    /// sticky id), so the decision can say it was not sticky even when off.
    pub(crate) fn rolled_at_random(&self, ctx: &Context) -> bool {
        let random = match &self.rule {
            Rule::RandomPercent(p) => *p > 0,
            Rule::Rollout {
                percent,
                stickiness: Stickiness::Random,
                ..
            } => *percent > 0,
            Rule::Rollout {
                percent,
                stickiness: Stickiness::Default,
                ..
            } => *percent > 0 && ctx.user_id.is_none() && ctx.session_id.is_none(),
            _ => false,
        };
        random
            && self
                .constraints
                .iter()
                .all(|g| g.iter().all(|c| c.matches(ctx)))
    }

    #[inline]
    pub(crate) fn evaluate(&self, ctx: &Context) -> Option<Hit> {
        for group in &self.constraints {
            if !group.iter().all(|c| c.matches(ctx)) {
                return None;
            }
        }
        let hit = |split, random| Some(Hit { split, random });
        match &self.rule {
            Rule::Always => hit(false, false),
            Rule::Never => None,
            Rule::Users(set) => match ctx.user_id.as_deref() {
                Some(id) if set.contains(id) => hit(false, false),
                _ => None,
            },
            Rule::Rollout {
                percent,
                stickiness,
                prefix,
            } => {
                let percent = *percent;
                let id = match stickiness {
                    Stickiness::Default => ctx.user_id.as_deref().or(ctx.session_id.as_deref()),
                    Stickiness::Random => None,
                    Stickiness::Field(f) => match f.get(ctx) {
                        Some(v) => Some(v),
                        None => return None,
                    },
                };
                let split = percent < 100;
                match id {
                    Some(id) => {
                        (percent > 0 && prefix.normalized(id, 100) <= percent).then_some(Hit {
                            split,
                            random: false,
                        })
                    }
                    None => (percent > 0 && fastrand::u32(1..=100) <= percent).then_some(Hit {
                        split,
                        random: true,
                    }),
                }
            }
            Rule::RandomPercent(percent) => (*percent > 0 && fastrand::u32(1..=100) <= *percent)
                .then_some(Hit {
                    split: *percent < 100,
                    random: true,
                }),
            Rule::RemoteAddress(nets) => match ctx.remote_ip {
                Some(ip) if nets.iter().any(|n| n.contains(&ip)) => hit(false, false),
                _ => None,
            },
        }
    }
}
