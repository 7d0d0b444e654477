//! An [OpenFeature](https://openfeature.dev) provider for
//! [`flags_middleware`]: application code asks through the OpenFeature Rust
//! SDK's `Client`, flags answer with Unleash's semantics.
//!
//! ```
//! use flags_middleware::Flags;
//! use flags_openfeature::FlagsProvider;
//! use open_feature::{EvaluationContext, OpenFeature};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let flags = Flags::from_toml_str("[new_checkout_flow]\nrollout = 100\n", "flags.toml")?;
//! OpenFeature::singleton_mut().await.set_provider(FlagsProvider::new(flags)).await;
//! let client = OpenFeature::singleton().await.create_client();
//! let user = EvaluationContext::default().with_targeting_key("user_123");
//! let on = client.get_bool_value("new_checkout_flow", Some(&user), None).await;
//! assert_eq!(on, Ok(true));
//! # Ok(()) }
//! ```
//!
//! # Mapping
//!
//! **Context** ([`to_context`]): `targeting_key` is the user id; the fields
//! `sessionId`, `remoteAddress`, `environment`, `appName` and `currentTime`
//! are Unleash's fields of those names; every other scalar field is a
//! property (numbers and booleans as their text); nested structures are
//! ignored.
//!
//! **Values:**
//!
//! | asked | value | variant |
//! |---|---|---|
//! | `bool` | whether the flag is on for the caller | the arm: the variant's name, else `on` / `off` |
//! | `string` | a `string` or `csv` payload; a variant without payload gives its name | the variant's name |
//! | `int` | a `number` payload that is a whole number | the variant's name |
//! | `float` | a `number` payload | the variant's name |
//! | `struct` | a `json` payload holding an object (`null`s left out) | the variant's name |
//!
//! A flag that is off for the caller, or on without a variant for them,
//! resolves for `string` / `int` / `float` / `struct` to `Ok` with reason
//! `DISABLED`, variant `disabled` and the type's empty value (`""`, `0`,
//! `0.0`, an empty struct): the Rust client passes no caller default to
//! providers, so the caller checks the reason (or uses `unwrap_or`).
//!
//! **Reasons** come from the engine: `STATIC` (no rules, or only rules for
//! everyone), `TARGETING_MATCH` (a user list, constraint or variant override
//! matched, or a rollout at 100%), `SPLIT` (a percentage below 100 or a
//! weighted variant decided: for those it let in and, `bool` `false`, for
//! those it left out), `DEFAULT` (on, but no rule matched the caller and no
//! percentage had a say: `bool` is `false`), `DISABLED` (the kill switch is
//! off). An error is `Err` with a message naming the flag; the
//! client reports reason `ERROR` to hooks:
//!
//! | error code | when |
//! |---|---|
//! | `FLAG_NOT_FOUND` | no flag of that name (a killed flag is `DISABLED`, not this) |
//! | `TYPE_MISMATCH` | the variant's payload is of another type (a `json` payload asked as `int`, a fraction asked as `int`, no payload asked as a number or struct) |
//! | `PARSE_ERROR` | a `number` payload that is no number, a `json` payload that is no JSON (possible with Unleash JSON loaded leniently; the TOML file refuses them) |
//!
//! **Flag metadata:** `version` (the flag-set version that answered), and
//! `project` and `type` when the flag sets them.
//!
//! # Inside a request
//!
//! Behind [`FlagsLayer`](flags_middleware::FlagsLayer), add
//! [`RequestScopeLayer`] inside it (or wrap code in [`in_request`]): then
//! an OpenFeature evaluation made while the request runs answers from the
//! request's pinned snapshot, through its memo (a flag asked twice answers
//! the same, whichever API asked), and emits the request's decision event
//! once, exactly as [`FlagContext`](flags_middleware::FlagContext) does. So
//! one request never sees two versions. This holds when the evaluation
//! context has no targeting key (the usual case: the layer already knows
//! the caller) or the request's own user id (else session id); an
//! evaluation for someone else still reads the request's pinned snapshot,
//! with that caller's context, unmemoized and unlogged. Outside a request,
//! evaluations read the current snapshot and emit no events.
//!
//! The hook is a tokio task-local: it follows `.await`s, not `tokio::spawn`
//! (wrap spawned futures in [`in_request`] too). The flags layer itself is
//! not changed by any of this: an app without [`RequestScopeLayer`] pays
//! nothing for it.
#![deny(rustdoc::broken_intra_doc_links)]

mod context;
mod provider;
mod scope;
mod value;

pub use context::to_context;
pub use provider::FlagsProvider;
pub use scope::{in_request, RequestScope, RequestScopeLayer};
