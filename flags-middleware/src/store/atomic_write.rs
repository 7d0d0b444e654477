//! Replacing a file so that a reader (or a restart after a crash) sees the
//! old bytes or the new ones, never a mix: the flags file and the version
//! file beside it are both written this way.

use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `bytes` to a temporary file beside `path`, syncs it, renames it
/// over `path` and syncs the directory: after a crash the file is either
/// the old one or the new one, never a mix.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_file(path, bytes, true)
}

/// [`write_atomically`], or, not `synced`, the same without either fsync:
/// still never a mix after a process dies, but after a power cut the file
/// may be old or torn.
pub(crate) fn write_file(path: &Path, bytes: &[u8], synced: bool) -> std::io::Result<()> {
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
        std::fs::rename(&tmp, path)?;
        // The rename is durable once the directory is synced (where the
        // platform allows opening a directory).
        if synced {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
