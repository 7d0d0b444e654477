//! The rollout guard's keys of a flag table: `guard` and `plan`.
//!
//! ```toml
//! [new_checkout_flow]
//! rollout = 5
//! guard = { min_difference = "2%", window = "10m" }   # or `guard = true`
//! plan = [{ percent = 5, for = "1d" }, { percent = 25, for = "2d" }, { percent = 100 }]
//! ```
//!
//! Ranges and the order of steps are checked where every source is, when
//! the flag compiles; here only shapes and units. They are written as a
//! person would: `guard = true`, percentages as `"2%"`, durations as
//! `"5m"`, and `plan = "gradual"` when it is.

use toml_edit::{Array, InlineTable, Value};

use super::duration::{format_millis, parse_millis};
use super::node::Node;
use super::reader::{join, Reader};
use crate::guard::Plan;
use crate::model::{GuardSpec, LatencySpec, PlanSpec, PlanStep};

/// Keys of `guard = { .. }`.
const GUARD_KEYS: &[&str] = &[
    "min_requests",
    "min_difference",
    "max_error_rate",
    "alpha",
    "window",
    "bucket",
    "variant",
    "latency",
];

/// Keys of `guard.latency = { .. }`.
const LATENCY_KEYS: &[&str] = &["quantile", "factor", "min_increase"];

/// Keys of `plan = { .. }`.
const PLAN_KEYS: &[&str] = &["steps", "paused", "started", "done"];

/// Keys of one plan step.
const STEP_KEYS: &[&str] = &["percent", "for"];

