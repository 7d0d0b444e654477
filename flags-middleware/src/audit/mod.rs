//! The audit log: who changed which flag, when, and from what to what.
//!
//! Every accepted change (an admin call, a hand edit of the flags file, the
//! rollout guard) is appended as one JSON line per flag to a file beside the
//! flags file (`flags.toml` → `flags.audit.jsonl`), synced before the change
//! is acknowledged, and emitted as a `tracing` event at target `flags::audit`:
//!
//! ```text
//! INFO flags::audit: flag changed actor="ops" action="kill" flag="new_checkout_flow" version=7
//! ```
//!
//! The admin API serves it newest first, paged (`GET /_audit?limit=50&offset=0`).

mod newest_first;

use std::collections::VecDeque;
use std::io::Write as _;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One accepted change to one flag (or segment).
///
/// ```
/// use flags_middleware::{edit::Edit, Flags};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
/// flags.writer("ops").commit(Edit::kill("new_checkout_flow")).await.unwrap();
/// let newest = &flags.audit_page(0, 10).await.unwrap()[0];
/// assert_eq!((newest.actor.as_str(), newest.action.as_str()), ("ops", "kill"));
/// assert_eq!(newest.flag, "new_checkout_flow");
/// assert_eq!(newest.version, flags.version());
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When the change was accepted.
    pub at: DateTime<Utc>,
    /// Who made it: an admin token's name, `file edit`, `guard`.
    pub actor: String,
    /// What was done: `kill`, `enable`, `rollout`, `users`, `replace`,
    /// `create`, `delete`, `file edit`...
    pub action: String,
    /// The flag changed (`segment:<id>` for a segment).
    pub flag: String,
    /// The flag-set version the change produced.
    pub version: u64,
    /// The definition before (Unleash JSON shape); `null` when created.
    pub before: Option<serde_json::Value>,
    /// The definition after; `null` when deleted.
    pub after: Option<serde_json::Value>,
    /// The instance that made the change, when several share one store (a
    /// database); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Why, when the actor said: for the rollout guard, the figures that
    /// triggered a kill (`guard: new arm 31.2% errors over 412 requests vs
    /// 0.4% over 7,803, p < 0.001`) or the plan step taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The actors the library itself commits as, by the names the audit log
/// shows. An admin token of one of these names writes as
/// `<name> (admin token)` instead (see `admin::auth`).
pub(crate) mod actors {
    /// The rollout guard.
    pub(crate) const GUARD: &str = "guard";
    /// Changes an Unleash server made.
    pub(crate) const UNLEASH: &str = "unleash";
    /// A whole set read again from outside (a hand edit of the file).
    pub(crate) const FILE_EDIT: &str = "file edit";
    /// Some flags changed outside (another instance, through the database).
    pub(crate) const OUTSIDE_CHANGE: &str = "outside change";
    /// Every one of them.
    pub(crate) const ALL: [&str; 4] = [GUARD, UNLEASH, FILE_EDIT, OUTSIDE_CHANGE];
}

/// Entries kept in memory when there is no file.
const MEMORY_ENTRIES: usize = 10_000;

/// Where audit entries go: a JSONL file, or (without one) the most recent
/// entries in memory.
#[derive(Debug)]
pub(crate) struct AuditLog {
    path: Option<PathBuf>,
    memory: Mutex<VecDeque<AuditEntry>>,
}

impl AuditLog {
    /// A log appending to `path`, or kept in memory when `None`.
    pub(crate) fn new(path: Option<PathBuf>) -> Self {
        AuditLog {
            path,
            memory: Mutex::new(VecDeque::new()),
        }
    }

