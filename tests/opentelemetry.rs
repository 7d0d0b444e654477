//! The OpenTelemetry export (feature `opentelemetry`), read back through the
//! SDK's in-memory exporter as an app's OTLP exporter would get it.

use std::collections::HashMap;
use std::time::Duration;

use flags_middleware::export::OpenTelemetryMetrics;
use flags_middleware::guard::{Guard, GuardConfig};
use flags_middleware::Flags;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, SdkMeterProvider};

/// Each data point of the last collection: (instrument, sorted attributes) → value.
fn points(collected: &[ResourceMetrics]) -> HashMap<(String, String), f64> {
    let mut out = HashMap::new();
    let last = collected.last().expect("a collection");
    for scope in last.scope_metrics() {
        for metric in scope.metrics() {
            let mut put = |attrs: Vec<String>, value: f64| {
                let mut attrs = attrs;
                attrs.sort();
                out.insert((metric.name().to_owned(), attrs.join(",")), value);
            };
            let kv = |it: &mut dyn Iterator<Item = &opentelemetry::KeyValue>| {
                it.map(|kv| format!("{}={}", kv.key, kv.value))
                    .collect::<Vec<_>>()
            };
            match metric.data() {
                AggregatedMetrics::U64(MetricData::Sum(s)) => {
                    assert!(s.is_monotonic(), "{} is a counter", metric.name());
                    for p in s.data_points() {
                        put(kv(&mut p.attributes()), p.value() as f64);
                    }
                }
                AggregatedMetrics::F64(MetricData::Sum(s)) => {
                    for p in s.data_points() {
                        put(kv(&mut p.attributes()), p.value());
                    }
                }
                AggregatedMetrics::U64(MetricData::Gauge(g)) => {
                    for p in g.data_points() {
                        put(kv(&mut p.attributes()), p.value() as f64);
                    }
                }
                AggregatedMetrics::I64(MetricData::Gauge(g)) => {
                    for p in g.data_points() {
                        put(kv(&mut p.attributes()), p.value() as f64);
                    }
                }
                other => panic!("{}: unexpected {other:?}", metric.name()),
            }
        }
    }
    out
}

fn key(name: &str, attrs: &str) -> (String, String) {
    (name.to_owned(), attrs.to_owned())
}

#[test]
fn counters_version_and_guard_reach_the_exporter() {
    let flags = Flags::from_toml_str("[new_checkout_flow]\nrollout = 5\n", "flags.toml").unwrap();
    let guard = Guard::for_flags(&flags)
        .watch("new_checkout_flow", GuardConfig::new())
        .build();
    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder()
        .with_periodic_exporter(exporter.clone())
        .build();
    OpenTelemetryMetrics::new(&flags)
        .guard(guard)
        .register(&provider.meter("checkout"));

    let m = flags.metrics();
    m.record("new_checkout_flow", "on", 200, Duration::from_micros(1500));
    m.record("new_checkout_flow", "on", 503, Duration::from_millis(40));
    m.record("new_checkout_flow", "off", 200, Duration::from_millis(3));
    provider.force_flush().unwrap();

    let p = points(&exporter.get_finished_metrics().unwrap());
    let on = "arm=on,flag=new_checkout_flow";
    assert_eq!(p[&key("flags.requests", on)], 2.0);
    assert_eq!(
        p[&key("flags.requests", "arm=off,flag=new_checkout_flow")],
        1.0
    );
    assert_eq!(p[&key("flags.request.errors", on)], 1.0);
    assert!((p[&key("flags.request.duration.sum", on)] - 0.0415).abs() < 1e-9);
    let bucket = |le: &str| {
        p[&key(
            "flags.request.duration.bucket",
            &format!("arm=on,flag=new_checkout_flow,le={le}"),
        )]
    };
    assert_eq!(bucket("0.001"), 0.0);
    assert_eq!(bucket("0.002"), 1.0);
    assert_eq!(bucket("0.05"), 2.0);
    assert_eq!(bucket("+Inf"), 2.0);
    assert_eq!(p[&key("flags.version", "")], flags.version() as f64);
    assert_eq!(p[&key("flags.metrics.dropped", "")], 0.0);
    assert_eq!(
        p[&key("flags.guard.verdict", "flag=new_checkout_flow")],
        0.0
    );
    assert_eq!(p[&key("flags.guard.kills", "flag=new_checkout_flow")], 0.0);

    // The next collection reads the counters again: cumulative.
    m.record("new_checkout_flow", "on", 500, Duration::from_millis(1));
    provider.force_flush().unwrap();
    let p = points(&exporter.get_finished_metrics().unwrap());
    assert_eq!(p[&key("flags.requests", on)], 3.0);
    assert_eq!(p[&key("flags.request.errors", on)], 2.0);
}
