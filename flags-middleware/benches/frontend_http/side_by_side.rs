//! Our Frontend API and Unleash Edge under the same load, in one run.
//!
//! Both servers run as child processes pinned to core 0 (ours on a
//! current-thread runtime; Edge as it ships, its runtime sizing itself to the
//! one core it may use), this process generates the load from core 1. Rounds
//! interleave the servers (the first to go alternates) so drift on a shared
//! machine hits both alike; the table shows medians over the rounds.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use serde_json::Value;

use super::load::{self, Case, Rate};
use super::servers::{self, Server};

/// Settings of the HTTP part, from the environment.
pub(crate) struct Settings {
    pub(crate) rounds: usize,
    pub(crate) secs: f64,
    pub(crate) conns: usize,
}

/// The decision in each toggle of an answer, by flag name: what must agree.
/// Edge's answer is shaped a little differently (no `feature_enabled` in the
/// variant, `"payload": null` instead of none, an extra `impression_data`);
/// those differences are reported by [`shape_differences`], not compared.
fn answer(body: &[u8], server: &str) -> BTreeMap<String, Value> {
    toggles(body, server)
        .iter()
        .map(|t| {
            let v = &t["variant"];
            let decision = serde_json::json!({
                "enabled": t["enabled"],
                "impressionData": t["impressionData"],
                "variant": [v["name"], v["enabled"], v["payload"]],
            });
            (t["name"].as_str().expect("a name").to_owned(), decision)
        })
        .collect()
}

fn toggles(body: &[u8], server: &str) -> Vec<Value> {
    let doc: Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{server} answered no JSON ({e}): {body:?}"));
    doc["toggles"]
        .as_array()
        .unwrap_or_else(|| panic!("{server} answered no toggles: {doc}"))
        .clone()
}

/// Keys (`toggle.key` or `variant.key`) one answer has and the other lacks,
/// or has as `null`.
fn shape_differences(ours: &[u8], edge: &[u8]) -> (Vec<String>, Vec<String>) {
    fn keys(t: &[Value]) -> std::collections::BTreeSet<String> {
        let mut out = std::collections::BTreeSet::new();
        for toggle in t {
            for (k, v) in toggle.as_object().into_iter().flatten() {
                if !v.is_null() {
                    out.insert(format!("toggle.{k}"));
                }
            }
            for (k, v) in toggle["variant"].as_object().into_iter().flatten() {
                if !v.is_null() {
                    out.insert(format!("variant.{k}"));
                }
            }
        }
        out
    }
    let (a, b) = (keys(&toggles(ours, "ours")), keys(&toggles(edge, "Edge")));
    (
        a.difference(&b).cloned().collect(),
        b.difference(&a).cloned().collect(),
    )
}

/// Asserts that Edge answers what we answer for a sample of the users the
/// load sends, so the comparison is of equal work; the number of users and
/// of enabled toggles compared.
fn check_same_answers(
    ours: &Server,
    edge: &Server,
    rt: &tokio::runtime::Runtime,
) -> (usize, usize) {
    let mut queries: Vec<String> = (0..4)
        .flat_map(|c| (1..=50).map(move |n| load::distinct_query(c, n)))
        .collect();
    queries.push(load::UNCHANGED_QUERY.to_owned());
    let mut toggles = 0;
    let mut shapes = std::collections::BTreeSet::new();
    for q in &queries {
        let (s1, _, a) = rt.block_on(load::get(ours.addr, super::TOKEN, q, None));
        let (s2, _, b) = rt.block_on(load::get(edge.addr, super::TOKEN, q, None));
        assert_eq!((s1, s2), (200, 200), "status for {q}: ours {s1}, Edge {s2}");
        shapes.insert(shape_differences(&a, &b));
        let (a, b) = (answer(&a, "ours"), answer(&b, "Edge"));
        assert_eq!(a, b, "ours and Edge differ for {q}");
        toggles += a.len();
    }
    for (only_ours, only_edge) in shapes {
        println!("Shape: only ours has {only_ours:?}; only Edge has {only_edge:?}");
    }
    (queries.len(), toggles)
}

/// The ETag a server gives the unchanged user, and what it answers when
/// that ETag comes back.
fn etag_of(server: &Server, token: &str, rt: &tokio::runtime::Runtime) -> (Option<String>, u16) {
    let (_, tag, _) = rt.block_on(load::get(server.addr, token, load::UNCHANGED_QUERY, None));
    let again = tag.as_deref().map_or(0, |t| {
        rt.block_on(load::get(
            server.addr,
            token,
            load::UNCHANGED_QUERY,
            Some(t),
        ))
        .0
    });
    (tag, again)
}

