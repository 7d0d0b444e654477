//! The counters as OpenTelemetry instruments (feature `opentelemetry`).

use opentelemetry::metrics::Meter;
use opentelemetry::KeyValue;

use crate::guard::{Guard, Status};
use crate::metrics::LATENCY_BUCKETS_MS;
use crate::Flags;

/// Registers observable instruments for the flags' counters on an app's
/// [`Meter`], so the OpenTelemetry pipeline the app already has (an OTLP
/// exporter, say) collects them with everything else.
///
/// The instruments are read when the SDK collects, never on the request
/// path:
///
/// | instrument | kind | attributes |
/// |---|---|---|
/// | `flags.requests` | counter | `flag`, `arm` |
/// | `flags.request.errors` | counter (5xx, caught panics and dropped requests included) | `flag`, `arm` |
/// | `flags.request.duration.sum` | counter, seconds | `flag`, `arm` |
/// | `flags.request.duration.bucket` | counter: requests at most `le` seconds | `flag`, `arm`, `le` |
/// | `flags.version` | gauge | |
/// | `flags.metrics.dropped` | counter | |
/// | `flags.guard.verdict` | gauge: 0 no data, 1 healthy, 2 watching, 3 kill | `flag` |
/// | `flags.guard.kills` | counter | `flag` |
///
/// OpenTelemetry's API has no asynchronous histogram, so the latency
/// histogram comes as its cumulative bucket counts (`le` as in
/// Prometheus, `+Inf` included) and its sum. The guard's instruments are
/// there when a guard is given.
///
/// ```
/// use flags_middleware::export::OpenTelemetryMetrics;
/// use flags_middleware::Flags;
///
/// let flags = Flags::from_toml_str("[new_checkout_flow]\nrollout = 5\n", "flags.toml").unwrap();
/// let meter = opentelemetry::global::meter("checkout");
/// OpenTelemetryMetrics::new(&flags).register(&meter);
/// ```
#[derive(Debug, Clone)]
pub struct OpenTelemetryMetrics {
    flags: Flags,
    guard: Option<Guard>,
}

impl OpenTelemetryMetrics {
    /// The instruments of `flags`' counters and version.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::export::OpenTelemetryMetrics;
    /// use flags_middleware::Flags;
    ///
    /// # use opentelemetry::metrics::MeterProvider as _;
    /// # use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
    /// # use opentelemetry_sdk::metrics::{InMemoryMetricExporter, SdkMeterProvider};
    /// # // What the app's exporter got for `name` with `attrs` (`k=v`), at a collection.
    /// # fn collected(e: &InMemoryMetricExporter, p: &SdkMeterProvider, name: &str, attrs: &[&str]) -> Option<u64> {
    /// #     p.force_flush().unwrap();
    /// #     let all = e.get_finished_metrics().unwrap();
    /// #     let metric = all.last()?.scope_metrics().flat_map(|s| s.metrics()).find(|m| m.name() == name)?;
    /// #     let AggregatedMetrics::U64(MetricData::Sum(sum)) = metric.data() else { return None };
    /// #     let key = |mut v: Vec<String>| { v.sort(); v };
    /// #     let want = key(attrs.iter().map(|a| a.to_string()).collect());
    /// #     let point = sum.data_points().find(|p| key(p.attributes().map(|kv| format!("{}={}", kv.key, kv.value)).collect()) == want)?;
    /// #     Some(point.value())
    /// # }
    /// # let exporter = InMemoryMetricExporter::default();
    /// # let provider = SdkMeterProvider::builder().with_periodic_exporter(exporter.clone()).build();
    /// # let meter = provider.meter("checkout");
    /// let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
    /// OpenTelemetryMetrics::new(&flags).register(&meter); // the app's meter
    /// flags.metrics().record("f", "on", 503, Duration::from_millis(7));
    /// // What the app's exporter gets at the SDK's next collection:
    /// assert_eq!(collected(&exporter, &provider, "flags.requests", &["flag=f", "arm=on"]), Some(1));
    /// assert_eq!(collected(&exporter, &provider, "flags.request.errors", &["flag=f", "arm=on"]), Some(1));
    /// ```
    pub fn new(flags: &Flags) -> OpenTelemetryMetrics {
        OpenTelemetryMetrics {
            flags: flags.clone(),
            guard: None,
        }
    }

