//! The runtime: the [`Guard`] that reads counts, asks
//! [detection](crate::guard::detect) for a verdict, walks
//! [plans](crate::guard::plan), and changes flags through an [`Applier`].
//!
//! * `guard.rs`: the handle and its state; `builder.rs`: [`GuardBuilder`];
//! * `check.rs`: one check (decide, then apply and commit each decision);
//! * `control.rs`: an operator's plan operations ([`Guard::operate`]);
//! * `follow.rs`: flags whose definitions opt in ([`GuardBuilder::follow`]);
//! * `action.rs`: what the guard changes ([`Action`]) and the one place
//!   that changes it ([`FlagsApplier`]);
//! * `share.rs`: reading the counts, and exchanging them with the fleet;
//! * `record.rs`: the events kept and logged; `snapshot.rs`:
//!   [`GuardSnapshot`]; `task.rs`: [`GuardTask`].

mod action;
mod builder;
mod check;
mod control;
mod flags_applier;
mod follow;
mod guard;
mod record;
mod share;
mod snapshot;
mod tally;
mod task;

pub use action::{Action, Applied, AppliedFuture, Applier, ApplyError, ApplyFuture, PlanOp};
pub use builder::GuardBuilder;
pub use control::ControlError;
pub(crate) use control::Operator;
pub use flags_applier::FlagsApplier;
pub use guard::Guard;
pub use snapshot::{FlagSnapshot, GuardSnapshot};
pub use task::GuardTask;

#[cfg(test)]
mod tests;
