//! A watched flags file in a temp dir: hand edits go live, broken ones are
//! reported (once) and ignored, half-written saves never flap the flags, an
//! idle file is never read.

mod support;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use flags_middleware::{Context, Flags};
use support::{Recorded, Recorder};
use tracing::Level;

const FILE: &str =
    "# Shop flags.\n[new_checkout_flow]\nrollout = 20   # day 1\n\n[legacy_api]\nenabled = false\n";

/// Waits (up to a generous limit, so a slow machine does not fail the test)
/// until `done` holds; returns how long it took.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    start.elapsed()
}

fn setup() -> (tempfile::TempDir, std::path::PathBuf, Flags) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flags.toml");
    std::fs::write(&path, FILE).unwrap();
    let flags = Flags::from_file(&path).unwrap();
    (dir, path, flags)
}

fn rollout(flags: &Flags) -> String {
    flags
        .snapshot()
        .feature("new_checkout_flow")
        .unwrap()
        .strategies[0]
        .parameters["rollout"]
        .clone()
}

#[test]
fn a_hand_edit_goes_live() {
    let (_dir, path, flags) = setup();
    assert_eq!(flags.status().watching, "inotify");
    std::fs::write(&path, FILE.replace("rollout = 20", "rollout = 50")).unwrap();
    wait_until("the edit", || flags.version() == 2);
    assert_eq!(rollout(&flags), "50");
    // The entry is written just after the new flags go live.
    wait_until("the audit entry", || {
        flags.audit_log(0, 10).is_ok_and(|e| !e.is_empty())
    });
    let entries = flags.audit_log(0, 10).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].actor, "file edit");
    assert_eq!(entries[0].flag, "new_checkout_flow");
    assert_eq!(entries[0].version, 2);
}

#[test]
fn a_save_by_rename_goes_live() {
    let (_dir, path, flags) = setup();
    let tmp = path.with_extension("swp");
    std::fs::write(&tmp, FILE.replace("enabled = false", "enabled = true")).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    wait_until("the renamed file", || flags.version() == 2);
    assert!(flags.is_enabled("legacy_api", &Context::new()));
}

#[test]
fn a_broken_edit_is_reported_ignored_then_fixed() {
    let (_dir, path, flags) = setup();
    std::fs::write(&path, FILE.replace("rollout = 20", "rollout = 150")).unwrap();
    wait_until("the error", || flags.status().last_error.is_some());
    let status = flags.status();
    let err = &status.last_error.unwrap().errors[0];
    assert_eq!(err.flag.as_deref(), Some("new_checkout_flow"));
    assert_eq!(err.field.as_deref(), Some("rollout"));
    assert_eq!((err.line, err.column), (Some(3), Some(11)));
    assert!(err.source.ends_with("flags.toml"));
    // The last good flags keep serving.
    assert_eq!(flags.version(), 1);
    assert_eq!(rollout(&flags), "20");

    std::fs::write(&path, FILE.replace("rollout = 20", "rollout = 15")).unwrap();
    wait_until("the fix", || flags.version() == 2);
    assert_eq!(rollout(&flags), "15");
    assert!(flags.status().last_error.is_none());
}

/// Events at `target` about the file at `path` (its path in a field).
fn events_about(path: &Path, target: &str, level: Level) -> Vec<Recorded> {
    let path = path.display().to_string();
    Recorder::global()
        .with_target(target)
        .into_iter()
        .filter(|e| {
            e.level == level
                && e.fields
                    .values()
                    .any(|v| v.as_str().is_some_and(|s| s.contains(&path)))
        })
        .collect()
}

/// The store reading the file (one `trace` event per read).
fn reads(path: &Path) -> usize {
    file_events(path, "flags file read")
}

/// The poll looking at the file's metadata (one `trace` event per look).
fn checks(path: &Path) -> usize {
    file_events(path, "flags file checked")
}

/// `trace` events at `flags::file` about `path` with this message.
fn file_events(path: &Path, message: &str) -> usize {
    events_about(path, "flags::file", Level::TRACE)
        .iter()
        .filter(|e| e.fields.get("message").and_then(|m| m.as_str()) == Some(message))
        .count()
}

#[test]
fn an_idle_file_is_never_read() {
    Recorder::global();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flags.toml");
    std::fs::write(&path, FILE).unwrap();
    // Old enough that the poll trusts its timestamps: a save this recent
    // is double-checked by reading.
    std::thread::sleep(Duration::from_millis(1_200));
    let flags = Flags::from_file(&path).unwrap();
    assert_eq!(flags.status().watching, "inotify");
    let at_start = reads(&path);
    assert_eq!(at_start, 1, "read once to load");
    // Past the poll's period (2 s): it stats the file, never reads it. The
    // checks are counted so this cannot pass with a poll that never ran.
    let checked = checks(&path);
    wait_until("two polls", || checks(&path) >= checked + 2);
    assert_eq!(reads(&path), at_start, "the file was read while idle");

    // One save: one reload.
    std::fs::write(&path, FILE.replace("rollout = 20", "rollout = 21")).unwrap();
    wait_until("the save", || flags.version() == 2);
    let checked = checks(&path);
    wait_until("two more polls", || checks(&path) >= checked + 2);
    assert_eq!(flags.version(), 2);
    assert_eq!(
        events_about(&path, "flags::reload", Level::INFO).len(),
        1,
        "reloads"
    );
}