fn median(rates: &[Rate], field: impl Fn(&Rate) -> f64) -> f64 {
    let mut v: Vec<f64> = rates.iter().map(field).collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs the side-by-side and prints its table; without Edge, our rows only.
pub(crate) fn run(settings: &Settings) {
    // The load generator on core 1, all of this process's threads.
    let pinned = Command::new("taskset")
        .args(["-apc", "1", &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("load generator runtime");
    let ours = servers::start_ours();
    let binary = servers::edge_binary();
    // Kept alive while Edge runs: it is Edge's bootstrap file.
    let bootstrap = tempfile::NamedTempFile::new().expect("bootstrap file");
    let edge = if binary.exists() {
        std::fs::write(bootstrap.path(), super::flag_set::unleash_json()).expect("write bootstrap");
        Some(servers::start_edge(&binary, bootstrap.path(), super::TOKEN))
    } else {
        println!(
            "\nUnleash Edge skipped: no binary at {}.\n  Install it with scripts/unleash-edge.sh \
             (cargo install of the pinned unleash-edge into target/edge), then run again.",
            binary.display()
        );
        None
    };
    let (our_tag, our_again) = etag_of(&ours, super::TOKEN, &rt);
    let our_tag = our_tag.expect("our ETag");
    assert_eq!(our_again, 304, "our If-None-Match answer");
    let mut edge_tag = None;
    if let Some(edge) = &edge {
        let (users, toggles) = check_same_answers(&ours, edge, &rt);
        println!(
            "\nSame answers: Edge and ours agree for {users} users ({toggles} enabled toggles)."
        );
        let (tag, again) = etag_of(edge, super::TOKEN, &rt);
        println!(
            "Edge's ETag for the unchanged user: {tag:?}; with If-None-Match it answers {again}."
        );
        edge_tag = tag;
    }

    let Settings {
        rounds,
        secs,
        conns,
    } = *settings;
    let mut results: BTreeMap<(&str, &str), Vec<Rate>> = BTreeMap::new();
    for round in 0..rounds {
        let mut order: Vec<(&str, &Server, &'static str, String)> =
            vec![("ours", &ours, super::TOKEN, our_tag.clone())];
        if let Some(edge) = &edge {
            // Without an ETag from Edge, the 304 row sends ours: Edge answers 200.
            let tag = edge_tag.clone().unwrap_or_else(|| our_tag.clone());
            order.push(("Edge", edge, super::TOKEN, tag));
        }
        if round % 2 == 1 {
            order.reverse();
        }
        for (case_name, distinct) in [("200", true), ("304", false)] {
            for (name, server, token, tag) in &order {
                let case = if distinct {
                    Case::DistinctUsers
                } else {
                    Case::Unchanged { etag: tag.clone() }
                };
                let rate = rt.block_on(load::measure(
                    server.addr,
                    server.pid(),
                    token,
                    case,
                    conns,
                    secs,
                ));
                results.entry((case_name, name)).or_default().push(rate);
            }
        }
        eprintln!("round {} of {rounds} done", round + 1);
    }
    print_table(&results, settings, pinned);
}

fn print_table(results: &BTreeMap<(&str, &str), Vec<Rate>>, settings: &Settings, pinned: bool) {
    println!(
        "\nFrontend API, 100 flags, loopback HTTP/1.1, {} keep-alive connections, servers on \
         core 0, load on core 1{}, median of {} interleaved rounds x {} s\n",
        settings.conns,
        if pinned { "" } else { " (pinning failed)" },
        settings.rounds,
        settings.secs
    );
    println!(
        "| case | ours req/s | Edge req/s | ours / Edge | ours CPU/req | Edge CPU/req | \
         server core busy (ours, Edge) | load core busy (ours, Edge) | 304 share (ours, Edge) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (case, label) in [
        ("200", "distinct users (200)"),
        ("304", "unchanged, If-None-Match"),
    ] {
        let ours = &results[&(case, "ours")];
        let edge = results.get(&(case, "Edge"));
        let our_rate = median(ours, |r| r.per_sec);
        let cell = |f: &dyn Fn(&[Rate]) -> String| edge.map_or("skipped".to_owned(), |e| f(e));
        println!(
            "| {label} | {our_rate:.0} | {} | {} | {:.1} µs | {} | {:.0}%, {} | {:.0}%, {} | {:.0}%, {} |",
            cell(&|e| format!("{:.0}", median(e, |r| r.per_sec))),
            cell(&|e| format!("{:.2}×", our_rate / median(e, |r| r.per_sec))),
            median(ours, |r| r.cpu_us_per_request),
            cell(&|e| format!("{:.1} µs", median(e, |r| r.cpu_us_per_request))),
            median(ours, |r| r.busy) * 100.0,
            cell(&|e| format!("{:.0}%", median(e, |r| r.busy) * 100.0)),
            median(ours, |r| r.load_busy) * 100.0,
            cell(&|e| format!("{:.0}%", median(e, |r| r.load_busy) * 100.0)),
            median(ours, |r| r.not_modified) * 100.0,
            cell(&|e| format!("{:.0}%", median(e, |r| r.not_modified) * 100.0)),
        );
    }
}
