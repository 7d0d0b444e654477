//! The rollout guard's keys of a flag table, written as a person would:
//! `guard = true`, percentages as `"2%"`, durations as `"5m"`, and
//! `plan = "gradual"` when it is.

use toml_edit::{Array, InlineTable, Value};

use crate::format::toml::duration::format_millis;
use crate::guard::Plan;
use crate::model::{GuardSpec, LatencySpec, PlanSpec};

/// `guard = ..`.
pub(super) fn guard_value(spec: &GuardSpec) -> Value {
    if *spec == GuardSpec::default() {
        return true.into();
    }
    let mut t = InlineTable::new();
    if let Some(n) = spec.min_requests {
        t.insert("min_requests", (n.min(i64::MAX as u64) as i64).into());
    }
    if let Some(d) = spec.min_difference {
        t.insert("min_difference", fraction(d));
    }
    if let Some(r) = spec.max_error_rate {
        t.insert("max_error_rate", fraction(r));
    }
    if let Some(a) = spec.alpha {
        t.insert("alpha", a.into());
    }
    if let Some(ms) = spec.window_ms {
        t.insert("window", format_millis(ms).into());
    }
    if let Some(ms) = spec.bucket_ms {
        t.insert("bucket", format_millis(ms).into());
    }
    if let Some(v) = &spec.variant {
        t.insert("variant", v.as_str().into());
    }
    if let Some(l) = &spec.latency {
        t.insert("latency", latency_value(l));
    }
    Value::InlineTable(t)
}

fn latency_value(spec: &LatencySpec) -> Value {
    if *spec == LatencySpec::default() {
        return true.into();
    }
    let mut t = InlineTable::new();
    if let Some(q) = spec.quantile {
        t.insert("quantile", q.into());
    }
    if let Some(f) = spec.factor {
        t.insert("factor", f.into());
    }
    if let Some(ms) = spec.min_increase_ms {
        t.insert("min_increase", format_millis(ms).into());
    }
    Value::InlineTable(t)
}

/// `"2%"` when that reads back as exactly `f`, else the fraction itself.
fn fraction(f: f64) -> Value {
    let text = format!("{}%", f * 100.0);
    let back = text
        .strip_suffix('%')
        .and_then(|p| p.parse::<f64>().ok())
        .map(|p| p / 100.0);
    if back == Some(f) {
        text.into()
    } else {
        f.into()
    }
}

/// `plan = ..`.
pub(super) fn plan_value(spec: &PlanSpec) -> Value {
    let steps: Value = if spec.steps == Plan::gradual().to_spec().steps {
        "gradual".into()
    } else {
        let mut list = Array::new();
        for s in &spec.steps {
            let mut step = InlineTable::new();
            step.insert("percent", i64::from(s.percent).into());
            if s.min_duration_ms > 0 {
                step.insert("for", format_millis(s.min_duration_ms).into());
            }
            list.push(step);
        }
        Value::Array(list)
    };
    if !spec.paused && spec.started_ms.is_none() && spec.done_ms.is_none() {
        return steps;
    }
    let mut t = InlineTable::new();
    t.insert("steps", steps);
    if spec.paused {
        t.insert("paused", true.into());
    }
    if let Some(ms) = spec.started_ms {
        t.insert("started", instant(ms));
    }
    if let Some(ms) = spec.done_ms {
        t.insert("done", format_millis(ms).into());
    }
    Value::InlineTable(t)
}

/// `ms` since the Unix epoch as an RFC 3339 time, to the millisecond when
/// it has one.
fn instant(ms: u64) -> Value {
    let t = i64::try_from(ms)
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .unwrap_or_default();
    let format = if ms % 1000 == 0 {
        chrono::SecondsFormat::Secs
    } else {
        chrono::SecondsFormat::Millis
    };
    t.to_rfc3339_opts(format, true).into()
}
