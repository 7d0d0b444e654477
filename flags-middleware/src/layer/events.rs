//! The `tracing` events: one per flag decision, one per finished request.
//!
//! Field names follow OpenTelemetry's `feature_flag.*` and `http.*`
//! conventions so log pipelines can map them without a rename table.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use axum::extract::MatchedPath;
use tracing::Level;

use super::config::IdLogging;
use super::request::{arm, Memo, RequestState};
use super::resolve::Resolved;
use crate::engine::{ErrorCode, Evaluation};
use crate::Context;

/// The target of decision events (the first evaluation of each flag in a
/// request).
pub const DECISION_TARGET: &str = "flags::decision";
/// The target of the event that closes a request that evaluated flags.
pub const REQUEST_TARGET: &str = "flags::request";
/// The target of the error logged when the extractor is used without the
/// layer.
pub const REJECTION_TARGET: &str = "flags::rejection";

/// `tracing::event!` at a level chosen at run time (the macro wants a
/// constant, so this expands one call site per level).
macro_rules! event_at {
    ($level:expr, target: $target:literal, $($rest:tt)+) => {
        match $level {
            Level::ERROR => tracing::event!(target: $target, Level::ERROR, $($rest)+),
            Level::WARN => tracing::event!(target: $target, Level::WARN, $($rest)+),
            Level::INFO => tracing::event!(target: $target, Level::INFO, $($rest)+),
            Level::DEBUG => tracing::event!(target: $target, Level::DEBUG, $($rest)+),
            _ => tracing::event!(target: $target, Level::TRACE, $($rest)+),
        }
    };
}

/// `tracing::enabled!` at a level chosen at run time.
macro_rules! enabled_at {
    ($level:expr, target: $target:literal) => {
        match $level {
            Level::ERROR => tracing::enabled!(target: $target, Level::ERROR),
            Level::WARN => tracing::enabled!(target: $target, Level::WARN),
            Level::INFO => tracing::enabled!(target: $target, Level::INFO),
            Level::DEBUG => tracing::enabled!(target: $target, Level::DEBUG),
            _ => tracing::enabled!(target: $target, Level::TRACE),
        }
    };
}

/// Emits the decision event for the first evaluation of a flag; `eval`
/// builds the evaluation, and runs only when a subscriber wants the event.
pub(crate) fn decision<'a>(
    state: &'a RequestState,
    resolved: &'a Resolved,
    forced: bool,
    eval: impl FnOnce() -> Evaluation<'a>,
) {
    let Some(level) = state.config.decision_level else {
        return;
    };
    if !enabled_at!(level, target: "flags::decision") {
        return;
    }
    let eval = &eval();
    // Field values are computed only when a subscriber wants the event.
    event_at!(
        level,
        target: "flags::decision",
        feature_flag.key = eval.key,
        feature_flag.result.variant = arm(&eval.variant),
        feature_flag.result.reason = eval.reason.as_str(),
        feature_flag.result.value = eval.enabled,
        feature_flag.result.random = eval.random.then_some(true),
        feature_flag.forced = forced.then_some(true),
        "error.type" = eval.error.map(ErrorCode::as_str),
        feature_flag.context.id = logged_id(&state.config.ids, &resolved.context).as_deref(),
        feature_flag.context.kind = id_kind(&resolved.context),
        feature_flag.version = eval.version,
        http.request.method = state.method.as_str(),
        http.route = state.route.get().map(MatchedPath::as_str),
        "flag decision"
    );
}

/// Emits the event closing a request that evaluated flags.
pub(crate) fn request(
    state: &RequestState,
    resolved: &Resolved,
    status: u16,
    latency: Duration,
    memo: &[Memo],
) {
    let Some(level) = state.config.request_level else {
        return;
    };
    let decisions = Decisions {
        state,
        resolved,
        memo,
    };
    event_at!(
        level,
        target: "flags::request",
        http.request.method = state.method.as_str(),
        http.route = state.route.get().map(MatchedPath::as_str),
        http.response.status_code = status,
        error = status >= 500,
        // Whole microseconds, so the JSON shows `1.92`, not `1.9200000000000002`.
        latency_ms = latency.as_micros() as f64 / 1000.0,
        feature_flag.context.id = logged_id(&state.config.ids, &resolved.context).as_deref(),
        feature_flag.context.kind = id_kind(&resolved.context),
        feature_flag.version = state.snapshot.version(),
        feature_flag.decisions = %decisions,
        "request finished"
    );
}

/// The id that stands for the caller in logs: the user id, else the
/// session id, as the configuration wants it shown.
pub(crate) fn logged_id<'a>(ids: &IdLogging, ctx: &'a Context) -> Option<Cow<'a, str>> {
    let id = ctx.get_user_id().or_else(|| ctx.get_session_id())?;
    match ids {
        IdLogging::Plain => Some(Cow::Borrowed(id)),
        IdLogging::Hashed(key) => Some(Cow::Owned(key.hash(id))),
        IdLogging::Omitted => None,
    }
}

/// Which id `feature_flag.context.id` is: `user`, `session` or `none`.
pub(crate) fn id_kind(ctx: &Context) -> &'static str {
    if ctx.get_user_id().is_some() {
        "user"
    } else if ctx.get_session_id().is_some() {
        "session"
    } else {
        "none"
    }
}

/// `flag=arm,flag=arm`, written straight into the event (no `String`, and
/// nothing at all when the event is filtered out).
struct Decisions<'a> {
    state: &'a RequestState,
    resolved: &'a Resolved,
    memo: &'a [Memo],
}

impl fmt::Display for Decisions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, m) in self.memo.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            let name = self.state.memo_name(m);
            let arm = arm(&self.state.variant(self.resolved, name, m.id, m.answer));
            write!(f, "{name}={arm}")?;
        }
        Ok(())
    }
}
