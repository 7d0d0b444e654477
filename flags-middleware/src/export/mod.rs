//! The counters in the formats monitoring systems read: Prometheus' text
//! exposition ([`Prometheus`]) and, with the `opentelemetry` feature,
//! OpenTelemetry instruments on an app's `Meter` (`OpenTelemetryMetrics`).
//!
//! Both read what is already counted: the per flag and arm counters
//! ([`Flags::metrics`](crate::Flags::metrics)), the flag-set version and,
//! when given one, the rollout guard's verdicts. They do it when scraped or
//! collected, never on the request path, so exporting costs a request
//! nothing.
//!
//! # Series and their cardinality
//!
//! | name | type | labels |
//! |---|---|---|
//! | `flags_requests_total` | counter | `flag`, `arm` |
//! | `flags_request_errors_total` | counter (5xx, caught panics and dropped requests included) | `flag`, `arm` |
//! | `flags_request_duration_seconds` | histogram (buckets 1 ms … 10 s, [`LATENCY_BUCKETS_MS`](crate::metrics::LATENCY_BUCKETS_MS)) | `flag`, `arm`, `le` |
//! | `flags_version` | gauge: the flag-set version served | |
//! | `flags_flags` | gauge: how many flags are defined | |
//! | `flags_metrics_dropped_total` | counter: samples not counted, the table of pairs being full | |
//! | `flags_guard_verdict` | gauge: the guard's last verdict, 0 no data, 1 healthy, 2 watching, 3 kill | `flag` |
//! | `flags_guard_kills_total` | counter: the guard's kills | `flag` |
//! | `flags_unknown_requests_total` | counter: asks for a name no flag has | `flag` (the name asked) |
//! | `flags_unknown_other_total` | counter: such asks past the 1,000 names kept | |
//!
//! `arm` is the variant's name, or `on` / `off` for a flag without
//! variants. Labels are bounded: one series per flag and arm that served a
//! request, at most [`Metrics::DEFAULT_CAPACITY`](crate::metrics::Metrics::DEFAULT_CAPACITY)
//! pairs (4,096; [`Metrics::with_capacity`](crate::metrics::Metrics::with_capacity)
//! sets another); the histogram adds 16 series per pair (14 buckets, sum,
//! count). Pairs past the capacity are counted in
//! `flags_metrics_dropped_total` only. The unknown names asked are at most
//! 1,000 (the rest go to `flags_unknown_other_total`). No user id, route
//! or other unbounded value is ever a label.

#[cfg(feature = "opentelemetry")]
pub mod opentelemetry;
pub mod prometheus;

#[cfg(feature = "opentelemetry")]
pub use self::opentelemetry::OpenTelemetryMetrics;
pub use prometheus::Prometheus;
