//! Flag hygiene: which flags the code refers to and where, typos caught
//! before deploy, and flags asked for that do not exist.
//!
//! - [`registry`]: every `#[feature_gated]` and every typed key declared
//!   with [`flag!`](crate::flag) registers the flag's name with its source
//!   location at link time ([`FlagUse`]).
//! - [`FlagKey`]: a flag's name declared once; `is_enabled` and `variant`
//!   take it as they take a string.
//! - [`testing::assert_flags_defined`](crate::testing::assert_flags_defined)
//!   fails a test when the code refers to a flag the flags file lacks.

mod check;
mod distance;
mod everyone;
mod key;
mod registry;
mod report;
mod shared;
mod startup;
mod tracker;
mod unknown;
mod usage;

pub use check::{check_flags_defined, defined_names, undefined_flags, UndefinedFlag};
pub use everyone::OneArm;
pub use key::FlagKey;
pub use registry::{referenced_names, registry, uses_of, FlagUse, UseKind};
pub(crate) use report::{dead_code, inventory, stale, StaleInputs};
pub use report::{DeadCode, FlagInventory, StaleFlag, StaleOptions, StaleReason};
pub use shared::SHARE_INTERVAL;
pub(crate) use startup::warn_undefined;
pub use startup::HYGIENE_TARGET;
pub(crate) use tracker::Tracker;
pub use unknown::{UnknownFlag, UnknownFlags, DEFAULT_UNKNOWN_CAPACITY};
pub(crate) use usage::UsageHandle;
pub use usage::{FlagEvaluations, OTHER_ROUTE};