impl Reader<'_> {
    /// `guard = true | false | { .. }`; `Some(None)` for `false`.
    pub(super) fn guard(&mut self, path: &str, node: Node<'_>) -> Option<Option<Box<GuardSpec>>> {
        self.mark("guard".into(), path, node.span());
        if let Some(on) = node.as_bool() {
            return Some(on.then(Box::default));
        }
        if node.entries().is_none() {
            self.expected(path, node, "true, false or a table of guard settings");
            return None;
        }
        let entries = self.entries(path, node)?;
        let errors_before = self.errors.len();
        let mut spec = GuardSpec::default();
        for e in &entries {
            let p = join(path, e.key);
            self.mark(format!("guard.{}", e.key), &p, e.node.span());
            match e.key {
                "min_requests" => spec.min_requests = self.count(&p, e.node),
                "min_difference" => spec.min_difference = self.fraction(&p, e.node),
                "max_error_rate" => spec.max_error_rate = self.fraction(&p, e.node),
                "alpha" => spec.alpha = self.fraction(&p, e.node),
                "window" => spec.window_ms = self.duration(&p, e.node),
                "bucket" => spec.bucket_ms = self.duration(&p, e.node),
                "variant" => spec.variant = self.string(&p, e.node),
                "latency" => spec.latency = self.latency(&p, e.node),
                _ => self.unknown_key(path, e, GUARD_KEYS),
            }
        }
        (self.errors.len() == errors_before).then(|| Some(Box::new(spec)))
    }

    /// `latency = true | { quantile = "p95", factor = 1.5, min_increase = "50ms" }`.
    fn latency(&mut self, path: &str, node: Node<'_>) -> Option<LatencySpec> {
        if node.as_bool() == Some(true) {
            return Some(LatencySpec::default());
        }
        if node.entries().is_none() {
            self.expected(path, node, "true or a table of latency settings");
            return None;
        }
        let mut spec = LatencySpec::default();
        for e in &self.entries(path, node)? {
            let p = join(path, e.key);
            self.mark(format!("guard.latency.{}", e.key), &p, e.node.span());
            match e.key {
                "quantile" => spec.quantile = self.quantile(&p, e.node),
                "factor" => spec.factor = self.number(&p, e.node),
                "min_increase" => spec.min_increase_ms = self.duration(&p, e.node),
                _ => self.unknown_key(path, e, LATENCY_KEYS),
            }
        }
        Some(spec)
    }

    /// `plan = "gradual" | [steps] | { steps = .., paused = true }`.
    pub(super) fn plan(&mut self, path: &str, node: Node<'_>) -> Option<Box<PlanSpec>> {
        self.mark("plan".into(), path, node.span());
        if node.entries().is_none() {
            return self.steps(path, node).map(|steps| {
                Box::new(PlanSpec {
                    steps,
                    ..PlanSpec::default()
                })
            });
        }
        let mut steps = None;
        let mut spec = PlanSpec::default();
        for e in &self.entries(path, node)? {
            let p = join(path, e.key);
            match e.key {
                "steps" => steps = Some(self.steps(&p, e.node)),
                "paused" => spec.paused = self.boolean(&p, e.node).unwrap_or_default(),
                "started" => spec.started_ms = self.instant(&p, e.node),
                "done" => spec.done_ms = self.duration(&p, e.node),
                _ => self.unknown_key(path, e, PLAN_KEYS),
            }
        }
        let Some(steps) = steps else {
            self.error(path, node.span(), "a plan table needs `steps`");
            return None;
        };
        spec.steps = steps?;
        Some(Box::new(spec))
    }

    /// `"2026-11-26T09:00:00Z"`, in ms since the Unix epoch.
    fn instant(&mut self, path: &str, node: Node<'_>) -> Option<u64> {
        let Some(text) = node.as_str() else {
            self.expected(path, node, "a time such as \"2026-11-26T09:00:00Z\"");
            return None;
        };
        let ms = chrono::DateTime::parse_from_rfc3339(text)
            .ok()
            .and_then(|t| u64::try_from(t.timestamp_millis()).ok());
        if ms.is_none() {
            self.error(
                path,
                node.span(),
                format!("`{text}` is not an RFC 3339 time such as \"2026-11-26T09:00:00Z\""),
            );
        }
        ms
    }

    /// `"gradual"` or `[{ percent = 5, for = "1d" }, ..]`.
    fn steps(&mut self, path: &str, node: Node<'_>) -> Option<Vec<PlanStep>> {
        if let Some(name) = node.as_str() {
            if name == "gradual" {
                return Some(Plan::gradual().to_spec().steps);
            }
            self.error(
                path,
                node.span(),
                format!("unknown plan `{name}`; write \"gradual\" or a list of steps such as [{{ percent = 5, for = \"1d\" }}, {{ percent = 100 }}]"),
            );
            return None;
        }
        let Some(list) = node.elements() else {
            self.expected(path, node, "\"gradual\" or an array of steps");
            return None;
        };
        let errors_before = self.errors.len();
        let mut steps = Vec::with_capacity(list.len());
        for (i, el) in list.into_iter().enumerate() {
            let p = format!("{path}[{i}]");
            let Some(entries) = self.entries(&p, el) else {
                continue;
            };
            let mut step = PlanStep::default();
            let mut percent = false;
            for e in &entries {
                let q = join(&p, e.key);
                match e.key {
                    "percent" => {
                        percent = true;
                        step.percent = self.percent(&q, e.node).unwrap_or_default();
                    }
                    "for" => step.min_duration_ms = self.duration(&q, e.node).unwrap_or_default(),
                    _ => self.unknown_key(&p, e, STEP_KEYS),
                }
            }
            if !percent {
                self.error(&p, el.span(), "a plan step needs `percent`");
            }
            steps.push(step);
        }
        (self.errors.len() == errors_before).then_some(steps)
    }

    /// A count of requests: a whole number from 1.
    fn count(&mut self, path: &str, node: Node<'_>) -> Option<u64> {
        match node.as_integer() {
            Some(n) if n >= 1 => Some(n as u64),
            _ => {
                self.expected(path, node, "a whole number from 1");
                None
            }
        }
    }

    /// A number (integer or float).
    fn number(&mut self, path: &str, node: Node<'_>) -> Option<f64> {
        let n = node
            .as_float()
            .or_else(|| node.as_integer().map(|i| i as f64));
        if n.is_none() {
            self.expected(path, node, "a number");
        }
        n
    }

    /// `"2%"`, `"0.5%"` or a fraction such as `0.02`.
    fn fraction(&mut self, path: &str, node: Node<'_>) -> Option<f64> {
        if let Some(text) = node.as_str() {
            let value = text
                .trim()
                .strip_suffix('%')
                .and_then(|n| n.trim().parse::<f64>().ok())
                .filter(|p| p.is_finite() && (0.0..100.0).contains(p));
            if value.is_none() {
                self.error(
                    path,
                    node.span(),
                    format!("`{text}` is not a percentage below 100%; write e.g. \"2%\" or 0.02"),
                );
            }
            return value.map(|p| p / 100.0);
        }
        match (node.as_float(), node.as_integer()) {
            (Some(f), _) => Some(f),
            (None, Some(0)) => Some(0.0),
            _ => {
                self.expected(
                    path,
                    node,
                    "a percentage such as \"2%\" or a fraction such as 0.02",
                );
                None
            }
        }
    }

    /// `"p95"` or `0.95`.
    fn quantile(&mut self, path: &str, node: Node<'_>) -> Option<f64> {
        if let Some(text) = node.as_str() {
            let q = text
                .strip_prefix('p')
                .and_then(|n| n.parse::<f64>().ok())
                .filter(|p| *p > 0.0 && *p < 100.0)
                .map(|p| p / 100.0);
            if q.is_none() {
                self.error(
                    path,
                    node.span(),
                    format!("`{text}` is not a quantile; write e.g. \"p95\" or 0.95"),
                );
            }
            return q;
        }
        self.number(path, node)
    }

    /// `"5m"`, `"1h30m"`... in milliseconds.
    fn duration(&mut self, path: &str, node: Node<'_>) -> Option<u64> {
        let Some(text) = node.as_str() else {
            self.expected(path, node, "a duration such as \"5m\" or \"1d\"");
            return None;
        };
        match parse_millis(text) {
            Ok(ms) => Some(ms),
            Err(message) => {
                self.error(path, node.span(), message);
                None
            }
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::super::tests::assert_errors;
    use super::super::{parse, write};

    #[test]
    fn guard_and_plan_read_as_a_person_writes_them() {
        let text = r#"
[new_checkout_flow]
rollout = 5
guard = { min_requests = 100, min_difference = "2%", max_error_rate = 0.2, alpha = 1e-5, window = "10m", bucket = "10s", latency = { quantile = "p99", factor = 2, min_increase = "20ms" } }
plan = [{ percent = 5, for = "1d" }, { percent = 50, for = "1h30m" }, { percent = 100 }]

[ab_test]
variants = { blue = 50, green = 50 }
guard = { variant = "green" }
plan = { steps = "gradual", paused = true }

[plain]
guard = true

[mid_step]
plan = { steps = [{ percent = 10, for = "2d" }, { percent = 100 }], started = "2026-11-26T09:00:00Z" }
"#;
        let set = parse(text, "flags.toml").unwrap();
        let f = set.feature("new_checkout_flow").unwrap();
        let g = f.guard.as_deref().unwrap();
        assert_eq!(g.min_requests, Some(100));
        assert_eq!(g.min_difference, Some(0.02));
        assert_eq!(g.max_error_rate, Some(0.2));
        assert_eq!(g.alpha, Some(1e-5));
        assert_eq!((g.window_ms, g.bucket_ms), (Some(600_000), Some(10_000)));
        let l = g.latency.as_ref().unwrap();
        assert_eq!(
            (l.quantile, l.factor, l.min_increase_ms),
            (Some(0.99), Some(2.0), Some(20))
        );
        assert_eq!(
            **f.plan.as_ref().unwrap(),
            crate::model::PlanSpec::from_steps([(5, 86_400_000), (50, 5_400_000), (100, 0)])
        );
        let ab = set.feature("ab_test").unwrap();
        assert_eq!(ab.guard.as_ref().unwrap().variant.as_deref(), Some("green"));
        let plan = ab.plan.as_deref().unwrap();
        assert!(plan.paused);
        assert_eq!(plan.plan().unwrap(), crate::guard::Plan::gradual());
        let mid = set.feature("mid_step").unwrap().plan.as_deref().unwrap();
        assert_eq!(mid.started_ms, Some(1_795_683_600_000));
        assert_eq!(
            set.feature("plain").unwrap().guard.as_deref(),
            Some(&crate::model::GuardSpec::default())
        );
        // And back, in the same words.
        let written = write(&set).unwrap();
        for line in [
            "guard = true",
            "min_difference = \"2%\"",
            "window = \"10m\"",
            "plan = [{ percent = 5, for = \"1d\" }, { percent = 50, for = \"1h30m\" }, { percent = 100 }]",
            "plan = { steps = \"gradual\", paused = true }",
            "started = \"2026-11-26T09:00:00Z\"",
        ] {
            assert!(written.contains(line), "missing {line:?} in\n{written}");
        }
        assert_eq!(parse(&written, "x").unwrap(), set);
    }

    #[test]
    fn guard_false_is_no_guard() {
        let set = parse("[f]\nguard = false\n", "flags.toml").unwrap();
        assert!(set.feature("f").unwrap().guard.is_none());
    }

    #[test]
    fn bad_guard_settings_name_flag_field_line_and_column() {
        assert_errors(&[
            (
                "[f]\nguard = { max_eror_rate = \"5%\" }\n",
                &["flags.toml:2:11: flag `f`, field `guard.max_eror_rate`: unknown key `max_eror_rate` (did you mean `max_error_rate`?)"],
            ),
            (
                "[f]\nguard = { max_error_rate = \"150%\" }\n",
                &["flags.toml:2:28: flag `f`, field `guard.max_error_rate`: `150%` is not a percentage below 100%"],
            ),
            (
                "[f]\nguard = { window = \"5 minutes\" }\n",
                &["flags.toml:2:20: flag `f`, field `guard.window`: `5 minutes` is not a duration"],
            ),
            (
                "[f]\nguard = { window = \"30000000000w\", bucket = \"30000000000w\" }\n",
                &["flags.toml:2:20: flag `f`, field `guard.window`: must be at most 7 days"],
            ),
            (
                "[f]\nguard = { window = \"1s\", bucket = \"5s\" }\n",
                &["flags.toml:2:20: flag `f`, field `guard.window`: must be at least one bucket"],
            ),
            (
                "[f]\nguard = \"yes\"\n",
                &["flags.toml:2:9: flag `f`, field `guard`: expected true, false or a table of guard settings, found a string"],
            ),
        ]);
    }

    #[test]
    fn bad_plans_name_flag_field_line_and_column() {
        assert_errors(&[
            (
                "[f]\nplan = [{ percent = 25, for = \"1d\" }, { percent = 5 }]\n",
                &["flags.toml:2:8: flag `f`, field `plan`: steps must go up: 5% comes after 25%"],
            ),
            (
                "[f]\nplan = [{ percent = 5, for = 1 }]\n",
                &["flags.toml:2:30: flag `f`, field `plan[0].for`: expected a duration"],
            ),
            (
                "[f]\nplan = [{ for = \"1d\" }]\n",
                &["flag `f`, field `plan[0]`: a plan step needs `percent`"],
            ),
            (
                "[f]\nplan = { steps = \"gradual\", started = \"yesterday\" }\n",
                &["flags.toml:2:39: flag `f`, field `plan.started`: `yesterday` is not an RFC 3339 time"],
            ),
            (
                "[f]\nplan = \"fast\"\n",
                &["flags.toml:2:8: flag `f`, field `plan`: unknown plan `fast`"],
            ),
        ]);
    }
}
