//! The `tracing` events: one per flag decision, one per finished request.
//!
//! Field names follow OpenTelemetry's `feature_flag.*` and `http.*`
//! conventions so log pipelines can map them without a rename table.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use tracing::Level;

use super::config::{Config, IdLogging};
use super::memo::{Answer, Read};
use super::request::{arm, RequestState};
use crate::engine::{ErrorCode, Evaluation, Reason};
use crate::Context;

/// The target of decision events (the first evaluation of each flag in a
/// request).
///
/// ```
/// # use axum::{body::Body, http::Request, routing::get, Router};
/// # use tower::ServiceExt as _;
/// use flags_middleware::layer::{DecisionLog, DECISION_TARGET};
/// use flags_middleware::{FlagContext, Flags, FlagsLayer};
/// use tracing_subscriber::EnvFilter;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// # let log = tempfile::NamedTempFile::new().unwrap();
/// // The decisions only, e.g. as an experiment's exposure log.
/// let filter = EnvFilter::new(format!("{DECISION_TARGET}=info"));
/// let subscriber = tracing_subscriber::fmt().with_env_filter(filter).with_writer(log.reopen().unwrap()).with_ansi(false).finish();
/// let _guard = tracing::subscriber::set_default(subscriber);
/// # let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
/// let app = Router::new()
///     .route("/", get(|f: FlagContext| async move { f.is_enabled("new_checkout_flow").to_string() }))
///     .layer(FlagsLayer::new(flags).decision_log(DecisionLog::PerDecision));
/// app.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
/// let events = std::fs::read_to_string(log.path()).unwrap();
/// assert!(events.contains("flag decision") && events.contains("new_checkout_flow"), "{events}");
/// assert!(!events.contains("request finished"));
/// # }
/// ```
pub const DECISION_TARGET: &str = "flags::decision";
/// The target of the event that closes a request that evaluated flags.
///
/// ```
/// # use axum::{body::Body, http::Request, routing::get, Router};
/// # use tower::ServiceExt as _;
/// use flags_middleware::{layer::REQUEST_TARGET, FlagContext, Flags, FlagsLayer};
/// use tracing_subscriber::EnvFilter;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// # let log = tempfile::NamedTempFile::new().unwrap();
/// // The app's INFO logs, without a line per request from the flags.
/// let filter = EnvFilter::new(format!("info,{REQUEST_TARGET}=off"));
/// let subscriber = tracing_subscriber::fmt().with_env_filter(filter).with_writer(log.reopen().unwrap()).with_ansi(false).finish();
/// let _guard = tracing::subscriber::set_default(subscriber);
/// # let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
/// let handler = |f: FlagContext| async move {
///     tracing::info!("checkout served");
///     f.is_enabled("new_checkout_flow").to_string()
/// };
/// let app = Router::new().route("/", get(handler)).layer(FlagsLayer::new(flags));
/// app.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
/// let events = std::fs::read_to_string(log.path()).unwrap();
/// assert!(events.contains("checkout served") && !events.contains("request finished"), "{events}");
/// # }
/// ```
pub const REQUEST_TARGET: &str = "flags::request";
/// The target of the error logged when the extractor is used without the
/// layer.
///
/// ```
/// # use axum::{body::Body, http::Request, routing::get, Router};
/// # use tower::ServiceExt as _;
/// use flags_middleware::{layer::REJECTION_TARGET, FlagContext};
/// use tracing_subscriber::EnvFilter;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// # let log = tempfile::NamedTempFile::new().unwrap();
/// // A wiring bug worth an alert of its own.
/// let filter = EnvFilter::new(format!("{REJECTION_TARGET}=error"));
/// let subscriber = tracing_subscriber::fmt().with_env_filter(filter).with_writer(log.reopen().unwrap()).with_ansi(false).finish();
/// let _guard = tracing::subscriber::set_default(subscriber);
/// let app = Router::new().route("/", get(|f: FlagContext| async move { f.version().to_string() })); // no FlagsLayer
/// let res = app.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
/// assert_eq!(res.status(), 500);
/// let events = std::fs::read_to_string(log.path()).unwrap();
/// assert!(events.contains("FlagContext used without FlagsLayer"), "{events}");
/// # }
/// ```
pub const REJECTION_TARGET: &str = "flags::rejection";

