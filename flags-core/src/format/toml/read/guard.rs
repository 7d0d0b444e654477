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
//! the flag compiles; here only shapes and units.

use super::{join, Reader};
use crate::format::toml::duration::parse_millis;
use crate::format::toml::node::Node;
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
    fn mark(&mut self, model: &str, toml: &str, node: Node<'_>) {
        let flag = self.flag.clone();
        self.spans
            .record(&flag, model.to_owned(), toml, node.span());
    }

    /// `guard = true | false | { .. }`; `Some(None)` for `false`.
    pub(super) fn guard(&mut self, path: &str, node: Node<'_>) -> Option<Option<Box<GuardSpec>>> {
        self.mark("guard", path, node);
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
            self.mark(&format!("guard.{}", e.key), &p, e.node);
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
            self.mark(&format!("guard.latency.{}", e.key), &p, e.node);
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
        self.mark("plan", path, node);
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
