//! The guard's journal: the recent events it keeps for its snapshot, and
//! their log lines.

use super::guard::State;
use crate::guard::event::{EventKind, GuardEvent};

/// How many events the guard keeps for its snapshot.
const EVENTS_KEPT: usize = 256;

pub(super) fn event(at_ms: u64, flag: &str, kind: EventKind, message: String) -> GuardEvent {
    GuardEvent {
        at_ms,
        flag: flag.to_owned(),
        kind,
        message,
    }
}

/// Keeps `events` for the snapshot and logs them at target `flags::guard`:
/// kills at WARN, failures at ERROR, the rest at INFO.
pub(super) fn record(state: &mut State, events: &[GuardEvent]) {
    for e in events {
        match &e.kind {
            EventKind::Killed { finding } => tracing::warn!(
                target: "flags::guard",
                criterion = ?finding.criterion,
                feature_flag.key = %e.flag,
                new_requests = finding.new.requests,
                new_errors = finding.new.bad,
                old_requests = finding.old.requests,
                old_errors = finding.old.bad,
                p_value = finding.p_value,
                message = %e.message,
            ),
            EventKind::KillFailed { .. } | EventKind::AdvanceFailed { .. } => tracing::error!(
                target: "flags::guard",
                message = %e.message,
                feature_flag.key = %e.flag,
            ),
            _ => tracing::info!(
                target: "flags::guard",
                message = %e.message,
                feature_flag.key = %e.flag,
            ),
        }
        if state.events.len() == EVENTS_KEPT {
            state.events.pop_front();
        }
        state.events.push_back(e.clone());
    }
}