/// `tracing::event!` at a level chosen at run time (the macro wants a
/// constant, so this expands one call site per level).
macro_rules! event_at {
    ($level:expr, name: $name:literal, target: $target:literal, $($rest:tt)+) => {
        match $level {
            Level::ERROR => tracing::event!(name: $name, target: $target, Level::ERROR, $($rest)+),
            Level::WARN => tracing::event!(name: $name, target: $target, Level::WARN, $($rest)+),
            Level::INFO => tracing::event!(name: $name, target: $target, Level::INFO, $($rest)+),
            Level::DEBUG => tracing::event!(name: $name, target: $target, Level::DEBUG, $($rest)+),
            _ => tracing::event!(name: $name, target: $target, Level::TRACE, $($rest)+),
        }
    };
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

/// Whether a request's decisions get events of their own: asked once, when
/// the request first asks for its flags.
pub(crate) fn decisions_wanted(config: &Config) -> bool {
    match config.decision_level {
        Some(level) if config.per_decision() => enabled_at!(level, target: "flags::decision"),
        _ => false,
    }
}

/// Emits the decision event for the first evaluation of a flag; `eval`
/// builds the evaluation. Call only when `state.decision_events`.
pub(crate) fn decision<'a>(
    state: &'a RequestState,
    forced: bool,
    eval: impl FnOnce() -> Evaluation<'a>,
) {
    let Some(level) = state.config.decision_level else {
        return;
    };
    let resolved = &state.resolved;
    let eval = &eval();
    // Field values are computed only when a subscriber wants the event.
    event_at!(
        level,
        name: "feature_flag.evaluation",
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
        http.route = state.route(),
        "flag decision"
    );
}

/// Emits the event closing a request that evaluated flags.
pub(crate) fn request(state: &RequestState, status: u16, latency: Duration, memo: &Read<'_>) {
    let Some(level) = state.config.request_level else {
        return;
    };
    let resolved = &state.resolved;
    let list = |part| List { state, memo, part };
    // When this request's decisions had events of their own, those carry
    // each flag's reason and marks, and this event only lists the arms;
    // otherwise (the default, or decision events filtered away) it says it
    // all. Fields left `None` are left out of the event.
    let summary = !state.decision_events;
    // The flags marked forced, random or unknown: usually none, and then
    // the fields are left out.
    let marked =
        |part: Part| (summary && memo.iter().any(|e| part.marks(e.answer))).then(|| list(part));
    event_at!(
        level,
        target: "flags::request",
        http.request.method = state.method.as_str(),
        http.route = state.route(),
        http.response.status_code = status,
        error = crate::metrics::is_error(status),
        // Whole microseconds, so the JSON shows `1.92`, not `1.9200000000000002`.
        latency_ms = latency.as_micros() as f64 / 1000.0,
        feature_flag.context.id = logged_id(&state.config.ids, &resolved.context).as_deref(),
        feature_flag.context.kind = id_kind(&resolved.context),
        feature_flag.version = state.snapshot.version(),
        feature_flag.decisions = %list(Part::Arm),
        feature_flag.reasons = summary
            .then(|| list(Part::Reason))
            .map(tracing::field::display),
        feature_flag.forced = marked(Part::Forced).map(tracing::field::display),
        feature_flag.random = marked(Part::Random).map(tracing::field::display),
        "error.type" = marked(Part::Error).map(tracing::field::display),
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

/// Which list of a request's decisions [`List`] writes.
#[derive(Clone, Copy)]
enum Part {
    /// `flag=arm,...`, every flag.
    Arm,
    /// `flag=reason,...`, every flag.
    Reason,
    /// `flag,...`, the forced ones.
    Forced,
    /// `flag,...`, the ones bucketed at random (no sticky id).
    Random,
    /// `flag=error,...`, the ones in error (unknown flags).
    Error,
}

impl Part {
    /// Whether the list of this part has an entry for `answer`.
    fn marks(self, answer: Answer) -> bool {
        match (self, answer) {
            (Part::Arm | Part::Reason, _) => true,
            (Part::Forced, Answer::Forced(_)) => true,
            (Part::Random, Answer::Decided(d)) => d.random,
            (Part::Error, Answer::Decided(d)) => d.error.is_some(),
            _ => false,
        }
    }
}

/// One list of a request's decisions, written straight into the event (no
/// `String`, and nothing at all when the event is filtered out).
struct List<'a> {
    state: &'a RequestState,
    memo: &'a Read<'a>,
    part: Part,
}

impl fmt::Display for List<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (state, memo) = (self.state, self.memo);
        let entries = memo.iter().filter(|e| self.part.marks(e.answer));
        for (i, e) in entries.enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            let name = state.memo_name(memo, e);
            f.write_str(name)?;
            match (self.part, e.answer) {
                (Part::Arm, _) => write!(f, "={}", state.memo_arm(memo, e))?,
                // Forced answers are reported as targeted, as in decision
                // events, and listed in `feature_flag.forced`.
                (Part::Reason, Answer::Forced(_)) => {
                    write!(f, "={}", Reason::TargetingMatch.as_str())?
                }
                (Part::Reason, Answer::Decided(d)) => write!(f, "={}", d.reason.as_str())?,
                (Part::Error, Answer::Decided(d)) => {
                    write!(f, "={}", d.error.map_or("", ErrorCode::as_str))?
                }
                _ => {}
            }
        }
        Ok(())
    }
}