    /// Adds `guard`'s verdicts and kills per watched flag.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::export::OpenTelemetryMetrics;
    /// use flags_middleware::guard::{FlagsApplier, Guard, GuardConfig, ManualClock, ManualCounts, Side};
    /// use flags_middleware::Flags;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # use opentelemetry::metrics::MeterProvider as _;
    /// # use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
    /// # use opentelemetry_sdk::metrics::{InMemoryMetricExporter, SdkMeterProvider};
    /// # // What the app's exporter got for `name` with `attrs` (`k=v`), at a collection.
    /// # fn collected(e: &InMemoryMetricExporter, p: &SdkMeterProvider, name: &str, attrs: &[&str]) -> Option<u64> {
    /// #     p.force_flush().unwrap();
    /// #     let all = e.get_finished_metrics().unwrap();
    /// #     let metric = all.last()?.scope_metrics().flat_map(|s| s.metrics()).find(|m| m.name() == name)?;
    /// #     let AggregatedMetrics::U64(MetricData::Sum(sum)) = metric.data() else { return None };
    /// #     let key = |mut v: Vec<String>| { v.sort(); v };
    /// #     let want = key(attrs.iter().map(|a| a.to_string()).collect());
    /// #     let point = sum.data_points().find(|p| key(p.attributes().map(|kv| format!("{}={}", kv.key, kv.value)).collect()) == want)?;
    /// #     Some(point.value())
    /// # }
    /// # let exporter = InMemoryMetricExporter::default();
    /// # let provider = SdkMeterProvider::builder().with_periodic_exporter(exporter.clone()).build();
    /// # let meter = provider.meter("checkout");
    /// # let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
    /// # let (counts, clock) = (ManualCounts::new(), ManualClock::new());
    /// # let guard = Guard::builder(counts.clone(), FlagsApplier::new(flags.clone()))
    /// #     .clock(clock.clone()).watch("f", GuardConfig::new()).build();
    /// OpenTelemetryMetrics::new(&flags).guard(guard.clone()).register(&meter);
    /// assert_eq!(collected(&exporter, &provider, "flags.guard.kills", &["flag=f"]), Some(0));
    /// guard.check().await;
    /// counts.add("f", Side::New, 50, 15);
    /// counts.add("f", Side::Old, 950, 5);
    /// clock.advance(Duration::from_secs(5));
    /// guard.check().await; // a kill
    /// assert_eq!(collected(&exporter, &provider, "flags.guard.kills", &["flag=f"]), Some(1));
    /// # }
    /// ```
    #[must_use]
    pub fn guard(mut self, guard: Guard) -> OpenTelemetryMetrics {
        self.guard = Some(guard);
        self
    }

