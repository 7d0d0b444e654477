//! The README's walk-through, as written, against the example service over
//! real HTTP, so the README cannot rot: the `curl` lines of its `sh` blocks
//! are read (quotes, `$T`, `$F`, comments) and sent in order to the service
//! started the way `cargo run --example checkout` starts it with no
//! variables set (a working copy of `examples/flags.toml`, the demo token),
//! and what each line's comment claims is checked, over 400 users where it
//! is about a share. The shipped `examples/` files must come out unchanged.
//! And every TOML block of the README loads as written.

mod loopback;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use axum::http::StatusCode;
use axum::Router;
use flags_examples::checkout_app::app;
use flags_examples::settings::{Defaults, Settings, DEMO_TOKEN};
use flags_examples::startup::prepare;
use flags_middleware::Flags;
use flags_tests::readme_sh::{self, Curl};
use loopback::HttpClient;
use serde_json::Value;

/// Where the README's lines send their requests: the example's default port.
const README_AUTHORITY: &str = "localhost:3000";

struct Service {
    client: HttpClient,
}

impl Service {
    async fn start(router: Router) -> Service {
        Service {
            client: HttpClient::new(loopback::serve(router).await),
        }
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (StatusCode, String) {
        self.client.send(method, path, headers, body).await
    }

    /// A README `curl` line, sent here instead of to localhost:3000.
    async fn curl(&self, c: &Curl) -> (StatusCode, String) {
        assert_eq!(c.authority, README_AUTHORITY, "{c:?}");
        let headers: Vec<(&str, &str)> = c
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.send(
            &c.method,
            &c.path,
            &headers,
            c.body.as_deref().unwrap_or(""),
        )
        .await
    }

    async fn get_json(&self, path: &str, user: Option<&str>, beta: bool) -> Value {
        let mut headers = Vec::new();
        if let Some(u) = user {
            headers.push(("x-user-id", u));
        }
        if beta {
            headers.push(("x-beta", "true"));
        }
        let (status, body) = self.send("GET", path, &headers, "").await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    async fn admin(&self, method: &str, path: &str, body: &str) -> Value {
        let auth = format!("Bearer {DEMO_TOKEN}");
        let (status, text) = self
            .send(
                method,
                &format!("/admin/flags{path}"),
                &[
                    ("authorization", &auth),
                    ("content-type", "application/json"),
                ],
                body,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "admin {path}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// Which of `users` get the new checkout right now.
    async fn new_checkout_users(&self, users: &[String]) -> Vec<bool> {
        let mut out = Vec::with_capacity(users.len());
        for u in users {
            let v = self.get_json("/api/v1/products/42", Some(u), false).await;
            out.push(v["data"]["checkout"] == "new");
        }
        out
    }
}

fn share(on: &[bool]) -> f64 {
    on.iter().filter(|x| **x).count() as f64 / on.len() as f64
}

/// Every file in `dir` (not recursive: `examples/` is flat) and its bytes.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

/// Checks what a README comment says a line answers: a JSON body
/// (`# {"search":"v2"}`), a status (`# 404: ...`), or one of a few values
/// (`# blue / green / control`). Any other line must succeed.
fn check_claim(line: &str, comment: &str, status: StatusCode, body: &str) {
    if comment.starts_with('{') {
        let want: Value = serde_json::from_str(comment).unwrap();
        let got: Value = serde_json::from_str(body).unwrap();
        assert_eq!(got, want, "{line}");
    } else if let Some(code) = comment
        .get(..3)
        .filter(|c| c.bytes().all(|b| b.is_ascii_digit()))
    {
        assert_eq!(status.as_str(), code, "{line}: {body}");
        return;
    } else if comment.contains(" / ") {
        let got: Value = serde_json::from_str(body).unwrap();
        let value = got.as_object().and_then(|o| o.values().next()).unwrap();
        assert!(
            comment.split(" / ").any(|alt| value == alt.trim()),
            "{line}: {body}"
        );
    }
    assert!(status.is_success(), "{line}: {status} {body}");
}

/// A README line run as a `curl` command: the request and its comment.
fn curl_line(line: &str, vars: &HashMap<String, String>) -> (Curl, String) {
    let (words, comment) = readme_sh::words(line, vars).unwrap();
    (readme_sh::curl(&words).unwrap(), comment)
}

/// The day-by-day block in steps: a line whose comment starts with `...`
/// belongs to the step above it (`# Day 1: 5% of users...` then
/// `# ...once it is back on`); the step's claim holds once all its lines ran.
fn steps(block: &[String]) -> Vec<(String, Vec<String>)> {
    let mut steps: Vec<(String, Vec<String>)> = Vec::new();
    for line in block.iter().filter(|l| !l.trim().is_empty()) {
        let comment = line.split_once(" # ").map_or("", |(_, c)| c.trim());
        match steps.last_mut() {
            Some((_, lines)) if comment.starts_with("...") => lines.push(line.clone()),
            _ => steps.push((comment.to_owned(), vec![line.clone()])),
        }
    }
    steps
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_walkthrough() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let examples = root.join("examples");
    let shipped_before = files(&examples);
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let blocks = readme_sh::sh_blocks(&readme, "Five-minute walk-through");
    assert_eq!(blocks.len(), 2, "the walk-through's sh blocks: {blocks:?}");

    // `cargo run --example checkout` with no variables set, except that the
    // working copy goes to a temp dir rather than target/.
    let dir = tempfile::tempdir().unwrap();
    let defaults = Defaults {
        shipped: examples.join("flags.toml"),
        working_copy: dir.path().join("flags.toml"),
    };
    let settings = Settings::from_vars(|_| None, &defaults).unwrap();
    let prepared = prepare(&settings).unwrap();
    let flags = prepared.flags.clone();
    let svc = Service::start(app(flags.clone(), prepared.admin.clone())).await;
    let users: Vec<String> = (0..400).map(|i| format!("user_{i}")).collect();

    // The SDK APIs take their demo tokens, and answer the admin token 403:
    // a token, but of the wrong kind.
    let sdk = flags_examples::sdk_tokens::SdkTokens::demo();
    for (path, token, want) in [
        ("/api/frontend", sdk.frontend.as_str(), 200),
        ("/api/client/features", sdk.client.as_str(), 200),
        ("/api/frontend", DEMO_TOKEN, 403),
        ("/api/client/features", DEMO_TOKEN, 403),
        ("/api/frontend", "no-such-token", 401),
    ] {
        let (status, body) = svc.send("GET", path, &[("authorization", token)], "").await;
        assert_eq!(status.as_u16(), want, "{path} with {token}: {body}");
    }

    // Who gets the new checkout? About 20%, each always the same one.
    let first = svc.new_checkout_users(&users).await;
    let s = share(&first);
    assert!((0.14..=0.26).contains(&s), "20% rollout gave {s}");
    assert_eq!(
        svc.new_checkout_users(&users).await,
        first,
        "sticky per user"
    );

    // The first block as written: the users' requests (their comments say
    // what they answer), `T` and `F`, and the kill.
    let mut vars = HashMap::new();
    for line in &blocks[0] {
        let t = line.trim();
        let in_the_loop = t.starts_with("for ") || line.starts_with(' ') || t == "done";
        if t.is_empty() || t.starts_with('#') || in_the_loop {
            continue;
        }
        if !t.starts_with("curl ") {
            let (words, _) = readme_sh::words(line, &vars).unwrap();
            vars.extend(readme_sh::assignments(&words).unwrap());
            continue;
        }
        let (c, comment) = curl_line(line, &vars);
        let (status, body) = svc.curl(&c).await;
        check_claim(line, &comment, status, &body);
    }
    // `FLAGS_URL=$F` must work for the CLI too, so `F` needs its scheme.
    let f = vars.get("F").expect("the walk-through sets F");
    assert!(f.starts_with("http://"), "F={f}: the CLI needs a scheme");
    assert!(
        svc.new_checkout_users(&users).await.iter().all(|on| !on),
        "after the kill everyone is on legacy"
    );

    // The day-by-day block as written, each step's claim checked after it.
    let mut previous = vec![false; users.len()];
    let mut day1 = None;
    let mut seen = Vec::new();
    for (label, lines) in steps(&blocks[1]) {
        let mut percent = None;
        for line in &lines {
            let (c, _) = curl_line(line, &vars);
            let (status, body) = svc.curl(&c).await;
            assert!(status.is_success(), "{line}: {status} {body}");
            if c.path.ends_with("/rollout") {
                let b: Value = serde_json::from_str(c.body.as_deref().unwrap()).unwrap();
                percent = b["percent"].as_u64();
            }
        }
        if let Some(day) = label.strip_prefix("Day ") {
            let pct = percent.unwrap_or_else(|| panic!("{label}: no rollout")) as f64 / 100.0;
            let now = svc.new_checkout_users(&users).await;
            let s = share(&now);
            // Within 3.5 points at 5%, 8 at 50%: about 3 standard
            // deviations over 400 users.
            let ok = if pct == 1.0 {
                s == 1.0
            } else {
                (s - pct).abs() <= 0.03 + 0.1 * pct
            };
            assert!(ok, "{label}: {}% gave a share of {s}", pct * 100.0);
            for (was, is) in previous.iter().zip(&now) {
                assert!(!was || *is, "{label} turned a user off");
            }
            if day.starts_with("1:") || day == "1" {
                day1 = Some(now.clone());
            }
            previous = now;
            seen.push(label.split(':').next().unwrap().to_owned());
        } else if label.starts_with("error spike") {
            assert!(svc.new_checkout_users(&users).await.iter().all(|on| !on));
            seen.push("error spike".into());
        } else if label.starts_with("after the fix") {
            let day1 = day1.as_ref().expect("Day 1 comes first");
            assert_eq!(&svc.new_checkout_users(&users).await, day1, "{label}");
            seen.push("after the fix".into());
        }
    }
    assert_eq!(
        seen,
        [
            "Day 1",
            "Day 3",
            "Day 5",
            "Day 7",
            "error spike",
            "after the fix"
        ]
    );

    // The A/B test routes by weight (50/30/20), and the admin API shows the
    // per-arm counters the layer collected.
    let requests = |view: &Value, arm: &str| {
        view["flag"]["counters"][arm]["requests"]
            .as_u64()
            .unwrap_or(0)
    };
    let before = svc.admin("GET", "/checkout_experiment", "").await;
    let mut arms = BTreeMap::<String, usize>::new();
    for u in &users {
        let v = svc
            .get_json("/api/v1/checkout/button", Some(u), false)
            .await;
        *arms
            .entry(v["button"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    let frac = |arm: &str| arms.get(arm).copied().unwrap_or(0) as f64 / users.len() as f64;
    assert!((frac("blue") - 0.5).abs() < 0.08, "{arms:?}");
    assert!((frac("green") - 0.3).abs() < 0.08, "{arms:?}");
    assert!((frac("control") - 0.2).abs() < 0.08, "{arms:?}");
    let after = svc.admin("GET", "/checkout_experiment", "").await;
    for arm in ["blue", "green"] {
        assert_eq!(
            requests(&after, arm) - requests(&before, arm),
            arms[arm] as u64,
            "{arm}: {after}"
        );
    }

    // The shipped files are exactly as they were (so `git status` stays
    // clean): no edit, no audit log, no temp file beside them.
    let shipped_after = files(&examples);
    let changed: BTreeSet<_> = shipped_before
        .keys()
        .chain(shipped_after.keys())
        .filter(|p| shipped_before.get(*p) != shipped_after.get(*p))
        .collect();
    assert!(changed.is_empty(), "the walk-through changed {changed:?}");

    // Every change went to the working copy, comments kept, and was
    // audited beside it.
    let text = std::fs::read_to_string(&defaults.working_copy).unwrap();
    assert!(text.contains("rollout = 5"), "{text}");
    assert!(text.contains("# KILL SWITCH: off for everyone"), "{text}");
    assert!(text.contains("[dark_mode]"), "{text}");
    let audit = std::fs::read_to_string(dir.path().join("flags.audit.jsonl")).unwrap();
    assert!(audit.contains("new_checkout_flow"), "{audit}");
    let restarted = Flags::from_file(&defaults.working_copy).unwrap();
    assert_eq!(
        restarted.snapshot().feature("new_checkout_flow"),
        flags.snapshot().feature("new_checkout_flow")
    );
}

/// The README's ```` ```toml ```` blocks (`toml,ignore` and the like too:
/// a block that does not load must say why in its text, not hide from this
/// test), each with the blocks before it in its section (a section's later
/// block may name the flags of an earlier one), in order.
fn readme_toml(readme: &str) -> Vec<String> {
    let mut loads = Vec::new();
    let mut section = (String::new(), String::new());
    for block in readme_sh::fenced_blocks(readme) {
        if !block.info.starts_with("toml") {
            continue;
        }
        if block.heading != section.0 {
            section = (block.heading, String::new());
        }
        for line in &block.lines {
            section.1.push_str(line);
            section.1.push('\n');
        }
        loads.push(section.1.clone());
    }
    loads
}

#[test]
fn every_toml_block_in_the_readme_loads() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let loads = readme_toml(&readme);
    let fences = readme
        .lines()
        .filter(|l| l.trim_start().starts_with("```toml"))
        .count();
    assert_eq!(loads.len(), fences, "every TOML block is read");
    assert!(fences >= 3, "the README's TOML blocks: {loads:?}");
    for text in loads {
        let flags = Flags::from_toml_str(&text, "README.md")
            .unwrap_or_else(|e| panic!("a README TOML block does not load: {e}\n{text}"));
        // Each flag the block defines is there (not silently dropped).
        let snapshot = flags.snapshot();
        for line in text.lines() {
            let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) else {
                continue;
            };
            if !name.starts_with('[') && !name.contains('.') {
                assert!(snapshot.feature(name).is_some(), "`{name}` in\n{text}");
            }
        }
    }
}