#[test]
fn a_bad_save_is_logged_once() {
    Recorder::global();
    let (_dir, path, flags) = setup();
    std::fs::write(&path, FILE.replace("rollout = 20", "rollout = 150")).unwrap();
    wait_until("the error", || flags.status().last_error.is_some());
    // The watcher's later wake-ups (the poll's included) find the same bad
    // save: nothing more to say. (Two polls: past the 1 s in which the
    // poll wakes the store because a save is too recent to judge.)
    let checked = checks(&path);
    wait_until("two polls", || checks(&path) >= checked + 2);
    assert_eq!(events_about(&path, "flags::reload", Level::ERROR).len(), 1);
    assert_eq!(flags.version(), 1);

    // A second, different bad save is news.
    std::fs::write(&path, FILE.replace("rollout = 20", "rollout = 160")).unwrap();
    wait_until("the second error", || {
        events_about(&path, "flags::reload", Level::ERROR).len() == 2
    });
}

/// An empty file at startup is a truncated deploy until the app says
/// otherwise; at run time it is an editor's half-done save.
#[test]
fn an_empty_file_at_startup_is_refused_unless_the_app_allows_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flags.toml");
    std::fs::write(&path, "\n").unwrap();
    let err = Flags::from_file(&path).unwrap_err().to_string();
    assert!(err.starts_with(&format!("{}: ", path.display())), "{err}");
    assert!(
        err.contains("empty") && err.contains("allow_empty"),
        "{err}"
    );

    let store = flags_middleware::store::FileStore::options()
        .allow_empty(true)
        .open(&path)
        .unwrap();
    let flags = Flags::from_file_store(store).unwrap();
    assert_eq!(flags.snapshot().len(), 0);
    std::fs::write(&path, "[a]\n").unwrap();
    wait_until("the first flag", || flags.snapshot().len() == 1);
    // Emptied again at run time: taken for a half-done save.
    std::fs::write(&path, "").unwrap();
    wait_until("the rejection", || flags.status().last_error.is_some());
    assert_eq!(flags.snapshot().len(), 1);
}

/// Editors that truncate the file and then write it (in one or several
/// pieces) leave it empty or half-written for a moment: the flags must not
/// change until the whole file is there.
#[test]
fn half_written_saves_never_flap() {
    let (_dir, path, flags) = setup();
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (flags, stop) = (flags.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut samples = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let snap = flags.snapshot();
                // Both flags, with a rollout from a complete file, always.
                assert_eq!(snap.len(), 2, "flags flapped at version {}", snap.version());
                let f = snap.feature("new_checkout_flow").unwrap();
                let pct = &f.strategies[0].parameters["rollout"];
                assert!(
                    pct == "20" || pct.starts_with('3'),
                    "half-read rollout {pct}"
                );
                samples += 1;
            }
            samples
        })
    };
    for i in 0..8 {
        let full = FILE.replace("rollout = 20", &format!("rollout = 3{i}"));
        // Truncate, and wait for the watcher to read the empty file.
        let before = reads(&path);
        std::fs::write(&path, "").unwrap();
        wait_until("the empty file read", || reads(&path) > before);
        // Half a file that does not parse, read too, then the rest.
        let cut = full.find("rollout = 3").unwrap() + "rollout = ".len();
        let before = reads(&path);
        std::fs::write(&path, &full[..cut]).unwrap();
        wait_until("the half file read", || reads(&path) > before);
        std::fs::write(&path, &full).unwrap();
        let want = format!("3{i}");
        wait_until("the complete file", || rollout(&flags) == want);
    }
    stop.store(true, Ordering::Relaxed);
    assert!(sampler.join().unwrap() > 100);
    // Each complete save is one version; the empty and partial ones none.
    assert_eq!(flags.version(), 9);
    assert!(flags.status().last_error.is_none());
}

#[test]
fn a_write_left_open_is_not_read_half_way() {
    use std::io::Write as _;

    let (_dir, path, flags) = setup();
    // Only inotify says when a write is closed.
    assert_eq!(flags.status().watching, "inotify");
    // Written in place in two pieces with a pause between, as a slow copy
    // does. The first piece alone parses: it would turn new_checkout_flow
    // on for everyone and drop legacy_api.
    let full = FILE.replace("rollout = 20", "rollout = 60");
    let cut = full.find("rollout = 60").unwrap();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    file.write_all(&full.as_bytes()[..cut]).unwrap();
    // Far longer than the debounce, well within the wait for an open write.
    std::thread::sleep(Duration::from_millis(300));
    file.write_all(&full.as_bytes()[cut..]).unwrap();
    drop(file);
    wait_until("the whole file", || rollout(&flags) == "60");
    // One new version: the half file was never served.
    assert_eq!(flags.version(), 2);
    assert!(flags.snapshot().feature("legacy_api").is_some());
    assert!(flags.status().last_error.is_none());
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// A hundred saves in a row: each is served as one new version, with what
/// it says. How long each took is printed, not asserted.
#[test]
fn measure_save_to_visible() {
    let (_dir, path, flags) = setup();
    let mut took = Vec::new();
    for i in 0..100u64 {
        let percent = 40 + i % 2;
        let text = FILE.replace("rollout = 20", &format!("rollout = {percent}"));
        let before = flags.version();
        let start = Instant::now();
        write_file(&path, &text);
        wait_until("the save", || flags.version() > before);
        took.push(start.elapsed());
        assert_eq!(flags.version(), before + 1, "save {i}: one version");
        assert_eq!(rollout(&flags), percent.to_string(), "save {i}");
    }
    took.sort();
    println!(
        "file save -> visible over {} edits: median {:?}, p99 {:?}, max {:?}",
        took.len(),
        percentile(&took, 0.5),
        percentile(&took, 0.99),
        took.last().unwrap()
    );
}

fn write_file(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}
