//! Variant selection: overrides first, then Unleash's weight walk over
//! `murmur3("{group}:{sticky id}", 86028157) % total + 1`.

use super::bucket::{Prefix, VARIANT_SEED};
use super::field::{Field, Stickiness};
use crate::model::VariantDef;
use crate::Context;

/// A compiled list of variants.
#[derive(Debug, Clone)]
pub(crate) struct VariantSet {
    /// The definitions stay in the flag's model; picks are indexes into them.
    overrides: Vec<(u16, Field, Vec<Box<str>>)>,
    weights: Vec<u32>,
    total: u32,
    stickiness: Stickiness,
    prefix: Prefix,
}

/// How a variant was picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pick {
    Override(u16),
    Weighted { index: u16, random: bool },
}

impl VariantSet {
    /// `stickiness` overrides the variants' own (strategy variants use the
    /// strategy's); otherwise the first variant's stickiness applies.
    pub(crate) fn compile(
        defs: &[VariantDef],
        group: &str,
        stickiness: Option<&str>,
    ) -> Option<VariantSet> {
        if defs.is_empty() {
            return None;
        }
        let stickiness = Stickiness::parse(stickiness.or_else(|| defs[0].stickiness.as_deref()));
        let mut overrides = Vec::new();
        for (i, d) in defs.iter().enumerate() {
            for o in &d.overrides {
                let values = o.values.iter().map(|v| Box::from(v.as_str())).collect();
                overrides.push((i as u16, Field::parse(&o.context_name), values));
            }
        }
        let weights: Vec<u32> = defs.iter().map(|d| d.weight).collect();
        Some(VariantSet {
            overrides,
            total: weights.iter().sum(),
            weights,
            stickiness,
            prefix: Prefix::new(group, VARIANT_SEED),
        })
    }

    /// How many variants there are.
    pub(crate) fn len(&self) -> usize {
        self.weights.len()
    }

    /// Picks the caller's variant, or `None` when every weight is zero.
    #[inline]
    pub(crate) fn pick(&self, ctx: &Context) -> Option<Pick> {
        for (index, field, values) in &self.overrides {
            if let Some(v) = field.get(ctx) {
                if values.iter().any(|x| &**x == v) {
                    return Some(Pick::Override(*index));
                }
            }
        }
        if self.total == 0 {
            return None;
        }
        let sticky = match &self.stickiness {
            Stickiness::Default => ctx.user_id.as_deref().or(ctx.session_id.as_deref()),
            Stickiness::Random => None,
            Stickiness::Field(f) => f.get(ctx),
        };
        let (target, random) = match sticky {
            Some(id) => (self.prefix.normalized(id, self.total), false),
            None => (fastrand::u32(1..=self.total), true),
        };
        let mut acc = 0u32;
        for (i, w) in self.weights.iter().enumerate() {
            acc += w;
            if acc >= target {
                return Some(Pick::Weighted {
                    index: i as u16,
                    random,
                });
            }
        }
        None
    }
}
