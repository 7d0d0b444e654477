//! What a Prometheus scrape costs: rendering the exposition of 1,000 flags
//! × 3 arms (requests, errors, a 14-bucket histogram per pair, version),
//! against the `prometheus` crate (tikv's client) gathering and encoding the
//! same series from its own `IntCounterVec`s and `HistogramVec`.
//!
//! Then a summary: median milliseconds per scrape and the ratio.
//!
//! Run: `cargo bench -p flags-middleware --bench prometheus`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use flags_middleware::export::Prometheus;
use flags_middleware::metrics::LATENCY_BUCKETS_MS;
use flags_middleware::Flags;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder};

const FLAGS: usize = 1000;
const ARMS: [&str; 3] = ["blue", "green", "control"];

/// Every pair's requests: (status, latency), the same for both sides.
fn traffic(flag: usize, arm: usize) -> impl Iterator<Item = (u16, Duration)> {
    (0..5).map(move |i| {
        let status = if (flag + arm + i) % 7 == 0 { 503 } else { 200 };
        (
            status,
            Duration::from_micros(((flag * 31 + arm * 17 + i * 997) % 200_000) as u64),
        )
    })
}

fn ours() -> Prometheus {
    let toml: String = (0..FLAGS)
        .map(|i| format!("[flag_{i:04}]\nvariants = [\"blue\", \"green\", \"control\"]\n"))
        .collect();
    let flags = Flags::from_toml_str(&toml, "flags.toml").unwrap();
    for f in 0..FLAGS {
        let name = format!("flag_{f:04}");
        for (a, arm) in ARMS.iter().enumerate() {
            for (status, latency) in traffic(f, a) {
                flags.metrics().record(&name, arm, status, latency);
            }
        }
    }
    Prometheus::new(&flags)
}

fn peer() -> Registry {
    let registry = Registry::new();
    let requests = IntCounterVec::new(
        Opts::new("flags_requests_total", "Requests by flag and arm."),
        &["flag", "arm"],
    )
    .unwrap();
    let errors = IntCounterVec::new(
        Opts::new("flags_request_errors_total", "5xx by flag and arm."),
        &["flag", "arm"],
    )
    .unwrap();
    let buckets = LATENCY_BUCKETS_MS
        .iter()
        .map(|&ms| ms as f64 / 1000.0)
        .collect();
    let latency = HistogramVec::new(
        HistogramOpts::new("flags_request_duration_seconds", "Latency.").buckets(buckets),
        &["flag", "arm"],
    )
    .unwrap();
    registry.register(Box::new(requests.clone())).unwrap();
    registry.register(Box::new(errors.clone())).unwrap();
    registry.register(Box::new(latency.clone())).unwrap();
    for f in 0..FLAGS {
        let name = format!("flag_{f:04}");
        for (a, arm) in ARMS.iter().enumerate() {
            for (status, d) in traffic(f, a) {
                requests.with_label_values(&[name.as_str(), arm]).inc();
                errors
                    .with_label_values(&[name.as_str(), arm])
                    .inc_by(u64::from(status >= 500));
                latency
                    .with_label_values(&[name.as_str(), arm])
                    .observe(d.as_secs_f64());
            }
        }
    }
    registry
}

fn encode(registry: &Registry) -> String {
    TextEncoder::new()
        .encode_to_string(&registry.gather())
        .unwrap()
}

/// The median and the fastest of 31 runs, in ms.
fn median_ms(mut run: impl FnMut()) -> (f64, f64) {
    let mut times: Vec<f64> = (0..31)
        .map(|_| {
            let t = Instant::now();
            run();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[0])
}

fn main() {
    let ours = ours();
    let peer = peer();
    // `FLAGS_BENCH_COUNT=flags:<n>` (or `prometheus_crate:<n>`): render n
    // times and exit, for an instruction counter (`valgrind --tool=callgrind`)
    // that a loaded machine cannot disturb; the difference between two
    // values of n gives instructions per scrape.
    if let Some(spec) = std::env::var_os("FLAGS_BENCH_COUNT") {
        let spec = spec.to_string_lossy().into_owned();
        let (name, n) = spec.rsplit_once(':').expect("FLAGS_BENCH_COUNT=<case>:<n>");
        let n: u32 = n.parse().expect("a count");
        for _ in 0..n {
            match name {
                "flags" => drop(black_box(ours.render())),
                _ => drop(black_box(encode(&peer))),
            }
        }
        return;
    }
    let text = ours.render();
    let peer_text = encode(&peer);
    println!(
        "exposition: flags {} lines ({} KB), prometheus crate {} lines ({} KB)",
        text.lines().count(),
        text.len() / 1024,
        peer_text.lines().count(),
        peer_text.len() / 1024
    );

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("scrape_1000_flags_x_3_arms");
    group.sample_size(30);
    group.bench_function("flags", |b| b.iter(|| black_box(ours.render())));
    group.bench_function("prometheus_crate", |b| b.iter(|| black_box(encode(&peer))));
    group.finish();
    c.final_summary();
    if std::env::args().any(|a| a == "--profile-time") {
        return;
    }

    // Interleaved, so both sides see the same machine load.
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        a.push(median_ms(|| {
            black_box(ours.render());
        }));
        b.push(median_ms(|| {
            black_box(encode(&peer));
        }));
    }
    let pick = |v: &mut Vec<(f64, f64)>| {
        let fastest = v.iter().map(|r| r.1).fold(f64::INFINITY, f64::min);
        v.sort_by(|x, y| x.0.total_cmp(&y.0));
        (v[v.len() / 2].0, fastest)
    };
    let ((a, a_min), (b, b_min)) = (pick(&mut a), pick(&mut b));
    println!("| scrape of 1,000 flags × 3 arms | median | fastest |");
    println!("|---|---:|---:|");
    println!("| flags (`Prometheus::render`) | {a:.2} ms | {a_min:.2} ms |");
    println!("| prometheus crate (gather + encode) | {b:.2} ms | {b_min:.2} ms |");
    println!(
        "| prometheus crate / flags | {:.1}× | {:.1}× |",
        b / a,
        b_min / a_min
    );
}
