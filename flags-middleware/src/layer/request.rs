//! The state one request shares between the extractor, every clone of its
//! [`FlagContext`](crate::FlagContext) and the response future: the pinned
//! snapshot, who is asking, and the memo of decisions. Made (one allocation)
//! the first time the request asks for its flags.

use std::sync::{Arc, OnceLock};

use axum::extract::MatchedPath;
use http::Method;

use super::config::Config;
use super::force::Forced;
pub(crate) use super::memo::Answer;
use super::memo::{Entry, Memo, Read};
use super::resolve::Resolved;
use crate::engine::{Evaluation, FlagId, Reason, Snapshot, Variant};

/// One request's view of the flags.
#[derive(Debug)]
pub(crate) struct RequestState {
    /// Pinned when the request first asked: every answer comes from it.
    pub(crate) snapshot: Arc<Snapshot>,
    pub(crate) config: Arc<Config>,
    pub(crate) method: Method,
    /// The matched route template, as the extraction that made this state
    /// found it (the router only knows it once it has routed, which is
    /// after the layer ran).
    route: Option<MatchedPath>,
    /// The route template, when a later extraction (below the router) knew
    /// it and the first (above it) did not. Apart from `route` because a
    /// `OnceLock` built already set costs a synchronised initialisation.
    late_route: OnceLock<MatchedPath>,
    /// Who is asking, fixed for the rest of the request.
    pub(crate) resolved: Resolved,
    /// Whether a subscriber wants this request's decision events: asked
    /// once per request, not once per decision.
    pub(crate) decision_events: bool,
    /// First answer per flag, in the order asked.
    pub(crate) memo: Memo,
}

/// What [`RequestState::answer`] found: the flag's id and answer, and
/// whether this was the first time the request asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Asked {
    First(Option<FlagId>, Answer),
    Again(Option<FlagId>, Answer),
}

impl RequestState {
    #[inline(always)]
    pub(crate) fn new(
        snapshot: Arc<Snapshot>,
        config: Arc<Config>,
        (method, route): (Method, Option<MatchedPath>),
        resolved: Resolved,
        decision_events: bool,
    ) -> Self {
        RequestState {
            snapshot,
            config,
            method,
            route,
            late_route: OnceLock::new(),
            resolved,
            decision_events,
            memo: Memo::default(),
        }
    }

    /// The request's answer for `flag`: memoized, so a flag asked twice
    /// (even one bucketed at random) answers the same. `First` the first
    /// time, when the caller emits the decision event (it is the caller's
    /// to emit, so this state knows nothing of logging).
    pub(crate) fn answer(&self, flag: &str) -> Asked {
        let id = self.snapshot.lookup(flag);
        let resolved = &self.resolved;
        let (answer, first) = self.memo.answer(id, flag, || {
            match resolved.forced.as_ref().and_then(|f| f.position(flag)) {
                Some(i) => Answer::Forced(i),
                None => Answer::Decided(self.snapshot.decide(id, &resolved.context)),
            }
        });
        match first {
            true => Asked::First(id, answer),
            false => Asked::Again(id, answer),
        }
    }

    /// The matched route template, if known.
    pub(crate) fn route(&self) -> Option<&str> {
        self.matched_path().map(MatchedPath::as_str)
    }

    /// The matched route as the router gave it: every request on a route
    /// shares its string, so it can be recognised by address.
    pub(crate) fn matched_path(&self) -> Option<&MatchedPath> {
        self.route.as_ref().or_else(|| self.late_route.get())
    }

    /// Records the route template when it was not known before.
    pub(crate) fn learn_route(&self, parts: &http::request::Parts) {
        if self.route.is_none() && self.late_route.get().is_none() {
            if let Some(route) = parts.extensions.get::<MatchedPath>() {
                let _ = self.late_route.set(route.clone());
            }
        }
    }

    /// Whether `answer` is "on", without building the variant.
    pub(crate) fn enabled(&self, answer: Answer) -> bool {
        match answer {
            Answer::Decided(d) => d.enabled,
            Answer::Forced(i) => !matches!(
                self.resolved.forced.as_ref().and_then(|f| f.get(i)),
                Some(Forced::Off)
            ),
        }
    }

    /// The whole evaluation behind `answer`.
    pub(crate) fn evaluation<'a>(
        &'a self,
        key: &'a str,
        id: Option<FlagId>,
        answer: Answer,
    ) -> Evaluation<'a> {
        match answer {
            Answer::Decided(d) => self.snapshot.evaluation(key, id, &d),
            Answer::Forced(_) => {
                let variant = self.variant(key, id, answer);
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
        flag: &str,
        id: Option<FlagId>,
        answer: Answer,
    ) -> Variant<'a> {
        match answer {
            // The key only labels an evaluation; the variant does not need it.
            Answer::Decided(d) => self.snapshot.evaluation("", id, &d).variant,
            Answer::Forced(i) => match self.resolved.forced.as_ref().and_then(|f| f.get(i)) {
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
    pub(crate) fn memo_name<'a>(&'a self, memo: &'a Read<'_>, entry: &Entry) -> &'a str {
        match entry.id.and_then(|id| self.snapshot.name(id)) {
            Some(name) => name,
            None => memo.unknown_name(entry).unwrap_or(""),
        }
    }

    /// The arm of a memoized flag (`on` / `off` or the variant's name).
    pub(crate) fn memo_arm<'a>(&'a self, memo: &'a Read<'_>, entry: &Entry) -> &'a str {
        arm(&self.variant(self.memo_name(memo, entry), entry.id, entry.answer))
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
