//! Variant selection: overrides first, then Unleash's weight walk over
//! `murmur3("{group}:{sticky id}", 86028157) % total + 1`.

use super::bucket::{Prefix, VARIANT_SEED};
use super::field::{Field, Stickiness};
use crate::model::{Payload, VariantDef};
use crate::Context;

/// A compiled list of variants.
#[derive(Debug, Clone)]
pub(crate) struct VariantSet {
    /// In definition order; picks are indexes into it.
    arms: Box<[Arm]>,
    overrides: Box<[Override]>,
    total: u32,
    stickiness: Stickiness,
    prefix: Prefix,
}

/// Context values that force variant `.0`: when field `.1` is one of `.2`.
type Override = (u16, Field, Box<[Box<str>]>);

/// What a caller gets with one variant.
#[derive(Debug, Clone)]
pub(crate) struct Arm {
    pub(crate) name: Box<str>,
    weight: u32,
    pub(crate) payload: Option<Box<Payload>>,
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
        let arms: Box<[Arm]> = defs
            .iter()
            .map(|d| Arm {
                name: d.name.as_str().into(),
                weight: d.weight,
                payload: d.payload.clone().map(Box::new),
            })
            .collect();
        Some(VariantSet {
            overrides: overrides.into_boxed_slice(),
            total: arms.iter().map(|a| a.weight).fold(0, u32::saturating_add),
            arms,
            stickiness,
            prefix: Prefix::new(group, VARIANT_SEED),
        })
    }

    /// How many variants there are.
    pub(crate) fn len(&self) -> usize {
        self.arms.len()
    }

    /// Variant `index` of a pick.
    #[inline]
    pub(crate) fn arm(&self, index: u16) -> Option<&Arm> {
        self.arms.get(usize::from(index))
    }

    /// The variants, in definition order.
    pub(crate) fn arms(&self) -> impl Iterator<Item = &Arm> {
        self.arms.iter()
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
        for (i, arm) in self.arms.iter().enumerate() {
            acc = acc.saturating_add(arm.weight);
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
