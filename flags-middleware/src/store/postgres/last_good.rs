//! The last-known-good file: the flags this instance last synced, so it can
//! start (and serve) while the database is down.
//!
//! JSON: the namespace, the version and the set in Unleash's client-API
//! shape. Written atomically (temporary file, fsync, rename) off the
//! request path, newest version wins: a slow write of an old version never
//! replaces a newer one.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::LoadError;
use crate::model::FlagSet;
use crate::store::StoreError;

#[derive(Debug, Serialize, Deserialize)]
struct File {
    namespace: String,
    version: u64,
    saved_at: DateTime<Utc>,
    flags: FlagSet,
}

/// Reads the file; it must be for `namespace`.
pub(super) fn read(path: &Path, namespace: &str) -> Result<(u64, FlagSet), StoreError> {
    let source = path.display().to_string();
    let fail = |m: String| StoreError::from(LoadError::new(source.as_str(), m));
    let text = std::fs::read_to_string(path)
        .map_err(|e| fail(format!("cannot read the last-known-good file: {e}")))?;
    let file: File = serde_json::from_str(&text).map_err(|e| {
        fail(format!(
            "the last-known-good file does not read (line {}, column {}): {e}",
            e.line(),
            e.column()
        ))
    })?;
    if file.namespace != namespace {
        return Err(fail(format!(
            "the last-known-good file holds namespace `{}`, not `{namespace}`",
            file.namespace
        )));
    }
    Ok((file.version, file.flags))
}

/// Writes the file after each sync.
#[derive(Debug, Clone)]
pub(super) struct Writer {
    path: Option<PathBuf>,
    namespace: String,
    /// The version on disk; the lock also serializes writes.
    written: Arc<Mutex<Option<u64>>>,
}

impl Writer {
    pub(super) fn new(path: Option<PathBuf>, namespace: String) -> Self {
        Writer {
            path,
            namespace,
            written: Arc::new(Mutex::new(None)),
        }
    }

    /// Saves `set` at `version` on a blocking thread of `runtime`.
    pub(super) fn save(&self, runtime: &tokio::runtime::Handle, version: u64, set: FlagSet) {
        if self.path.is_none() {
            return;
        }
        let this = self.clone();
        runtime.spawn_blocking(move || this.save_now(version, &set));
    }

    fn save_now(&self, version: u64, set: &FlagSet) {
        let Some(path) = &self.path else { return };
        let mut written = self
            .written
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if written.is_some_and(|w| w >= version) {
            return;
        }
        let file = File {
            namespace: self.namespace.clone(),
            version,
            saved_at: Utc::now(),
            flags: set.clone(),
        };
        let result = serde_json::to_vec_pretty(&file)
            .map_err(std::io::Error::other)
            .and_then(|bytes| crate::store::atomic_write::write_atomically(path, &bytes));
        match result {
            Ok(()) => *written = Some(version),
            Err(e) => tracing::warn!(
                target: "flags::postgres",
                file = %path.display(),
                error = %e,
                "cannot write the last-known-good file"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(name: &str) -> FlagSet {
        crate::format::toml::parse(&format!("[{name}]\n"), "t").unwrap()
    }

    #[test]
    fn round_trips_and_never_goes_back_a_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("last-good.json");
        let w = Writer::new(Some(path.clone()), "default".into());
        w.save_now(3, &set("a"));
        w.save_now(2, &set("old"));
        let (v, s) = read(&path, "default").unwrap();
        assert_eq!((v, s.features[0].name.as_str()), (3, "a"));
    }

    #[test]
    fn another_namespace_or_a_torn_file_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("last-good.json");
        Writer::new(Some(path.clone()), "billing".into()).save_now(1, &set("a"));
        let e = read(&path, "default").unwrap_err().to_string();
        assert!(e.contains("namespace `billing`"), "{e}");
        std::fs::write(&path, "{\"namespace\": ").unwrap();
        let e = read(&path, "default").unwrap_err().to_string();
        assert!(e.contains("last-good.json") && e.contains("line 1"), "{e}");
    }
}
