//! Following the flag definitions: a flag whose definition carries `guard`
//! or `plan` is watched with those settings, and its plan follows what the
//! definition says (the rollout percentage, `enabled`, `paused`). The
//! definitions are what every instance sharing a store sees, so instances
//! agree on where a plan stands, and a restarted one picks it up there.

use std::collections::HashSet;

use flags_core::guard::opt_in;

use super::guard::{serving, window_for, Guard, Origin, State, Watched};
use super::record::{event, record};
use crate::guard::clock::unix_millis;
use crate::guard::event::{EventKind, GuardEvent};
use crate::guard::plan::{PlanRun, Position};
use crate::Snapshot;

impl Guard {
    /// Brings the watched flags in line with the definitions, if they
    /// changed since the last look; returns what changed. Called with the
    /// operations lock held, so never between a decision and its commit.
    pub(super) fn follow_definitions(&self) -> Vec<GuardEvent> {
        let Some(flags) = &self.shared.definitions else {
            return Vec::new();
        };
        let snap = flags.snapshot();
        let now = self.shared.clock.now();
        let at = unix_millis(now);
        let mut state = self.state();
        if state.followed == Some(snap.version()) {
            return Vec::new();
        }
        state.followed = Some(snap.version());
        let mut events = Vec::new();
        let mut asking = HashSet::new();
        let guarded: Vec<_> = snap.guarded_features().collect();
        for f in &guarded {
            let (config, plan) = match opt_in(f) {
                None => continue,
                Some(Ok(asked)) => asked,
                Some(Err(e)) => {
                    // Strict sources refuse this at load; a lenient one
                    // (an Unleash server's JSON) may still carry it.
                    tracing::warn!(
                        target: "flags::guard",
                        error = %e,
                        feature_flag.key = %f.name,
                        message = "guard settings in the definition cannot work; not watching the flag",
                    );
                    continue;
                }
            };
            asking.insert(f.name.as_str());
            let origin = Origin::Definition {
                guard: f.guard.clone(),
                plan: f.plan.clone(),
            };
            let w = match state.flags.get_mut(&f.name) {
                Some(w) if w.origin == Origin::Code => continue,
                Some(w) => w,
                None => {
                    events.push(event(
                        at,
                        &f.name,
                        EventKind::Watched,
                        "guard: watching the flag, as its definition asks".into(),
                    ));
                    state
                        .flags
                        .entry(f.name.clone())
                        .or_insert_with(|| Watched::new(config.clone()))
                }
            };
            if w.config != config {
                w.window = window_for(&config);
                w.config = config;
            }
            let steps = |o: &Origin| match o {
                Origin::Definition { plan: Some(p), .. } => Some(p.steps.clone()),
                _ => None,
            };
            if w.plan.is_none() || steps(&w.origin) != steps(&origin) {
                w.plan = plan.map(|p| PlanRun::pending(p, now));
            }
            w.origin = origin;
            let position = Position {
                enabled: f.enabled,
                percent: f.rollout_percent(),
                paused: f.plan.as_ref().is_some_and(|p| p.paused),
                started_ms: f.plan.as_ref().and_then(|p| p.started_ms),
                done_ms: f.plan.as_ref().and_then(|p| p.done_ms),
            };
            if let Some(run) = &mut w.plan {
                if let Some((kind, message)) = run.follow(&position, now) {
                    if !matches!(kind, EventKind::Paused | EventKind::Resumed) {
                        // Judge what comes next on its own traffic.
                        w.window.clear();
                    }
                    events.push(event(at, &f.name, kind, message));
                }
            }
        }
        restart_changed(&mut state, &snap);
        let dropped: Vec<String> = state
            .flags
            .iter()
            .filter(|(name, w)| w.origin != Origin::Code && !asking.contains(name.as_str()))
            .map(|(name, _)| name.clone())
            .collect();
        for name in dropped {
            state.flags.remove(&name);
            events.push(event(
                at,
                &name,
                EventKind::Unwatched,
                "guard: no longer watching the flag (its definition dropped `guard` and `plan`, or the flag is gone)".into(),
            ));
        }
        record(&mut state, &events);
        events
    }
}

/// Starts the window afresh for every watched flag whose definition
/// changed in a way that changes who is served what (a kill, a re-enable,
/// a new percentage, new constraints), whoever changed it: this instance,
/// another one sharing the store, or an operator. Each instance then
/// judges only traffic served under the definition now live.
fn restart_changed(state: &mut State, snap: &Snapshot) {
    for (name, w) in state.flags.iter_mut() {
        let now = snap.feature(name);
        if let Some(before) = &w.definition {
            if now.as_ref().map(serving) != Some(serving(before)) {
                tracing::debug!(
                    target: "flags::guard",
                    message = "the definition changed; judging only traffic served under the new one",
                    feature_flag.key = %name,
                );
                if w.changed_here {
                    // This guard's own change, made right after its last
                    // read: what came since was served under the new one.
                    w.window.clear();
                } else {
                    // Someone else's, at an unknown moment since the last
                    // read: that interval is left out.
                    w.window.restart();
                    w.published = None;
                }
            }
        }
        w.changed_here = false;
        w.definition = now;
    }
}

#[cfg(test)]
mod tests;
