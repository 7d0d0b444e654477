//! Prometheus' text exposition format (version 0.0.4).

use std::fmt::Write as _;
use std::sync::OnceLock;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http::header::CONTENT_TYPE;

use crate::guard::{Guard, Status};
use crate::hygiene::UnknownFlags;
use crate::metrics::{MetricsSnapshot, LATENCY_BUCKETS_MS};
use crate::Flags;

/// The flags' counters, version and guard verdicts as a Prometheus scrape
/// target. See [the module](crate::export) for the series.
///
/// Mount it where the app likes: as its own router (`GET /metrics`), or in
/// the admin API, which serves it at `GET /_metrics` behind a read token
/// (with the admin config's guard).
///
/// ```
/// use axum::Router;
/// use flags_middleware::export::Prometheus;
/// use flags_middleware::Flags;
/// use std::time::Duration;
///
/// let flags = Flags::from_toml_str("[new_checkout_flow]\nrollout = 5\n", "flags.toml").unwrap();
/// flags.metrics().record("new_checkout_flow", "on", 503, Duration::from_millis(7));
///
/// let text = Prometheus::new(&flags).render();
/// assert!(text.contains("flags_request_errors_total{flag=\"new_checkout_flow\",arm=\"on\"} 1\n"));
///
/// // `GET /metrics`, for a scraper on a private network (see the README).
/// let app: Router = Router::new().merge(Prometheus::new(&flags).router());
/// ```
#[derive(Debug, Clone)]
pub struct Prometheus {
    flags: Flags,
    guard: Option<Guard>,
}

impl Prometheus {
    /// The `Content-Type` of the text format.
    ///
    /// ```
    /// # use axum::{body::Body, http::Request, Router};
    /// # use tower::ServiceExt as _;
    /// use flags_middleware::{admin::{AdminConfig, Role}, export::Prometheus, Flags};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[f]\n", "flags.toml").unwrap();
    /// let api: Router = flags.admin_router(AdminConfig::new().token("scraper", "s3cret-read-token", Role::Read));
    /// let scrape = Request::get("/_metrics").header("authorization", "Bearer s3cret-read-token");
    /// let response = api.oneshot(scrape.body(Body::empty()).unwrap()).await.unwrap();
    /// // The admin API's scrape is the same format as `Prometheus::router`'s.
    /// assert_eq!(response.status(), 200);
    /// assert_eq!(response.headers()["content-type"], Prometheus::CONTENT_TYPE);
    /// # }
    /// ```
    pub const CONTENT_TYPE: &'static str = "text/plain; version=0.0.4; charset=utf-8";

    /// Exposes `flags`' counters and version.
    ///
    /// ```
    /// use flags_middleware::export::Prometheus;
    /// use flags_middleware::Flags;
    ///
    /// let flags = Flags::from_toml_str("[a]\n[b]\n", "flags.toml").unwrap();
    /// let text = Prometheus::new(&flags).render();
    /// assert!(text.contains("flags_flags 2\n"));
    /// assert!(!text.contains("flags_guard_verdict")); // no guard given
    /// ```
    pub fn new(flags: &Flags) -> Prometheus {
        Prometheus {
            flags: flags.clone(),
            guard: None,
        }
    }

    /// Adds `guard`'s verdicts and kills per watched flag.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::export::Prometheus;
    /// use flags_middleware::guard::{Guard, GuardConfig, ManualClock};
    /// use flags_middleware::Flags;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
    /// let clock = ManualClock::new();
    /// let guard = Guard::for_flags(&flags).clock(clock.clone()).watch("f", GuardConfig::new()).build();
    /// let exporter = Prometheus::new(&flags).guard(guard.clone());
    /// assert!(exporter.render().contains("flags_guard_verdict{flag=\"f\"} 0\n")); // no data
    /// guard.check().await;
    /// for _ in 0..60 {
    ///     flags.metrics().record("f", "on", 200, Duration::from_millis(3));
    /// }
    /// clock.advance(Duration::from_secs(5));
    /// guard.check().await;
    /// assert!(exporter.render().contains("flags_guard_verdict{flag=\"f\"} 1\n")); // healthy
    /// # }
    /// ```
    #[must_use]
    pub fn guard(mut self, guard: Guard) -> Prometheus {
        self.guard = Some(guard);
        self
    }

    /// Like [`Prometheus::guard`], when there may be none.
    ///
    /// ```
    /// use flags_middleware::export::Prometheus;
    /// use flags_middleware::guard::{Guard, GuardConfig};
    /// use flags_middleware::Flags;
    ///
    /// let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
    /// let guard = Some(Guard::for_flags(&flags).watch("f", GuardConfig::new()).build());
    /// let with = Prometheus::new(&flags).maybe_guard(guard).render();
    /// let without = Prometheus::new(&flags).maybe_guard(None).render();
    /// assert!(with.contains("flags_guard_kills_total{flag=\"f\"} 0\n"));
    /// assert!(!without.contains("flags_guard_kills_total"));
    /// ```
    #[must_use]
    pub fn maybe_guard(mut self, guard: Option<Guard>) -> Prometheus {
        self.guard = guard;
        self
    }

