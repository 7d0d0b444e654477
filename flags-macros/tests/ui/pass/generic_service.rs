//! Generic service functions: type and lifetime parameters, `impl Trait`
//! arguments and a where clause.
use std::fmt::Display;

use flags_middleware::{feature_gated, FlagContext};

#[feature_gated("fancy_labels", fallback = label_plain)]
async fn label<'a, T>(flags: &'a FlagContext, value: T, suffix: impl Display) -> String
where
    T: Display + Send,
{
    let _ = flags;
    format!("<{value}{suffix}>")
}

async fn label_plain<T: Display + Send>(_flags: &FlagContext, value: T, suffix: impl Display) -> String {
    format!("{value}{suffix}")
}

#[feature_gated("typed_default", fallback = zero)]
async fn make<T: Default + From<u8>>(flags: &FlagContext) -> T {
    let _ = flags;
    T::from(1)
}

async fn zero<T: Default>(_flags: &FlagContext) -> T {
    T::default()
}

async fn _use(flags: FlagContext) -> String {
    let n: u64 = make(&flags).await;
    label(&flags, n, "!").await
}

fn main() {}
