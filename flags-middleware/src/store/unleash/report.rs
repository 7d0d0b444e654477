//! Usage back to Unleash, as its server SDKs report it: `POST
//! {url}/client/register` once, then `POST {url}/client/metrics` every
//! metrics interval with per-flag `yes`/`no` and variant counts.
//!
//! The counts are the layer's request counters ([`Metrics`]): one per flag
//! a request evaluated, under the arm it got (`on`, `off` or a variant), so
//! nothing is added to the request path. An empty bucket is not sent; a
//! bucket Unleash did not take is kept and merged into the next; 401/403
//! stop reporting, 404/429/5xx back off as polling does.

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use super::backoff::{refused, Outcome, Schedule};
use super::http::{sdk_version, Reply};
use super::Inner;
use crate::metrics::{Metrics, MetricsSnapshot};

/// One flag's counts in a bucket.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub(super) struct ToggleCounts {
    yes: u64,
    no: u64,
    variants: BTreeMap<String, u64>,
}

/// Counts since `start`, not yet taken by Unleash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Bucket {
    start: DateTime<Utc>,
    toggles: BTreeMap<String, ToggleCounts>,
}

impl Bucket {
    fn new(start: DateTime<Utc>) -> Bucket {
        Bucket {
            start,
            toggles: BTreeMap::new(),
        }
    }

    /// Adds what happened between two snapshots of the counters.
    pub(super) fn add(&mut self, now: &MetricsSnapshot, before: &MetricsSnapshot) {
        let earlier: std::collections::HashMap<(&str, &str), u64> = before
            .flags
            .iter()
            .flat_map(|f| {
                f.arms
                    .iter()
                    .map(|a| ((f.flag.as_str(), a.arm.as_str()), a.requests))
            })
            .collect();
        for flag in &now.flags {
            for arm in &flag.arms {
                let seen = earlier.get(&(flag.flag.as_str(), arm.arm.as_str()));
                let n = arm.requests.saturating_sub(seen.copied().unwrap_or(0));
                if n == 0 {
                    continue;
                }
                let counts = self.toggles.entry(flag.flag.clone()).or_default();
                match arm.arm.as_str() {
                    "off" => counts.no += n,
                    "on" => counts.yes += n,
                    variant => {
                        counts.yes += n;
                        *counts.variants.entry(variant.to_owned()).or_default() += n;
                    }
                }
            }
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.toggles.is_empty()
    }
}

/// Registers, then reports every metrics interval, on the store's runtime,
/// until the store is gone or Unleash refuses the token.
pub(super) fn spawn(inner: &Arc<Inner>, metrics: Metrics) {
    let Some(every) = inner.config.metrics_interval else {
        return;
    };
    let weak = Arc::downgrade(inner);
    inner.runtime.spawn(async move {
        if let Some(inner) = weak.upgrade() {
            inner.register(every).await;
        }
        run(weak, metrics, every).await;
    });
}

async fn run(inner: Weak<Inner>, metrics: Metrics, every: std::time::Duration) {
    let mut schedule = Schedule::new(every);
    // From zero: the counters are the handle's own, counted since it was built.
    let mut before = MetricsSnapshot::default();
    let mut bucket = Bucket::new(Utc::now());
    let mut wait = every;
    loop {
        tokio::time::sleep(wait).await;
        let Some(inner) = inner.upgrade() else { return };
        let now = metrics.snapshot();
        bucket.add(&now, &before);
        before = now;
        if bucket.is_empty() {
            wait = every;
            continue;
        }
        let stop = Utc::now();
        let outcome = inner.send(&bucket, stop).await;
        if outcome == Outcome::Success {
            bucket = Bucket::new(stop);
        }
        match schedule.after(outcome) {
            Some(w) => wait = w,
            None => return,
        }
    }
}

impl Inner {
    async fn register(&self, every: std::time::Duration) {
        let body = json!({
            "appName": self.config.app_name,
            "instanceId": self.config.instance_id,
            "connectionId": self.connection_id,
            "sdkVersion": sdk_version(),
            "strategies": [
                "default", "flexibleRollout", "userWithId", "gradualRolloutUserId",
                "gradualRolloutSessionId", "gradualRolloutRandom", "remoteAddress",
                "applicationHostname"
            ],
            "started": Utc::now(),
            "interval": u64::try_from(every.as_millis()).unwrap_or(u64::MAX),
            "platformName": "rust",
            "platformVersion": option_env!("CARGO_PKG_RUST_VERSION").unwrap_or(""),
            "yggdrasilVersion": null,
            "specVersion": "5.2.0",
        });
        let url = format!("{}/client/register", self.config.url);
        let outcome = self.post_metrics(&url, &body).await;
        if outcome != Outcome::Success {
            tracing::debug!(target: "flags::unleash", "registration with Unleash failed; metrics are still sent");
        }
    }