    /// The exposition, now.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::export::Prometheus;
    /// use flags_middleware::Flags;
    ///
    /// let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
    /// let exporter = Prometheus::new(&flags);
    /// flags.metrics().record("f", "on", 200, Duration::from_millis(3));
    /// let text = exporter.render(); // read at the scrape: the request above is in it
    /// assert!(text.contains("flags_request_duration_seconds_bucket{flag=\"f\",arm=\"on\",le=\"0.005\"} 1\n"));
    /// assert!(text.contains(&format!("flags_version {}\n", flags.version())));
    /// ```
    pub fn render(&self) -> String {
        let snapshot = self.flags.snapshot();
        let mut out = Text::with_capacity(4096);
        render_counters(&mut out, &self.flags.metrics().snapshot());
        out.family("flags_version", "gauge", "The flag-set version served.");
        out.sample("flags_version", "", snapshot.version());
        out.family("flags_flags", "gauge", "Flags defined.");
        out.sample("flags_flags", "", snapshot.len() as u64);
        render_unknown(&mut out, &self.flags.unknown_flags());
        if let Some(guard) = &self.guard {
            render_guard(&mut out, guard);
        }
        out.0
    }

    /// A router serving the exposition at `GET /metrics`, without
    /// authentication (merge it into a router only scrapers reach).
    ///
    /// ```
    /// use axum::{body::Body, http::Request, Router};
    /// use flags_middleware::export::Prometheus;
    /// use flags_middleware::Flags;
    /// use tower::ServiceExt as _;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
    /// let app: Router = Prometheus::new(&flags).router();
    /// let response = app.oneshot(Request::get("/metrics").body(Body::empty()).unwrap()).await.unwrap();
    /// assert_eq!(response.headers()["content-type"], Prometheus::CONTENT_TYPE);
    /// let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    /// assert!(String::from_utf8(body.to_vec()).unwrap().contains("flags_flags 1\n"));
    /// # }
    /// ```
    pub fn router<S>(self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        Router::new().route("/metrics", get(serve)).with_state(self)
    }
}

/// The handler of `GET /metrics` and the admin API's `GET /_metrics`.
pub(crate) async fn serve(State(exporter): State<Prometheus>) -> Response {
    (
        [(CONTENT_TYPE, Prometheus::CONTENT_TYPE)],
        exporter.render(),
    )
        .into_response()
}

/// The per flag and arm families: requests, errors, the latency histogram,
/// and the dropped samples.
fn render_counters(out: &mut Text, metrics: &MetricsSnapshot) {
    // Each pair's labels, escaped once for the three families.
    let labels: Vec<(String, &crate::metrics::ArmStats)> = metrics
        .flags
        .iter()
        .flat_map(|f| {
            f.arms.iter().map(move |a| {
                let mut l = String::with_capacity(f.flag.len() + a.arm.len() + 16);
                l.push_str("flag=\"");
                escape_into(&mut l, &f.flag);
                l.push_str("\",arm=\"");
                escape_into(&mut l, &a.arm);
                l.push('"');
                (l, a)
            })
        })
        .collect();
    out.0.reserve(labels.len() * 1400);

    out.family(
        "flags_requests_total",
        "counter",
        "Requests that evaluated the flag, by the arm they got.",
    );
    for (l, a) in &labels {
        out.sample("flags_requests_total", l, a.requests);
    }
    out.family(
        "flags_request_errors_total",
        "counter",
        "Of those requests, the ones answered with a 5xx status (caught panics included) or dropped before they answered.",
    );
    for (l, a) in &labels {
        out.sample("flags_request_errors_total", l, a.errors);
    }
    out.family(
        "flags_request_duration_seconds",
        "histogram",
        "Time to the response head of requests that evaluated the flag, by arm.",
    );
    let bounds = le_values();
    for (l, a) in &labels {
        let mut cumulative = 0;
        for (bin, le) in bounds.iter().enumerate() {
            cumulative += a.latency.get(bin);
            out.bucket(l, le, cumulative);
        }
        out.bucket(l, "+Inf", a.requests.max(cumulative));
        out.0.push_str("flags_request_duration_seconds_sum{");
        out.0.push_str(l);
        out.0.push_str("} ");
        out.micros_as_seconds(a.latency_sum_us);
        out.0.push('\n');
        out.sample("flags_request_duration_seconds_count", l, a.requests);
    }
    out.family(
        "flags_metrics_dropped_total",
        "counter",
        "Samples not counted because the table of flag/arm pairs was full.",
    );
    out.sample("flags_metrics_dropped_total", "", metrics.dropped);
}

