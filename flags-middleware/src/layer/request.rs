//! The state one request shares between the layer, the extractor and the
//! response future: the pinned snapshot and the memo of decisions.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Instant;

use axum::extract::MatchedPath;
use http::Method;

use super::config::Config;
use super::force::Forced;
use super::resolve::Resolved;
use crate::engine::{Decision, Evaluation, FlagId, Reason, Snapshot, Variant};

/// Put in the request extensions by the layer; the extractor reads it.
#[derive(Debug, Clone)]
pub(crate) struct RequestHandle(pub(crate) Arc<RequestState>);

/// One request's view of the flags.
#[derive(Debug)]
pub(crate) struct RequestState {
    /// Pinned when the request entered the layer: every answer comes from it.
    pub(crate) snapshot: Arc<Snapshot>,
    pub(crate) config: Arc<Config>,
    pub(crate) method: Method,
    pub(crate) started: Instant,
    /// The matched route template, recorded by the extractor (the router
    /// only knows it once it has routed, which is after the layer ran).
    pub(crate) route: OnceLock<MatchedPath>,
    /// Set on first extraction; `None` means no one asked for flags.
    pub(crate) resolved: OnceLock<Arc<Resolved>>,
    /// First answer per flag, in the order asked.
    pub(crate) memo: Mutex<Vec<Memo>>,
}

/// The first answer for one flag in this request.
#[derive(Debug)]
pub(crate) struct Memo {
    pub(crate) id: Option<FlagId>,
    /// The name as asked, kept only for flags the snapshot does not know.
    pub(crate) unknown: Option<Box<str>>,
    pub(crate) answer: Answer,
}

/// What [`RequestState::answer`] found: the flag's id and answer, and
/// whether this was the first time the request asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Asked {
    First(Option<FlagId>, Answer),
    Again(Option<FlagId>, Answer),
}

/// An engine decision, or an index into the request's forced flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    Decided(Decision),
    Forced(usize),
}

impl RequestState {
    pub(crate) fn new(snapshot: Arc<Snapshot>, config: Arc<Config>, method: Method) -> Self {
        RequestState {
            snapshot,
            config,
            method,
            started: Instant::now(),
            route: OnceLock::new(),
            resolved: OnceLock::new(),
            memo: Mutex::new(Vec::new()),
        }
    }

    /// The request's answer for `flag`: memoized, so a flag asked twice
    /// (even one bucketed at random) answers the same. `First` the first
    /// time, when the caller emits the decision event (it is the caller's
    /// to emit, so this state knows nothing of logging).
    pub(crate) fn answer(&self, resolved: &Resolved, flag: &str) -> Asked {
        let id = self.snapshot.lookup(flag);
        let mut memo = self.memo.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(m) = memo.iter().find(|m| m.is(id, flag)) {
            return Asked::Again(id, m.answer);
        }
        // Decided under the lock, so two threads asking at once for a
        // random-stickiness flag cannot get different answers.
        let answer = match resolved.forced.as_ref().and_then(|f| f.position(flag)) {
            Some(i) => Answer::Forced(i),
            None => Answer::Decided(self.snapshot.decide(id, &resolved.context)),
        };
        memo.push(Memo {
            id,
            unknown: id.is_none().then(|| flag.into()),
            answer,
        });
        Asked::First(id, answer)
    }

    /// Whether `answer` is "on", without building the variant.
    pub(crate) fn enabled(&self, resolved: &Resolved, answer: Answer) -> bool {
        match answer {
            Answer::Decided(d) => d.enabled,
            Answer::Forced(i) => !matches!(
                resolved.forced.as_ref().and_then(|f| f.get(i)),
                Some(Forced::Off)
            ),
        }
    }

    /// The whole evaluation behind `answer`.
    pub(crate) fn evaluation<'a>(
        &'a self,
        resolved: &'a Resolved,
        key: &'a str,
        id: Option<FlagId>,
        answer: Answer,
    ) -> Evaluation<'a> {
        match answer {
            Answer::Decided(d) => self.snapshot.evaluation(key, id, &d),
            Answer::Forced(_) => {
                let variant = self.variant(resolved, key, id, answer);
                Evaluation {
                    key,
                    enabled: variant.feature_enabled,
                    variant,
                    reason: Reason::TargetingMatch,
                    error: None,
                    random: false,
                    version: self.snapshot.version(),
                }
            }
        }
    }

    /// The variant behind `answer`; borrows only from the snapshot and the
    /// resolved request, never from `flag`.
    pub(crate) fn variant<'a>(
        &'a self,
        resolved: &'a Resolved,
        flag: &str,
        id: Option<FlagId>,
        answer: Answer,
    ) -> Variant<'a> {
        match answer {
            Answer::Decided(d) => match id.and_then(|id| self.snapshot.name(id)) {
                Some(name) => self.snapshot.evaluation(name, id, &d).variant,
                None => Variant::none(false),
            },
            Answer::Forced(i) => match resolved.forced.as_ref().and_then(|f| f.get(i)) {
                Some(Forced::On) | None => Variant::none(true),
                Some(Forced::Off) => Variant::none(false),
                Some(Forced::Variant(name)) => {
                    self.defined_variant(flag, name).unwrap_or(Variant {
                        name,
                        enabled: true,
                        feature_enabled: true,
                        payload: None,
                    })
                }
            },
        }
    }

    /// Variant `name` as the flag defines it (to carry its payload).
    fn defined_variant<'a>(&'a self, flag: &str, name: &str) -> Option<Variant<'a>> {
        self.snapshot.defined_variant(flag, name)
    }

    /// The name of a memoized flag.
    pub(crate) fn memo_name<'a>(&'a self, m: &'a Memo) -> &'a str {
        match (m.id.and_then(|id| self.snapshot.name(id)), &m.unknown) {
            (Some(name), _) => name,
            (None, Some(name)) => name,
            (None, None) => "",
        }
    }
}

impl Memo {
    fn is(&self, id: Option<FlagId>, flag: &str) -> bool {
        match (id, &self.unknown) {
            (Some(id), _) => self.id == Some(id),
            (None, Some(name)) => **name == *flag,
            (None, None) => false,
        }
    }
}

/// The arm a request got: the variant's name, or `on` / `off`.
pub(crate) fn arm<'a>(variant: &Variant<'a>) -> &'a str {
    if variant.enabled {
        variant.name
    } else if variant.feature_enabled {
        "on"
    } else {
        "off"
    }
}