    /// Posts one bucket.
    async fn send(&self, bucket: &Bucket, stop: DateTime<Utc>) -> Outcome {
        let body = json!({
            "appName": self.config.app_name,
            "instanceId": self.config.instance_id,
            "connectionId": self.connection_id,
            "environment": self.config.environment(),
            "bucket": { "start": bucket.start, "stop": stop, "toggles": bucket.toggles },
            "platformName": "rust",
            "yggdrasilVersion": null,
            "specVersion": "5.2.0",
        });
        let url = format!("{}/client/metrics", self.config.url);
        let outcome = self.post_metrics(&url, &body).await;
        if outcome == Outcome::Success {
            let mut state = self.state();
            state.status.metrics_sent += 1;
            state.status.metrics_error = None;
        }
        outcome
    }

    async fn post_metrics(&self, url: &str, body: &serde_json::Value) -> Outcome {
        let (outcome, error) = match self.http.post_json(url, body, None).await {
            Reply::Answer { status, .. } if status.is_success() => (Outcome::Success, None),
            Reply::Answer { status, .. } if refused(status) => {
                tracing::error!(target: "flags::unleash", %url, %status, "Unleash refused the token for metrics; no more metrics are sent");
                (
                    Outcome::Status(status),
                    Some(format!("{url}: {status}; metrics stopped")),
                )
            }
            Reply::Answer { status, .. } => {
                (Outcome::Status(status), Some(format!("{url}: {status}")))
            }
            Reply::NoAnswer(why) => (Outcome::NoAnswer, Some(format!("{url}: {why}"))),
        };
        if let Some(e) = error {
            tracing::debug!(target: "flags::unleash", error = %e, "metrics not taken; kept for the next bucket");
            self.state().status.metrics_error = Some(e);
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn buckets_count_yes_no_and_variants_and_merge_until_taken() {
        let m = Metrics::default();
        let t0 = m.snapshot();
        let ms = Duration::from_millis(1);
        m.record("a", "on", 200, ms);
        m.record("a", "on", 200, ms);
        m.record("a", "off", 200, ms);
        m.record("b", "blue", 200, ms);
        let t1 = m.snapshot();
        let mut bucket = Bucket::new(Utc::now());
        bucket.add(&t1, &t0);
        // Not taken: the next window adds to it.
        m.record("b", "green", 500, ms);
        m.record("b", "off", 200, ms);
        bucket.add(&m.snapshot(), &t1);
        let toggles = serde_json::to_value(&bucket.toggles).unwrap();
        assert_eq!(
            toggles,
            json!({
                "a": {"yes": 2, "no": 1, "variants": {}},
                "b": {"yes": 2, "no": 1, "variants": {"blue": 1, "green": 1}},
            })
        );
        let mut empty = Bucket::new(Utc::now());
        let now = m.snapshot();
        empty.add(&now, &now);
        assert!(empty.is_empty());
    }
}
