//! Replacing a file so that a reader (or a restart after a crash) sees the
//! old bytes or the new ones, never a mix: the flags file and the version
//! file beside it are both written this way.

use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `bytes` to a temporary file beside `path`, syncs it, renames it
/// over `path` and syncs the directory: after a crash the file is either
/// the old one or the new one, never a mix.
#[cfg(any(feature = "postgres", feature = "unleash"))]
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_file(path, bytes, true)
}

/// [`write_atomically`], but only if `unchanged()` still holds once the new
/// bytes are on disk, just before the rename: a hand edit saved while they
/// were written is not replaced. `Ok(false)` (and nothing written) when it
/// no longer holds.
pub(crate) fn write_atomically_unless_changed(
    path: &Path,
    bytes: &[u8],
    unchanged: impl FnOnce() -> bool,
) -> std::io::Result<bool> {
    write_checked(path, bytes, true, unchanged)
}

/// [`write_atomically`], or, not `synced`, the same without either fsync:
/// still never a mix after a process dies, but after a power cut the file
/// may be old or torn.
pub(crate) fn write_file(path: &Path, bytes: &[u8], synced: bool) -> std::io::Result<()> {
    write_checked(path, bytes, synced, || true).map(|_| ())
}

/// [`write_file`], renaming only if `go()` says so once the bytes are
/// written (the temporary file is removed otherwise); whether it renamed.
fn write_checked(
    path: &Path,
    bytes: &[u8],
    synced: bool,
    go: impl FnOnce() -> bool,
) -> std::io::Result<bool> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // A link (a flags file kept in a repository, linked into place) is
    // written through: renaming over the link itself would replace it with
    // a plain file, and the target would no longer be what is served.
    let target;
    let path = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            target = std::fs::canonicalize(path)?;
            target.as_path()
        }
        _ => path,
    };
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        // Keep the permissions the user gave the file.
        if let Ok(meta) = std::fs::metadata(path) {
            file.set_permissions(meta.permissions())?;
        }
        file.write_all(bytes)?;
        if synced {
            file.sync_all()?;
        }
        if !go() {
            return Ok(false);
        }
        std::fs::rename(&tmp, path)?;
        // The rename is durable once the directory is synced (where the
        // platform allows opening a directory).
        if synced {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(true)
    })();
    if !matches!(result, Ok(true)) {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_seen_before_the_rename_calls_the_write_off() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("flags.toml");
        std::fs::write(&path, "[a]\n").unwrap();
        // A hand edit lands while the new bytes are written.
        let renamed = write_atomically_unless_changed(&path, b"[b]\n", || {
            std::fs::write(&path, "[hand]\n").unwrap();
            std::fs::read_to_string(&path).unwrap() == "[a]\n"
        })
        .unwrap();
        assert!(!renamed);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "[hand]\n");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "the temporary file is gone");
        // Unchanged: written.
        assert!(write_atomically_unless_changed(&path, b"[b]\n", || true).unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "[b]\n");
    }
}
