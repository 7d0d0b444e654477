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
//! crashed half-way) it gets the next one. A commit records its version
//! here *before* the flags file is replaced, so whatever a crash leaves,
//! the next start numbers the text on disk above every version served.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::file::write_file;
use crate::error::{LoadError, LoadErrors};

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

    /// The version `text` (the flags file as read at startup) is served as.
    /// Without a version file (first start, or deleted), numbering starts
    /// above `floor` (the highest version in the audit log, which survives
    /// an upgrade from releases that kept no version file).
    ///
    /// # Errors
    /// When the version file exists but cannot be read: starting from 1
    /// could repeat versions, so the app must not start silently.
    pub(crate) fn at_startup(
        &self,
        text: &str,
        floor: impl FnOnce() -> u64,
    ) -> Result<u64, LoadErrors> {
        let version = match self.read()? {
            Some(r) if r.content == content_hash(text) => return Ok(r.version),
            Some(r) => r.version + 1,
            None => floor() + 1,
        };
        self.record(version, text);
        Ok(version)
    }

    fn read(&self) -> Result<Option<Record>, LoadErrors> {
        let source = self.path.display().to_string();
        let bad = |why: String| {
            LoadErrors::from(LoadError::new(
                source.as_str(),
                format!(
                    "{why}; this file keeps the flags' version across restarts. Fix it, or \
                     delete it to number versions from above the audit log's highest"
                ),
            ))
        };
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(bad(format!("cannot read the version file: {e}"))),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| bad(format!("the version file does not read: {e}")))
    }

    /// Records that `text` is about to be served as `version`, just before
    /// the flags file is replaced: that write syncs the directory (one
    /// directory fsync for both renames).
    ///
    /// # Errors
    /// When the file cannot be written.
    pub(crate) fn write_before_flags(&self, version: u64, text: &str) -> std::io::Result<()> {
        self.write(version, text, false)
    }

    fn write(&self, version: u64, text: &str, sync_dir: bool) -> std::io::Result<()> {
        let record = Record {
            version,
            content: content_hash(text),
        };
        let json = serde_json::to_string(&record).map_err(std::io::Error::other)?;
        write_file(&self.path, json.as_bytes(), sync_dir)?;
        self.writable
            .store(true, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// Records, durably, that `text` is served as `version`, whatever
    /// happens (an outside edit, a first start): a failure is logged (once until a write works
    /// again), not returned. A read-only directory (a mounted config map)
    /// must not stop hand edits; versions may then repeat after a restart.
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

/// The highest version in the JSONL audit log at `path` (0 without one).
/// Read only when there is no version file, so its size does not matter.
pub(crate) fn highest_audited(path: &Path) -> u64 {
    #[derive(Deserialize)]
    struct Versioned {
        version: u64,
    }
    let Ok(text) = std::fs::read_to_string(path) else {
        return 0;
    };
    text.lines()
        .filter_map(|line| serde_json::from_str::<Versioned>(line).ok())
        .map(|e| e.version)
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> (tempfile::TempDir, PathBuf, VersionFile) {
        let dir = tempfile::tempdir().unwrap();
        let flags = dir.path().join("flags.toml");
        let versions = VersionFile::beside(&flags);
        (dir, flags, versions)
    }

    #[test]
    fn the_same_text_keeps_its_version_and_a_new_text_gets_the_next() {
        let (_dir, _, versions) = files();
        assert_eq!(versions.at_startup("[a]\n", || 0).unwrap(), 1);
        assert!(versions.path().ends_with("flags.version.json"));
        versions.record(5, "[a]\n");
        assert_eq!(versions.at_startup("[a]\n", || 0).unwrap(), 5);
        // Edited while the app was down.
        assert_eq!(versions.at_startup("[b]\n", || 0).unwrap(), 6);
        assert_eq!(versions.at_startup("[b]\n", || 0).unwrap(), 6);
    }

    #[test]
    fn without_a_version_file_numbering_starts_above_the_audit_log() {
        let (dir, _, versions) = files();
        let audit = dir.path().join("flags.audit.jsonl");
        std::fs::write(
            &audit,
            "{\"version\":3,\"flag\":\"a\"}\nnot json\n{\"version\":9}\n{\"version\":4}\n",
        )
        .unwrap();
        assert_eq!(highest_audited(&audit), 9);
        assert_eq!(highest_audited(&dir.path().join("none.jsonl")), 0);
        assert_eq!(versions.at_startup("[a]\n", || 9).unwrap(), 10);
    }

    #[test]
    fn an_unreadable_version_file_is_an_error_naming_it() {
        let (_dir, _, versions) = files();
        std::fs::write(versions.path(), "{\"version\":").unwrap();
        let err = versions.at_startup("[a]\n", || 0).unwrap_err();
        assert!(
            err.errors()[0].source.ends_with("flags.version.json"),
            "{err}"
        );
        assert!(err.errors()[0].message.contains("does not read"), "{err}");
    }
}
