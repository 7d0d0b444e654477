//! OpenFeature's evaluation context in Unleash's vocabulary.

use chrono::{DateTime, SecondsFormat, Utc};
use flags_middleware::Context;
use open_feature::{EvaluationContext, EvaluationContextFieldValue};

/// The [`Context`] an OpenFeature evaluation context stands for, mapped as
/// Unleash's own OpenFeature providers map it:
///
/// - `targeting_key` is the user id (it wins over a `userId` field);
/// - the fields `userId`, `sessionId`, `remoteAddress`, `environment`,
///   `appName` and `currentTime` set Unleash's fields of those names
///   (`currentTime` as a date-time or as RFC 3339 text);
/// - every other scalar field is a custom property: text as it is, numbers and
///   booleans as their text (`42`, `0.5`, `true`), date-times as RFC 3339 text;
/// - structures are ignored (Unleash's context has no nested values).
///
/// ```
/// use flags_openfeature::to_context;
/// use open_feature::EvaluationContext;
///
/// let ctx = to_context(
///     &EvaluationContext::default()
///         .with_targeting_key("user_123")
///         .with_custom_field("sessionId", "s-1")
///         .with_custom_field("beta", true)
///         .with_custom_field("seats", 12),
/// );
/// assert_eq!(ctx.get_user_id(), Some("user_123"));
/// assert_eq!(ctx.get_session_id(), Some("s-1"));
/// assert_eq!(ctx.get("beta"), Some("true"));
/// assert_eq!(ctx.get("seats"), Some("12"));
/// ```
pub fn to_context(evaluation: &EvaluationContext) -> Context {
    let mut ctx = Context::new();
    // Sorted, so a context maps the same whatever the hash map's order.
    let mut fields: Vec<_> = evaluation.custom_fields.iter().collect();
    fields.sort_by(|a, b| a.0.cmp(b.0));
    for (key, value) in fields {
        match value {
            EvaluationContextFieldValue::DateTime(at) if key == "currentTime" => {
                if let Some(at) = to_chrono(at.unix_timestamp_nanos()) {
                    ctx = ctx.current_time(at);
                }
            }
            _ => {
                if let Some(text) = scalar_text(value) {
                    ctx.set(key.as_str(), text);
                }
            }
        }
    }
    if let Some(user) = &evaluation.targeting_key {
        ctx = ctx.user_id(user.as_str());
    }
    ctx
}

/// A scalar field's text; `None` for a structure.
fn scalar_text(value: &EvaluationContextFieldValue) -> Option<String> {
    match value {
        EvaluationContextFieldValue::String(s) => Some(s.clone()),
        EvaluationContextFieldValue::Bool(b) => Some(b.to_string()),
        EvaluationContextFieldValue::Int(i) => Some(i.to_string()),
        EvaluationContextFieldValue::Float(f) => Some(f.to_string()),
        EvaluationContextFieldValue::DateTime(at) => to_chrono(at.unix_timestamp_nanos())
            .map(|at| at.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        EvaluationContextFieldValue::Struct(_) => None,
    }
}

/// The SDK's `time` date-time as chrono's (no formatting features of
/// `time` needed); `None` past the year 2262.
fn to_chrono(unix_nanos: i128) -> Option<DateTime<Utc>> {
    i64::try_from(unix_nanos)
        .ok()
        .map(DateTime::from_timestamp_nanos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn maps_unleash_fields_properties_and_ignores_structures() {
        let evaluation = EvaluationContext::default()
            .with_targeting_key("ann")
            .with_custom_field("userId", "ignored: the targeting key wins")
            .with_custom_field("sessionId", "s-9")
            .with_custom_field("remoteAddress", "10.1.2.3")
            .with_custom_field("environment", "production")
            .with_custom_field("appName", "checkout")
            .with_custom_field("ratio", 0.25)
            .with_custom_field("beta", false)
            .with_custom_field(
                "nested",
                EvaluationContextFieldValue::Struct(Arc::new(7_u8)),
            );
        let ctx = to_context(&evaluation);
        assert_eq!(ctx.get_user_id(), Some("ann"));
        assert_eq!(ctx.get_session_id(), Some("s-9"));
        assert_eq!(ctx.remote_ip(), Some("10.1.2.3".parse().unwrap()));
        assert_eq!(ctx.get("environment"), Some("production"));
        assert_eq!(ctx.get("appName"), Some("checkout"));
        assert_eq!(ctx.get("ratio"), Some("0.25"));
        assert_eq!(ctx.get("beta"), Some("false"));
        assert_eq!(ctx.get("nested"), None);
        assert_eq!(ctx.properties().count(), 2, "only ratio and beta");
    }

    #[test]
    fn current_time_from_a_date_time_or_text() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let nanos = i128::from(at.timestamp_nanos_opt().unwrap());
        let time = open_feature_time(nanos);
        let ctx = to_context(
            &EvaluationContext::default().with_custom_field("currentTime", time.clone()),
        );
        assert_eq!(ctx.get_current_time(), Some(at));
        let ctx = to_context(
            &EvaluationContext::default().with_custom_field("currentTime", "2026-03-01T12:00:00Z"),
        );
        assert_eq!(ctx.get_current_time(), Some(at));
        let ctx = to_context(&EvaluationContext::default().with_custom_field("signup", time));
        assert_eq!(ctx.get("signup"), Some("2026-03-01T12:00:00Z"));
    }

    /// A date-time of the SDK's type (`time`'s).
    fn open_feature_time(unix_nanos: i128) -> EvaluationContextFieldValue {
        EvaluationContextFieldValue::DateTime(
            time::OffsetDateTime::from_unix_timestamp_nanos(unix_nanos).unwrap(),
        )
    }
}
