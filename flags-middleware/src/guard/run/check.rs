//! A check: read every watched flag's counts, judge each, then apply the
//! kills and due plan steps one by one, committing each to the state only
//! once it is applied.

use std::time::SystemTime;

use super::action::Action;
use super::guard::Guard;
use super::record::{event, record};
use super::share::{fleet_window, FleetWindows};
use crate::edit::Edit;
use crate::guard::clock::unix_millis;
use crate::guard::detect::{judge, Finding, Status};
use crate::guard::event::{EventKind, GuardEvent};
use crate::guard::fleet::definition_key;
use crate::guard::plan::{Due, PlanStatus};
use crate::model::Feature;

/// What a check decided for one flag, to apply then commit.
enum Pending {
    Kill {
        flag: String,
        finding: Finding,
        judged: Option<Feature>,
    },
    Step {
        flag: String,
        judged: Option<Feature>,
        index: usize,
        from: Option<u32>,
        to: u32,
        of: usize,
    },
    Complete {
        flag: String,
    },
}

impl Guard {
    /// Reads the counts of every watched flag, judges each, and applies
    /// kills and due plan steps; returns what was done. The spawned task
    /// calls this every interval; tests call it directly.
    ///
    /// ```
    /// use flags_middleware::guard::{Guard, GuardConfig, ManualClock, Plan};
    /// use flags_middleware::Flags;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[f]\nrollout = 5\n[g]\nrollout = 0\n", "flags.toml").unwrap();
    /// let guard = Guard::for_flags(&flags)
    ///     .clock(ManualClock::new())
    ///     .watch("f", GuardConfig::new())
    ///     .plan("g", GuardConfig::new(), Plan::gradual())
    ///     .build();
    /// let events = guard.check().await;
    /// let done: Vec<(&str, &str)> = events.iter().map(|e| (e.flag.as_str(), e.message.as_str())).collect();
    /// assert_eq!(done, [("g", "plan: start at 5% (step 1 of 4)")]); // nothing to do for `f`
    /// assert_eq!(guard.snapshot().checks, 1);
    /// # }
    /// ```
    pub async fn check(&self) -> Vec<GuardEvent> {
        let _op = self.shared.ops.lock().await;
        let mut events = self.follow_definitions();
        let now = self.shared.clock.now();
        let shares = self.observe(now);
        let fleet = match shares {
            Some(shares) => self.exchange(shares).await,
            None => None,
        };
        let pending = self.decide(now, fleet);
        for p in pending {
            events.extend(self.carry_out(p).await);
        }
        events
    }

    /// Judges every watched flag, on the fleet's window when there is one
    /// for it, else on its own.
    fn decide(&self, now: SystemTime, mut fleet: Option<FleetWindows>) -> Vec<Pending> {
        let mut state = self.state();
        let mut pending = Vec::new();
        for (flag, w) in state.flags.iter_mut() {
            let buckets = fleet.as_mut().and_then(|f| f.remove(flag));
            // The plan's step counts the fleet's new-arm requests when
            // there are sums for the flag, else this instance's own.
            let own_new = std::mem::take(&mut w.own_new);
            let served = match &buckets {
                Some(b) => w
                    .tally
                    .take(w.definition.as_ref().map_or(0, definition_key), b),
                None => own_new,
            };
            if let Some(plan) = &mut w.plan {
                plan.count(served);
            }
            w.fleet = buckets.map(|b| fleet_window(&w.config, &b));
            let verdict = judge(w.fleet.as_ref().unwrap_or(&w.window), &w.config, now);
            match (&verdict.status, &verdict.finding, &w.plan) {
                // A flag already off (killed by another instance, or by an
                // operator) has nothing left to kill.
                (Status::Kill, Some(_), _) if w.known_off() => {}
                (Status::Kill, Some(finding), _) => pending.push(Pending::Kill {
                    flag: flag.clone(),
                    finding: finding.clone(),
                    judged: w.definition.clone(),
                }),
                (_, _, Some(plan)) if !w.held() => {
                    match plan.due(now, verdict.status, w.config.settings().min_requests) {
                        Some(Due::Step(index)) => pending.push(Pending::Step {
                            flag: flag.clone(),
                            judged: w.definition.clone(),
                            index,
                            from: (plan.status() != PlanStatus::Pending)
                                .then(|| plan.percent(plan.step_index())),
                            to: plan.percent(index),
                            of: plan.len(),
                        }),
                        Some(Due::Complete) => {
                            pending.push(Pending::Complete { flag: flag.clone() })
                        }
                        None => {}
                    }
                }
                _ => {}
            }
            w.last = Some(verdict);
        }
        pending
    }

