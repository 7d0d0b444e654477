//! Feature flags for axum and tower services.
//!
//! Flags follow Unleash's evaluation semantics (strategies, constraints,
//! segments, variants, dependencies, murmur3 bucketing): the same user gets the
//! same answer here as from any Unleash SDK.
//!
//! A change flows one way: an [`edit::Edit`] (from the [`admin`] API, the
//! CLI through it, the rollout [`guard`], or the app's own code) is
//! committed through a [`change::Writer`] from [`Flags::writer`], which
//! validates it against the live flags, persists it through the [`store`],
//! swaps the new snapshot in and appends it to the [`audit`] log.
#![doc(html_root_url = "https://docs.rs/flags-middleware/0.1.0")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(rustdoc::broken_intra_doc_links)]

pub mod admin;
pub mod audit;
pub mod change;
mod flags;
pub mod guard;
pub mod layer;
mod live;
pub mod metrics;
pub mod store;
pub mod testing;

pub use flags::{Flags, OwnedVariant};
#[doc(inline)]
pub use flags_core::{context, edit, engine, error, format, model};
pub use flags_core::{Context, Evaluation, LoadError, LoadErrors, Reason, Snapshot, Variant};
pub use layer::{FlagContext, FlagContextRejection, FlagsLayer};

mod gated;
#[doc(inline)]
pub use flags_macros::feature_gated;
#[doc(hidden)]
pub use gated::__private;
