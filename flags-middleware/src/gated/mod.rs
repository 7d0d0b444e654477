//! Support code for `#[feature_gated]` expansions (see
//! [`feature_gated`](crate::feature_gated)). Not a public API: the macro's
//! output names these paths, nothing else should.

pub mod chain;

/// What the expansion of `#[feature_gated]` calls; hidden from the docs and
/// free to change between versions.
#[doc(hidden)]
pub mod __private {
    pub use super::chain;
    pub use crate::hygiene::FlagUse;
    pub use crate::FlagContext;
    pub use axum::response::{IntoResponse, Response};
    pub use inventory;

    /// Whether `flag` is on for this request: the same memoized decision
    /// (and decision event) as [`FlagContext::is_enabled`].
    #[inline]
    pub fn is_enabled(ctx: &FlagContext, flag: &str) -> bool {
        ctx.is_enabled(flag)
    }

    /// Which arm serves this request: `0` the flag is off (the fallback),
    /// `1` on without a listed variant (the gated function's own body),
    /// `2 + i` the `i`th name in `listed`.
    #[inline]
    pub fn variant_arm(ctx: &FlagContext, flag: &str, listed: &[&str]) -> usize {
        let variant = ctx.variant(flag);
        if !variant.feature_enabled {
            return 0;
        }
        listed
            .iter()
            .position(|name| *name == variant.name)
            .map_or(1, |index| index + 2)
    }
}
