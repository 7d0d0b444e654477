//! The engine of `flags`: the flag model, the evaluation context, the
//! evaluator and the file formats, with no I/O, no async runtime and no web
//! framework, usable from any framework or a plain binary.
//!
//! Flags follow Unleash's evaluation semantics (strategies, constraints,
//! segments, variants, dependencies, murmur3 bucketing): the same user gets
//! the same answer here as from any Unleash SDK.
//!
//! * [`model`]: plain serde types shaped like Unleash's client API.
//! * [`format`](mod@format): the native TOML format, and Unleash's client-API JSON.
//! * [`engine`]: compiles a [`model::FlagSet`] once into an immutable
//!   [`Snapshot`] and evaluates it.
//! * [`context`]: who is asking ([`Context`]).
//! * [`name`]: the naming rule every flag name follows.
//! * [`edit`]: the vocabulary of changes to a flag ([`edit::Edit`]), and
//!   the one function that applies them.
//! * [`guard`]: the rollout guard's per-flag settings, checked with the
//!   definition.
//!
//! Most applications use `flags-middleware`, which re-exports all of this.
//!
//! ```
//! use flags_core::{format::toml, engine::Mode, Context, Snapshot};
//!
//! let set = toml::parse("[new_checkout_flow]\nrollout = 20\n", "flags.toml").unwrap();
//! let snapshot = Snapshot::compile(&set, Mode::Strict, "flags.toml").unwrap();
//! let on = (0..1000)
//!     .filter(|i| snapshot.is_enabled("new_checkout_flow", &Context::new().user_id(i.to_string())))
//!     .count();
//! assert!((150..250).contains(&on));
//! ```
#![doc(html_root_url = "https://docs.rs/flags-core/0.1.0")]
#![deny(rustdoc::broken_intra_doc_links)]

pub mod context;
pub mod edit;
pub mod engine;
pub mod error;
pub mod format;
pub mod guard;
pub mod model;
pub mod name;
mod typed;

pub use context::Context;
pub use engine::{Evaluation, Reason, Snapshot, Variant};
pub use error::{LoadError, LoadErrors};