    /// Registers the instruments on `meter`; their callbacks live as long
    /// as the meter provider does.
    ///
    /// The callbacks read the counters at each collection, not at registration:
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::export::OpenTelemetryMetrics;
    /// use flags_middleware::Flags;
    ///
    /// # use opentelemetry::metrics::MeterProvider as _;
    /// # use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
    /// # use opentelemetry_sdk::metrics::{InMemoryMetricExporter, SdkMeterProvider};
    /// # // What the app's exporter got for `name` with `attrs` (`k=v`), at a collection.
    /// # fn collected(e: &InMemoryMetricExporter, p: &SdkMeterProvider, name: &str, attrs: &[&str]) -> Option<u64> {
    /// #     p.force_flush().unwrap();
    /// #     let all = e.get_finished_metrics().unwrap();
    /// #     let metric = all.last()?.scope_metrics().flat_map(|s| s.metrics()).find(|m| m.name() == name)?;
    /// #     let AggregatedMetrics::U64(MetricData::Sum(sum)) = metric.data() else { return None };
    /// #     let key = |mut v: Vec<String>| { v.sort(); v };
    /// #     let want = key(attrs.iter().map(|a| a.to_string()).collect());
    /// #     let point = sum.data_points().find(|p| key(p.attributes().map(|kv| format!("{}={}", kv.key, kv.value)).collect()) == want)?;
    /// #     Some(point.value())
    /// # }
    /// # let exporter = InMemoryMetricExporter::default();
    /// # let provider = SdkMeterProvider::builder().with_periodic_exporter(exporter.clone()).build();
    /// # let meter = provider.meter("checkout");
    /// let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
    /// OpenTelemetryMetrics::new(&flags).register(&meter);
    /// assert_eq!(collected(&exporter, &provider, "flags.requests", &["flag=f", "arm=off"]), None); // nothing served yet
    /// flags.metrics().record("f", "off", 200, Duration::from_millis(2));
    /// assert_eq!(collected(&exporter, &provider, "flags.requests", &["flag=f", "arm=off"]), Some(1));
    /// flags.metrics().record("f", "off", 200, Duration::from_millis(2));
    /// assert_eq!(collected(&exporter, &provider, "flags.requests", &["flag=f", "arm=off"]), Some(2));
    /// ```
    pub fn register(self, meter: &Meter) {
        let flags = self.flags.clone();
        meter
            .u64_observable_counter("flags.requests")
            .with_unit("{request}")
            .with_description("Requests that evaluated the flag, by the arm they got.")
            .with_callback(move |o| {
                for_each_arm(&flags, |attrs, a| o.observe(a.requests, attrs));
            })
            .build();
        let flags = self.flags.clone();
        meter
            .u64_observable_counter("flags.request.errors")
            .with_unit("{request}")
            .with_description("Requests answered with a 5xx status (caught panics included) or dropped before they answered.")
            .with_callback(move |o| {
                for_each_arm(&flags, |attrs, a| o.observe(a.errors, attrs));
            })
            .build();
        let flags = self.flags.clone();
        meter
            .f64_observable_counter("flags.request.duration.sum")
            .with_unit("s")
            .with_description("Total time to the response head, by flag and arm.")
            .with_callback(move |o| {
                for_each_arm(&flags, |attrs, a| {
                    o.observe(a.latency_sum_us as f64 / 1e6, attrs);
                });
            })
            .build();
        let flags = self.flags.clone();
        meter
            .u64_observable_counter("flags.request.duration.bucket")
            .with_unit("{request}")
            .with_description("Requests whose time to the response head was at most `le` seconds.")
            .with_callback(move |o| {
                for_each_arm(&flags, |attrs, a| {
                    let mut cumulative = 0;
                    for (bin, &ms) in LATENCY_BUCKETS_MS.iter().enumerate() {
                        cumulative += a.latency.get(bin);
                        let le = KeyValue::new("le", ms as f64 / 1000.0);
                        o.observe(cumulative, &[attrs[0].clone(), attrs[1].clone(), le]);
                    }
                    let le = KeyValue::new("le", "+Inf");
                    o.observe(a.requests, &[attrs[0].clone(), attrs[1].clone(), le]);
                });
            })
            .build();
        let flags = self.flags.clone();
        meter
            .u64_observable_gauge("flags.version")
            .with_description("The flag-set version served.")
            .with_callback(move |o| o.observe(flags.version(), &[]))
            .build();
        let flags = self.flags.clone();
        meter
            .u64_observable_counter("flags.metrics.dropped")
            .with_description("Samples not counted because the table of flag/arm pairs was full.")
            .with_callback(move |o| o.observe(flags.metrics().snapshot().dropped, &[]))
            .build();
        if let Some(guard) = self.guard {
            let g = guard.clone();
            meter
                .i64_observable_gauge("flags.guard.verdict")
                .with_description(
                    "The rollout guard's last verdict: 0 no data, 1 healthy, 2 watching, 3 kill.",
                )
                .with_callback(move |o| {
                    for f in g.snapshot().flags {
                        let code = match f.last.map(|v| v.status) {
                            None | Some(Status::NoData) => 0,
                            Some(Status::Healthy) => 1,
                            Some(Status::Watching) => 2,
                            Some(Status::Kill) => 3,
                        };
                        o.observe(code, &[KeyValue::new("flag", f.flag)]);
                    }
                })
                .build();
            meter
                .u64_observable_counter("flags.guard.kills")
                .with_description("Times the rollout guard killed the flag.")
                .with_callback(move |o| {
                    for f in guard.snapshot().flags {
                        o.observe(f.kills, &[KeyValue::new("flag", f.flag)]);
                    }
                })
                .build();
        }
    }
}

/// Calls `f` with each flag and arm's attributes (`flag`, `arm`) and counters.
fn for_each_arm(flags: &Flags, mut f: impl FnMut(&[KeyValue; 2], &crate::metrics::ArmStats)) {
    for flag in flags.metrics().snapshot().flags {
        for arm in &flag.arms {
            let attrs = [
                KeyValue::new("flag", flag.flag.clone()),
                KeyValue::new("arm", arm.arm.clone()),
            ];
            f(&attrs, arm);
        }
    }
}
