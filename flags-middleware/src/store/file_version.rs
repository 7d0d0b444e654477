//! The file store's version, kept across restarts in a small file beside
//! the flags file (`flags.toml` → `flags.version.json`), so a version (and
//! the admin API's `ETag`) never names two different flag sets: a client's
//! `If-Match` from before a restart cannot overwrite a newer change.
//!
//! The file holds the last version handed out and a hash of the flags
//! text it was handed out for:
//!
//! ```text
//! {"version":7,"content":"sip13-128:9c3e..."}
//! ```
//!
//! At startup the flags file keeps that version if its text still hashes
//! the same; otherwise (edited while the app was down, or a write that
//! died half-way) it gets the next one. A commit records its version here
//! *before* the flags file is replaced, so the next start numbers the text
//! on disk above every version served.
//!
//! # Durability
//!
//! A commit writes this file without an fsync of its own (an fsync per
//! commit would nearly double the cost of a write); the flags file's write
//! that follows syncs the directory. A killed or crashed process loses
//! nothing (the kernel has the bytes). After a power cut or an OS crash the
//! file may be torn or behind; the audit log beside the flags file, synced
//! at every commit, is then the backstop: numbering resumes above its
//! highest version. Hand edits, rarer, are recorded with a full sync.

use std::io::{Read as _, Seek as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::atomic_write::write_file;
use super::MAX_VERSION;

/// How much of the audit log's end is read at startup for its highest
/// version (versions only grow down the file).
const AUDIT_TAIL: u64 = 64 * 1024;

/// The version file of one flags file.
#[derive(Debug)]
pub(crate) struct VersionFile {
    path: PathBuf,
    /// Whether the last write worked; a failure is logged once, not per edit.
    writable: std::sync::atomic::AtomicBool,
}

#[derive(Debug, Serialize, Deserialize)]
struct Record {
    version: u64,
    content: String,
}

impl VersionFile {
    /// The version file beside `flags_file`: same stem, `.version.json`.
    pub(crate) fn beside(flags_file: &Path) -> VersionFile {
        let stem = flags_file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "flags".to_owned());
        VersionFile {
            path: flags_file.with_file_name(format!("{stem}.version.json")),
            writable: std::sync::atomic::AtomicBool::new(true),
        }
    }

    /// The version `text` (the flags file as read at startup) is served as,
    /// recorded. Without a usable version file (a first start, an upgrade,
    /// a deleted or torn file) numbering starts above the highest version
    /// in `audit_log`.
    pub(crate) fn at_startup(&self, text: &str, audit_log: &Path) -> u64 {
        let version = match self.read() {
            Some(r) => {
                // The audit log is written after the version file; ahead of
                // it, the version file lost writes (a power cut).
                let audited = highest_audited(audit_log, Some(AUDIT_TAIL));
                if r.content == content_hash(text) && r.version >= audited {
                    return r.version;
                }
                r.version.max(audited) + 1
            }
            None => highest_audited(audit_log, None) + 1,
        };
        self.record(version, text);
        version
    }

    /// The record, or `None` (logged, unless there is no file).
    fn read(&self) -> Option<Record> {
        let problem = match std::fs::read_to_string(&self.path) {
            Ok(text) => match serde_json::from_str::<Record>(&text) {
                Ok(record) if record.version <= MAX_VERSION => return Some(record),
                Ok(record) => format!(
                    "the version file holds version {}, past the largest kept ({MAX_VERSION})",
                    record.version
                ),
                Err(e) => format!("the version file does not read: {e}"),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => format!("cannot read the version file: {e}"),
        };
        tracing::warn!(
            target: "flags::reload",
            file = %self.path.display(),
            error = %problem,
            "numbering flag versions from above the audit log's highest; the version file is rewritten"
        );
        None
    }

    /// Records that `text` is about to be served as `version`, just before
    /// the flags file is replaced (whose write syncs the directory): not
    /// synced itself, see the [module docs](self).
    ///
    /// # Errors
    /// When the file cannot be written.
    pub(crate) fn write_before_flags(&self, version: u64, text: &str) -> std::io::Result<()> {
        self.write(version, text, false)
    }

    fn write(&self, version: u64, text: &str, synced: bool) -> std::io::Result<()> {
        let record = Record {
            version,
            content: content_hash(text),
        };
        let json = serde_json::to_string(&record).map_err(std::io::Error::other)?;
        write_file(&self.path, json.as_bytes(), synced)?;
        self.writable
            .store(true, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// Records, synced, that `text` is served as `version`, whatever
    /// happens (an outside edit, a start): a failure is logged (once until
    /// a write works again), not returned. A read-only directory (a mounted
    /// config map) must not stop hand edits; versions may then repeat after
    /// a restart.
    pub(crate) fn record(&self, version: u64, text: &str) {
        if let Err(e) = self.write(version, text, true) {
            if self
                .writable
                .swap(false, std::sync::atomic::Ordering::Relaxed)
            {
                tracing::warn!(
                    target: "flags::reload",
                    file = %self.path.display(),
                    error = %e,
                    "cannot record the flags version; after a restart, versions (ETags) may repeat"
                );
            }
        }
    }

    /// The file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

/// A stable hash of the flags text (SipHash-1-3, 128 bits, fixed keys): the
/// same text gives the same hash in every build and on every platform.
fn content_hash(text: &str) -> String {
    let hash = siphasher::sip128::SipHasher13::new().hash(text.as_bytes());
    format!("sip13-128:{:032x}", hash.as_u128())
}

/// The highest version in the JSONL audit log at `path` (0 without one),
/// in its last `tail` bytes, or in the whole file.
fn highest_audited(path: &Path, tail: Option<u64>) -> u64 {
    #[derive(Deserialize)]
    struct Versioned {
        version: u64,
    }
    let read = || -> std::io::Result<String> {
        let mut file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        let start = tail.map_or(0, |t| len.saturating_sub(t));
        file.seek(std::io::SeekFrom::Start(start))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let mut text = String::from_utf8_lossy(&bytes).into_owned();
        if start > 0 {
            // The first line is cut.
            text.drain(..text.find('\n').map_or(text.len(), |i| i + 1));
        }
        Ok(text)
    };
    let Ok(text) = read() else {
        return 0;
    };
    text.lines()
        .filter_map(|line| serde_json::from_str::<Versioned>(line).ok())
        .map(|e| e.version)
        // A hand-written entry past the largest version would leave no
        // next one: not a version this store made.
        .filter(|&v| v <= MAX_VERSION)
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Files {
        _dir: tempfile::TempDir,
        audit: PathBuf,
        versions: VersionFile,
    }

    fn files() -> Files {
        let dir = tempfile::tempdir().unwrap();
        let flags = dir.path().join("flags.toml");
        Files {
            audit: dir.path().join("flags.audit.jsonl"),
            versions: VersionFile::beside(&flags),
            _dir: dir,
        }
    }

    fn audit_up_to(path: &Path, version: u64) {
        let lines: String = (1..=version)
            .map(|v| format!("{{\"version\":{v},\"flag\":\"a\"}}\n"))
            .collect();
        std::fs::write(path, lines).unwrap();
    }

    #[test]
    fn the_same_text_keeps_its_version_and_a_new_text_gets_the_next() {
        let f = files();
        assert_eq!(f.versions.at_startup("[a]\n", &f.audit), 1);
        assert!(f.versions.path().ends_with("flags.version.json"));
        f.versions.record(5, "[a]\n");
        assert_eq!(f.versions.at_startup("[a]\n", &f.audit), 5);
        // Edited while the app was down.
        assert_eq!(f.versions.at_startup("[b]\n", &f.audit), 6);
        assert_eq!(f.versions.at_startup("[b]\n", &f.audit), 6);
    }

    #[test]
    fn without_a_version_file_numbering_starts_above_the_audit_log() {
        let f = files();
        std::fs::write(
            &f.audit,
            "{\"version\":3,\"flag\":\"a\"}\nnot json\n{\"version\":9}\n{\"version\":4}\n",
        )
        .unwrap();
        assert_eq!(highest_audited(&f.audit, None), 9);
        assert_eq!(f.versions.at_startup("[a]\n", &f.audit), 10);
    }

    #[test]
    fn a_torn_or_stale_version_file_resumes_above_the_audit_log() {
        let f = files();
        audit_up_to(&f.audit, 2_000);
        // Torn by a power cut.
        std::fs::write(f.versions.path(), "{\"version\":").unwrap();
        assert_eq!(f.versions.at_startup("[a]\n", &f.audit), 2_001);
        // Behind the audit log, though the text matches.
        f.versions.record(1_990, "[a]\n");
        assert_eq!(f.versions.at_startup("[a]\n", &f.audit), 2_001);
        assert_eq!(f.versions.at_startup("[a]\n", &f.audit), 2_001);
    }

    #[test]
    fn versions_too_large_to_count_on_from_are_not_taken() {
        let f = files();
        std::fs::write(
            f.versions.path(),
            format!("{{\"version\":{},\"content\":\"x\"}}", u64::MAX),
        )
        .unwrap();
        std::fs::write(
            &f.audit,
            format!("{{\"version\":7}}\n{{\"version\":{}}}\n", u64::MAX),
        )
        .unwrap();
        assert_eq!(f.versions.at_startup("[a]\n", &f.audit), 8);
        assert_eq!(f.versions.at_startup("[a]\n", &f.audit), 8);
    }

    #[test]
    fn the_audit_tail_is_enough() {
        let f = files();
        audit_up_to(&f.audit, 5_000);
        assert!(std::fs::metadata(&f.audit).unwrap().len() > AUDIT_TAIL);
        assert_eq!(highest_audited(&f.audit, Some(AUDIT_TAIL)), 5_000);
        assert_eq!(highest_audited(&f.audit, Some(10)), 0, "no whole line");
        assert_eq!(highest_audited(&f.audit.with_extension("none"), None), 0);
    }
}
