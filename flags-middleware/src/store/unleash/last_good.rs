//! The last-known-good file and the bootstrap file: what is served while
//! Unleash cannot be reached.
//!
//! The last-known-good file is Unleash's client-API JSON (so any Unleash
//! tool reads it, and it can be shipped as a bootstrap file), with three
//! keys of ours beside `features` and `segments`: `flagsVersion` (the
//! version served, so versions go on rising after a restart), `savedAt`
//! and `source`. It is rewritten atomically (temporary file, fsync,
//! rename) after every 200, off the poll loop; a slow write of an older
//! set never replaces a newer one.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::Utc;
use hyper::body::Bytes;
use serde::Deserialize;

use crate::error::{LoadError, LoadErrors};
use crate::model::FlagSet;
use crate::store::MAX_VERSION;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SavedVersion {
    #[serde(default)]
    flags_version: u64,
}

/// Reads a last-known-good file: its flags and the version they were served at.
pub(super) fn read(path: &Path) -> Result<(u64, FlagSet), LoadErrors> {
    let text = read_text(path)?;
    let set = from_json(&text, path)?;
    // A version past `MAX_VERSION` is numbered from 0 instead.
    let version = serde_json::from_str::<SavedVersion>(&text)
        .ok()
        .map(|v| v.flags_version)
        .filter(|&v| v <= MAX_VERSION)
        .unwrap_or(0);
    Ok((version, set))
}

/// Reads a bootstrap file: TOML when it ends in `.toml`, else client-API JSON.
pub(super) fn read_bootstrap(path: &Path) -> Result<FlagSet, LoadErrors> {
    let text = read_text(path)?;
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
    {
        crate::format::toml::parse(&text, &path.display().to_string())
    } else {
        from_json(&text, path)
    }
}

fn read_text(path: &Path) -> Result<String, LoadErrors> {
    std::fs::read_to_string(path).map_err(|e| {
        LoadErrors::from(LoadError::new(
            path.display().to_string(),
            format!("cannot read: {e}"),
        ))
    })
}

/// Client-API JSON, its errors named after the file.
fn from_json(text: &str, path: &Path) -> Result<FlagSet, LoadErrors> {
    FlagSet::from_unleash_json(text).map_err(|errors| {
        let file = path.display().to_string();
        errors
            .into_vec()
            .into_iter()
            .map(|mut e| {
                e.source = file.clone();
                e
            })
            .collect::<Vec<_>>()
            .into()
    })
}

/// Writes the last-known-good file after each fetch.
#[derive(Debug, Clone)]
pub(super) struct Writer {
    path: Option<PathBuf>,
    source: String,
    /// The version on disk; the lock also serializes writes.
    written: Arc<Mutex<u64>>,
}

impl Writer {
    pub(super) fn new(path: Option<PathBuf>, source: String) -> Self {
        Writer {
            path,
            source,
            written: Arc::new(Mutex::new(0)),
        }
    }

    /// Saves a 200's body, served at `version`, on a blocking thread.
    pub(super) fn save_body(&self, runtime: &tokio::runtime::Handle, version: u64, body: Bytes) {
        if self.path.is_none() {
            return;
        }
        let this = self.clone();
        runtime.spawn_blocking(move || this.save_now(version, &body));
    }

    /// Writes `body` (a client-API JSON object) with our keys added at its
    /// front: no second parse or serialization of a large set.
    pub(super) fn save_now(&self, version: u64, body: &[u8]) {
        let Some(path) = &self.path else { return };
        let mut written = self
            .written
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *written >= version {
            return;
        }
        let Some(rest) = body.trim_ascii_start().strip_prefix(b"{") else {
            return;
        };
        let ours = serde_json::json!({
            "flagsVersion": version,
            "savedAt": Utc::now(),
            "source": self.source,
        })
        .to_string();
        let mut bytes = Vec::with_capacity(body.len() + ours.len() + 1);
        bytes.extend_from_slice(&ours.as_bytes()[..ours.len() - 1]);
        if !rest.trim_ascii_start().starts_with(b"}") {
            bytes.push(b',');
        }
        bytes.extend_from_slice(rest);
        match crate::store::atomic_write::write_atomically(path, &bytes) {
            Ok(()) => *written = version,
            Err(e) => tracing::warn!(
                target: "flags::unleash",
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

    fn body(name: &str) -> String {
        format!(
            r#"{{"version": 2, "features": [{{"name": "{name}", "enabled": true, "strategies": []}}], "meta": {{}}}}"#
        )
    }

    #[test]
    fn round_trips_as_client_api_json_and_never_goes_back_a_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("unleash.json");
        let w = Writer::new(Some(path.clone()), "http://u/api".into());
        w.save_now(3, body("a").as_bytes());
        w.save_now(2, body("old").as_bytes());
        let (v, s) = read(&path).unwrap();
        assert_eq!((v, s.features[0].name.as_str()), (3, "a"));
        // Plain client-API JSON: a bootstrap file as it is.
        let b = read_bootstrap(&path).unwrap();
        assert_eq!(b.features[0].name, "a");
    }

    #[test]
    fn a_torn_or_missing_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("unleash.json");
        std::fs::write(&path, "{\"features\": [").unwrap();
        let e = read(&path).unwrap_err().to_string();
        assert!(e.contains("unleash.json"), "{e}");
        let e = read_bootstrap(&dir.path().join("nope.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("nope.toml") && e.contains("cannot read"), "{e}");
        std::fs::write(dir.path().join("b.toml"), "[beta]\nrollout = 5\n").unwrap();
        let b = read_bootstrap(&dir.path().join("b.toml")).unwrap();
        assert_eq!(b.features[0].name, "beta");
    }

    #[test]
    fn a_version_too_large_to_count_on_from_reads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("unleash.json");
        let text = format!(r#"{{"flagsVersion": {}, "features": []}}"#, u64::MAX);
        std::fs::write(&path, text).unwrap();
        assert_eq!(read(&path).unwrap().0, 0);
    }
}