/// Names asked for that no flag has (typos, deleted flags still read):
/// bounded by the unknown-name table's capacity, the rest counted apart.
fn render_unknown(out: &mut Text, unknown: &UnknownFlags) {
    out.family(
        "flags_unknown_requests_total",
        "counter",
        "Asks for a flag name that no flag has, by name (a typo, or a deleted flag still read).",
    );
    let mut l = String::new();
    for flag in &unknown.flags {
        l.clear();
        l.push_str("flag=\"");
        escape_into(&mut l, &flag.name);
        l.push('"');
        out.sample("flags_unknown_requests_total", &l, flag.count);
    }
    out.family(
        "flags_unknown_other_total",
        "counter",
        "Asks for unknown names past the table of distinct names kept.",
    );
    out.sample("flags_unknown_other_total", "", unknown.other);
}

fn render_guard(out: &mut Text, guard: &Guard) {
    let state = guard.snapshot();
    let labels: Vec<String> = state
        .flags
        .iter()
        .map(|f| {
            let mut l = String::from("flag=\"");
            escape_into(&mut l, &f.flag);
            l.push('"');
            l
        })
        .collect();
    out.family(
        "flags_guard_verdict",
        "gauge",
        "The rollout guard's last verdict: 0 no data, 1 healthy, 2 watching, 3 kill.",
    );
    for (l, f) in labels.iter().zip(&state.flags) {
        let code = match f.last.as_ref().map(|v| v.status) {
            None | Some(Status::NoData) => 0,
            Some(Status::Healthy) => 1,
            Some(Status::Watching) => 2,
            Some(Status::Kill) => 3,
        };
        out.sample("flags_guard_verdict", l, code);
    }
    out.family(
        "flags_guard_kills_total",
        "counter",
        "Times the rollout guard killed the flag.",
    );
    for (l, f) in labels.iter().zip(&state.flags) {
        out.sample("flags_guard_kills_total", l, f.kills);
    }
}

/// The histogram's `le` values, in seconds (`0.001` … `10`).
fn le_values() -> &'static [String] {
    static LE: OnceLock<Vec<String>> = OnceLock::new();
    LE.get_or_init(|| {
        LATENCY_BUCKETS_MS
            .iter()
            .map(|&ms| (ms as f64 / 1000.0).to_string())
            .collect()
    })
}

/// Escapes a label value: backslash, double quote and line feed.
fn escape_into(out: &mut String, value: &str) {
    // Flag names never need it, and most variant names do not either.
    if !value.contains(['\\', '"', '\n']) {
        out.push_str(value);
        return;
    }
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// The exposition being written.
struct Text(String);

impl Text {
    fn with_capacity(n: usize) -> Text {
        Text(String::with_capacity(n))
    }

    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = write!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}\n");
    }

    fn sample(&mut self, name: &str, labels: &str, value: u64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            self.0.push_str(labels);
            self.0.push('}');
        }
        self.0.push(' ');
        self.number(value);
        self.0.push('\n');
    }

    /// Most of a scrape's lines: plain appends, no format machinery.
    fn bucket(&mut self, labels: &str, le: &str, count: u64) {
        self.0.push_str("flags_request_duration_seconds_bucket{");
        self.0.push_str(labels);
        self.0.push_str(",le=\"");
        self.0.push_str(le);
        self.0.push_str("\"} ");
        self.number(count);
        self.0.push('\n');
    }

    /// `n` in decimal (most counts are small: a digit or a few).
    fn number(&mut self, mut n: u64) {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for &d in &digits[at..] {
            self.0.push(char::from(d));
        }
    }

    /// Microseconds as seconds with six decimals (`0.041500`): exact, and
    /// without float formatting.
    fn micros_as_seconds(&mut self, micros: u64) {
        self.number(micros / 1_000_000);
        self.0.push('.');
        let fraction = micros % 1_000_000;
        let mut scale = 100_000;
        while scale > 0 {
            self.0
                .push(char::from(b'0' + (fraction / scale % 10) as u8));
            scale /= 10;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        let mut s = String::new();
        escape_into(&mut s, "a\"b\\c\nd");
        assert_eq!(s, r#"a\"b\\c\nd"#);
    }

    #[test]
    fn numbers_are_written_in_decimal() {
        let mut t = Text::with_capacity(0);
        for n in [0, 7, 10, 1234567890, u64::MAX] {
            t.number(n);
            t.0.push(' ');
        }
        assert_eq!(t.0, "0 7 10 1234567890 18446744073709551615 ");
        let mut t = Text::with_capacity(0);
        for us in [0, 41_500, 1_000_001, 12_345_678_901] {
            t.micros_as_seconds(us);
            t.0.push(' ');
        }
        assert_eq!(t.0, "0.000000 0.041500 1.000001 12345.678901 ");
    }

    #[test]
    fn le_values_are_seconds() {
        assert_eq!(le_values()[0], "0.001");
        assert_eq!(le_values()[3], "0.01");
        assert_eq!(le_values().last().unwrap(), "10");
    }
}
