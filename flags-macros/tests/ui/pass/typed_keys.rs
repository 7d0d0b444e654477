//! Typed keys: one or several per call, with docs and visibility, at module
//! level or in a function, accepted wherever a flag's name is.
use flags_middleware::{flag, Context, FlagContext, FlagKey, Flags};

flag!(NEW_CHECKOUT = "new_checkout_flow");

mod keys {
    flags_middleware::flag! {
        /// The redesigned search.
        pub BETA_SEARCH = "beta_search";
        pub(crate) EMOJI = "launch-🚀",
    }
}

fn asks(flags: &Flags, ctx: &FlagContext) -> bool {
    flag!(LOCAL = "local_flag");
    let key: FlagKey = keys::BETA_SEARCH;
    flags.is_enabled(NEW_CHECKOUT, &Context::new())
        || ctx.is_enabled(key)
        || ctx.variant(keys::EMOJI).enabled
        || ctx.is_enabled(LOCAL)
}

fn main() {
    let _ = asks;
}