    /// Applies one decision and commits it (or records the failure, to be
    /// retried at the next check since the state still calls for it).
    async fn carry_out(&self, p: Pending) -> Vec<GuardEvent> {
        match p {
            Pending::Kill {
                flag,
                finding,
                judged,
            } => {
                let message = finding.message();
                let action = conditional(Action::new(Edit::kill(&flag), message.clone()), judged);
                let result = self.shared.applier.apply_checked(&action).await;
                let at = unix_millis(self.shared.clock.now());
                let mut state = self.state();
                let mut events = Vec::new();
                match result {
                    Ok(applied) if applied.superseded => superseded(&flag, "kill"),
                    Ok(applied) if !applied.changed => {
                        // Already off (an applier that does not check the
                        // judged definition): nothing to count or report,
                        // and the window's traffic is of an arm no longer
                        // served, so it is not judged again.
                        if let Some(w) = state.flags.get_mut(&flag) {
                            w.window.clear();
                        }
                        tracing::info!(
                            target: "flags::guard",
                            message = "guard: kill not made: the flag was already off",
                            feature_flag.key = %flag,
                        );
                    }
                    Ok(_) => {
                        if let Some(w) = state.flags.get_mut(&flag) {
                            // Judge a re-enabled flag on fresh traffic only.
                            w.window.clear();
                            w.kills += 1;
                            w.changed_here = true;
                            if let Some(plan) = &mut w.plan {
                                let before = plan.status();
                                plan.halt(message.clone());
                                if plan.status() != before {
                                    events.push(event(
                                        at,
                                        &flag,
                                        EventKind::Halted,
                                        format!("plan halted: {message}"),
                                    ));
                                }
                            }
                        }
                        events.insert(0, event(at, &flag, EventKind::Killed { finding }, message));
                    }
                    Err(e) => events.push(event(
                        at,
                        &flag,
                        EventKind::KillFailed {
                            error: e.to_string(),
                        },
                        format!("guard: could not kill: {e} (decided on: {message})"),
                    )),
                }
                record(&mut state, &events);
                events
            }
            Pending::Step {
                flag,
                judged,
                index,
                from,
                to,
                of,
            } => {
                let message = match from {
                    None => format!("plan: start at {to}% (step 1 of {of})"),
                    Some(from) => format!(
                        "plan: {from}% -> {to}% (step {} of {of}), previous step healthy",
                        index + 1
                    ),
                };
                let now = self.shared.clock.now();
                let action = conditional(
                    Action::new(
                        Edit::plan_step(&flag, to, unix_millis(now)),
                        message.clone(),
                    ),
                    judged,
                );
                let result = self.shared.applier.apply_checked(&action).await;
                let mut state = self.state();
                let events = match result {
                    Ok(applied) if applied.superseded => {
                        // Another instance took the step first: the plan
                        // follows its definition at the next check.
                        superseded(&flag, "plan step");
                        Vec::new()
                    }
                    Ok(_) => {
                        if let Some(w) = state.flags.get_mut(&flag) {
                            w.changed_here = true;
                            if let Some(plan) = &mut w.plan {
                                plan.enter(index, now);
                            }
                        }
                        vec![event(
                            unix_millis(now),
                            &flag,
                            EventKind::Advanced {
                                from,
                                to,
                                step: index + 1,
                                of,
                            },
                            message,
                        )]
                    }
                    Err(e) => vec![event(
                        unix_millis(now),
                        &flag,
                        EventKind::AdvanceFailed {
                            to,
                            error: e.to_string(),
                        },
                        format!("plan: could not set {to}%: {e}"),
                    )],
                };
                record(&mut state, &events);
                events
            }
            Pending::Complete { flag } => {
                let at = unix_millis(self.shared.clock.now());
                let mut state = self.state();
                if let Some(plan) = state.flags.get_mut(&flag).and_then(|w| w.plan.as_mut()) {
                    plan.complete();
                }
                let events = vec![event(
                    at,
                    &flag,
                    EventKind::Completed,
                    "plan: completed".into(),
                )];
                record(&mut state, &events);
                events
            }
        }
    }
}

/// `action`, made only while the flag is still as judged (when known).
fn conditional(action: Action, judged: Option<Feature>) -> Action {
    match judged {
        Some(definition) => action.unless_changed_from(definition),
        None => action,
    }
}

/// Logs a decision another instance (or an operator) made moot: the flag
/// changed since it was judged, so nothing was written.
fn superseded(flag: &str, what: &str) {
    tracing::info!(
        target: "flags::guard",
        message = %format!("guard: {what} not made: the flag changed since it was judged (another instance acted first?)"),
        feature_flag.key = %flag,
    );
}