    /// The JSONL file beside a flags file: `dir/flags.toml` → `dir/flags.audit.jsonl`.
    pub(crate) fn beside(flags_file: &Path) -> PathBuf {
        let stem = flags_file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "flags".to_owned());
        flags_file.with_file_name(format!("{stem}.audit.jsonl"))
    }

    /// The file entries are appended to, if any.
    pub(crate) fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Appends `entries` (synced to disk when there is a file) and emits one
    /// tracing event each.
    ///
    /// # Errors
    /// When the file cannot be written; the entries are still logged.
    pub(crate) fn append(&self, entries: &[AuditEntry]) -> std::io::Result<()> {
        for e in entries {
            tracing::info!(
                target: "flags::audit",
                actor = %e.actor,
                action = %e.action,
                flag = %e.flag,
                version = e.version,
                before = %json_or_null(&e.before),
                after = %json_or_null(&e.after),
                reason = e.message.as_deref().unwrap_or(""),
                "flag changed"
            );
        }
        let Some(path) = &self.path else {
            let mut mem = self.lock_memory();
            for e in entries {
                if mem.len() == MEMORY_ENTRIES {
                    mem.pop_front();
                }
                mem.push_back(e.clone());
            }
            return Ok(());
        };
        let mut buf = Vec::new();
        for e in entries {
            serde_json::to_writer(&mut buf, e).map_err(std::io::Error::other)?;
            buf.push(b'\n');
        }
        // The memory lock also serializes writers of the file.
        let _guard = self.lock_memory();
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        file.write_all(&buf)?;
        file.sync_data()
    }

    /// Entries newest first, skipping `offset`, at most `limit`.
    ///
    /// # Errors
    /// When the file exists but cannot be read.
    pub(crate) fn page(&self, offset: usize, limit: usize) -> std::io::Result<Vec<AuditEntry>> {
        self.page_where(None, offset, limit)
    }

    /// [`AuditLog::page`] of the entries about `flag` only, or of all when
    /// `flag` is `None`.
    pub(crate) fn page_where(
        &self,
        flag: Option<&str>,
        offset: usize,
        limit: usize,
    ) -> std::io::Result<Vec<AuditEntry>> {
        let wanted = |e: &AuditEntry| flag.map_or(true, |f| e.flag == f);
        let Some(path) = &self.path else {
            let mem = self.lock_memory();
            return Ok(mem
                .iter()
                .rev()
                .filter(|e| wanted(e))
                .skip(offset)
                .take(limit)
                .cloned()
                .collect());
        };
        // Read from the end, and only as far back as the page reaches. A
        // line cut short by a crash is skipped rather than failing the page.
        let mut skip = offset;
        let mut page = Vec::new();
        if limit == 0 {
            return Ok(page);
        }
        newest_first::lines(path, |line| {
            match serde_json::from_slice::<AuditEntry>(line) {
                Ok(e) if wanted(&e) && skip > 0 => skip -= 1,
                Ok(e) if wanted(&e) => page.push(e),
                _ => {}
            }
            match page.len() == limit {
                true => ControlFlow::Break(()),
                false => ControlFlow::Continue(()),
            }
        })?;
        Ok(page)
    }

    fn lock_memory(&self) -> std::sync::MutexGuard<'_, VecDeque<AuditEntry>> {
        self.memory
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn json_or_null(v: &Option<serde_json::Value>) -> String {
    v.as_ref()
        .map(ToString::to_string)
        .unwrap_or_else(|| "null".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(version: u64) -> AuditEntry {
        AuditEntry {
            at: Utc::now(),
            actor: "ops".into(),
            action: "kill".into(),
            flag: "a".into(),
            version,
            before: None,
            after: Some(serde_json::json!({"name": "a"})),
            instance: None,
            message: None,
        }
    }

    #[test]
    fn file_log_pages_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(Some(AuditLog::beside(&dir.path().join("flags.toml"))));
        assert!(log.path().unwrap().ends_with("flags.audit.jsonl"));
        for v in 1..=5 {
            log.append(&[entry(v)]).unwrap();
        }
        let page: Vec<u64> = log.page(1, 2).unwrap().iter().map(|e| e.version).collect();
        assert_eq!(page, vec![4, 3]);
    }

    #[test]
    fn one_flags_entries_page_past_the_others_in_file_and_memory() {
        let dir = tempfile::tempdir().unwrap();
        let logs = [
            AuditLog::new(Some(AuditLog::beside(&dir.path().join("flags.toml")))),
            AuditLog::new(None),
        ];
        for log in &logs {
            for v in 1..=30 {
                let mut e = entry(v);
                // Every third entry is about flag `b`.
                if v % 3 == 0 {
                    e.flag = "b".into();
                }
                log.append(&[e]).unwrap();
            }
            let page: Vec<u64> = log
                .page_where(Some("b"), 1, 3)
                .unwrap()
                .iter()
                .map(|e| e.version)
                .collect();
            assert_eq!(page, vec![27, 24, 21]);
            assert!(log.page_where(Some("c"), 0, 10).unwrap().is_empty());
            assert_eq!(log.page_where(None, 0, 100).unwrap().len(), 30);
        }
    }

    /// Records (target, level, fields) of every event.
    #[derive(Clone, Default)]
    struct Capture(std::sync::Arc<Mutex<Vec<(String, tracing::Level, String)>>>);

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            _ctx: tracing_subscriber::layer::Context<'_, S>,
        ) {
            struct Fields(String);
            impl tracing::field::Visit for Fields {
                fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                    self.0.push_str(&format!("{}={:?} ", f.name(), v));
                }
            }
            let mut fields = Fields(String::new());
            event.record(&mut fields);
            let meta = event.metadata();
            self.0
                .lock()
                .unwrap()
                .push((meta.target().to_owned(), *meta.level(), fields.0));
        }
    }

    #[test]
    fn each_entry_is_a_tracing_event_at_flags_audit() {
        use tracing_subscriber::layer::SubscriberExt;

        let capture = Capture::default();
        let subscriber = tracing_subscriber::registry().with(capture.clone());
        tracing::subscriber::with_default(subscriber, || {
            crate::test_tracing::ask_every_dispatcher();
            AuditLog::new(None).append(&[entry(7)]).unwrap();
        });
        let events = capture.0.lock().unwrap();
        assert_eq!(events.len(), 1);
        let (target, level, fields) = &events[0];
        assert_eq!(target, "flags::audit");
        assert_eq!(*level, tracing::Level::INFO);
        for want in [
            "actor=ops",
            "action=kill",
            "flag=a",
            "version=7",
            "before=null",
            "after={\"name\":\"a\"}",
        ] {
            assert!(fields.contains(want), "{want} not in {fields}");
        }
    }

    #[test]
    fn memory_log_pages_newest_first() {
        let log = AuditLog::new(None);
        log.append(&[entry(1), entry(2)]).unwrap();
        let page: Vec<u64> = log.page(0, 10).unwrap().iter().map(|e| e.version).collect();
        assert_eq!(page, vec![2, 1]);
    }

    #[test]
    fn pages_reach_back_across_read_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(Some(dir.path().join("a.audit.jsonl")));
        // ~1 KB an entry: 300 of them span several of the reader's blocks.
        for v in 1..=300 {
            let mut e = entry(v);
            e.message = Some("x".repeat(1_000 + v as usize));
            if v % 7 == 0 {
                e.flag = "b".into();
            }
            log.append(&[e]).unwrap();
        }
        let versions = |page: Vec<AuditEntry>| page.iter().map(|e| e.version).collect::<Vec<_>>();
        assert_eq!(versions(log.page(0, 3).unwrap()), [300, 299, 298]);
        assert_eq!(versions(log.page(250, 3).unwrap()), [50, 49, 48]);
        assert_eq!(versions(log.page(298, 5).unwrap()), [2, 1]);
        assert!(log.page(300, 5).unwrap().is_empty());
        assert!(log.page(0, 0).unwrap().is_empty());
        assert_eq!(
            versions(log.page_where(Some("b"), 40, 10).unwrap()),
            [14, 7]
        );
    }

    #[test]
    fn an_unreadable_old_line_costs_only_itself() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.audit.jsonl");
        // Not even text: the whole log used to be unreadable for it.
        std::fs::write(&path, b"\xff\xfe garbage\n").unwrap();
        let log = AuditLog::new(Some(path));
        log.append(&[entry(1), entry(2)]).unwrap();
        let page = log.page(0, 10).unwrap();
        assert_eq!(page.iter().map(|e| e.version).collect::<Vec<_>>(), [2, 1]);
    }

    #[test]
    fn a_torn_last_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.audit.jsonl");
        let log = AuditLog::new(Some(path.clone()));
        log.append(&[entry(1)]).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"at\":")
            .unwrap();
        assert_eq!(log.page(0, 10).unwrap().len(), 1);
    }
}
