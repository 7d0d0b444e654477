//! Decision events for answers served to a client: the layer's
//! `flags::decision` event, same fields, plus `feature_flag.served_to =
//! "client"`, so log queries count browser and server decisions alike and
//! can tell them apart.

use tracing::Level;

use crate::engine::Evaluation;
use crate::layer::{arm, id_kind, logged_id, IdLogging};
use crate::Context;

/// Whether anyone listens for decision events (checked once per request).
pub(crate) fn wanted() -> bool {
    tracing::enabled!(target: "flags::decision", Level::INFO)
}

/// One decision served to a client.
pub(crate) fn decision(eval: &Evaluation<'_>, ctx: &Context, ids: &IdLogging, route: &str) {
    let arm = arm(&eval.variant);
    tracing::event!(
        name: "feature_flag.evaluation",
        target: "flags::decision",
        Level::INFO,
        feature_flag.key = eval.key,
        feature_flag.result.variant = arm,
        feature_flag.result.reason = eval.reason.as_str(),
        feature_flag.result.value = eval.enabled,
        feature_flag.result.random = eval.random.then_some(true),
        feature_flag.context.id = logged_id(ids, ctx).as_deref(),
        feature_flag.context.kind = id_kind(ctx),
        feature_flag.version = eval.version,
        feature_flag.served_to = "client",
        http.route = route,
        "flag decision"
    );
}
