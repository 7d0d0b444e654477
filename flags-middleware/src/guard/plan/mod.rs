//! Progressive plans: a flag's rollout in steps that advance only while the
//! guard finds the new arm healthy.
//!
//! The steps are a [`Plan`] (checked when built or loaded). A plan in
//! progress is a pure state machine: time comes in as an argument, changes
//! to the flag go out as a percentage to apply; the
//! [runner](crate::guard::run) applies the percentages and commits a
//! transition only once it is applied. [`PlanSnapshot`] is where a plan
//! stands, as the guard's snapshot and the admin API show it.
//!
//! ```text
//!            advance (step time passed, healthy, enough traffic)
//!          ┌───────┐
//!          ▼       │
//! Pending ─► Running ──────────────► Completed (after the last step)
//!          │  ▲    │ guard kill
//!    pause │  │    ▼
//!          ▼  │  Halted ── restart ─► Running (first step)
//!         Paused
//!  (abandon from any state but Completed ─► Abandoned)
//! ```

mod progress;
mod snapshot;

pub use flags_core::guard::{Plan, Step};
pub use snapshot::{PlanSnapshot, PlanStatus};

pub(crate) use progress::{Due, PlanRun, Position, Refused};
