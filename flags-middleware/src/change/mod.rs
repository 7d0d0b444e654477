//! Changing flags: the one path every change takes.
//!
//! A change is an [`Edit`](crate::edit::Edit) from the edit vocabulary
//! (kill, enable, rollout, users, create, replace, delete, guard, plan...),
//! committed through a [`Writer`] from [`Flags::writer`](crate::Flags::writer):
//!
//! 1. **validate**: the edit is applied to the flag's live definition
//!    ([`Edit::apply`](crate::edit::Edit::apply), while other commits wait)
//!    and the result compiled strictly;
//! 2. **persist**: the [`Store`](crate::store::Store) makes it durable (the
//!    TOML file rewritten with its comments, a database row);
//! 3. **swap**: the new snapshot is served to every request that first
//!    asks for its flags after the swap (one already asking keeps its own);
//! 4. **audit**: one [`AuditEntry`](crate::audit::AuditEntry) per flag, with
//!    the actor, the action, the definition before and after, and why.
//!
//! The admin API, the CLI (through the admin API) and the rollout guard all
//! commit this way; no public method changes served flags otherwise.
//! (Tests that need to may use
//! [`testing::swap_unpersisted`](crate::testing::swap_unpersisted).)
//!
//! Outside changes (a hand edit of the flags file, a row another instance
//! wrote) take their own path here: the store reports them, they are
//! validated, swapped in and audited (actor `file edit` or `outside
//! change`), or rejected while the last good flags keep serving
//! ([`Flags::status`](crate::Flags::status) shows why).
//!
//! # Example
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::sync::Arc;
//! use flags_middleware::{edit::Edit, Context, Flags};
//! use flags_middleware::store::{MemoryStore, Store};
//!
//! let set = flags_middleware::format::toml::parse("[legacy_api]\n", "example").unwrap();
//! let store: Arc<dyn Store> = Arc::new(MemoryStore::new(set));
//! let flags = Flags::with_store(store, None).await.unwrap();
//! let done = flags.writer("ops").commit(Edit::kill("legacy_api")).await.unwrap();
//! assert_eq!(done.version, 2);
//! assert!(!flags.is_enabled("legacy_api", &Context::new()));
//! assert_eq!(flags.audit_log(0, 10).unwrap()[0].action, "kill");
//! # }
//! ```

mod audit_entries;
mod control;
mod error;
mod queries;
mod reload;
mod status;
mod writer;

pub(crate) use control::Control;
pub use error::CommitError;
pub use status::{ReloadError, SourceStatus};
pub use writer::{Committed, Writer};

#[cfg(test)]
mod tests;
