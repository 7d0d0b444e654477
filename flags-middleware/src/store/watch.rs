//! Noticing edits of the flags file: inotify (through `notify`) on the
//! file's directory, so editors that save by renaming a new file into place
//! are seen too, plus a poll as a safety net (or alone, without the
//! `file-watch` feature or when inotify is unavailable).
//!
//! Bursts of events (an editor truncating, then writing in pieces) are
//! debounced: the store is woken once the file has been quiet for
//! [`QUIET`]. Waking is only a hint; the store compares contents, so its own
//! writes and no-op saves change nothing.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::{StoreError, Wake, WatchGuard};

/// How long the file must be quiet before it is read.
const QUIET: Duration = Duration::from_millis(50);
/// Poll interval when polling is the only way to notice edits.
const POLL_ALONE: Duration = Duration::from_millis(250);
/// Poll interval beside inotify (catches what events miss, e.g. a
/// replaced directory or a network file system).
#[cfg(feature = "file-watch")]
const POLL_BACKUP: Duration = Duration::from_secs(2);

/// Stops the polling thread when dropped.
#[derive(Debug)]
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Starts watching `path`; `wake` is called after each burst of changes.
pub(crate) fn watch_file(path: &Path, wake: Wake) -> Result<WatchGuard, StoreError> {
    #[cfg(feature = "file-watch")]
    match inotify(path, wake.clone()) {
        Ok(watcher) => {
            let poller = poll(path, wake, POLL_BACKUP)?;
            return Ok(WatchGuard::new((watcher, poller), "inotify"));
        }
        Err(e) => tracing::warn!(
            target: "flags::reload",
            file = %path.display(),
            error = %e,
            "cannot watch the flags file with inotify; polling instead"
        ),
    }
    Ok(WatchGuard::new(poll(path, wake, POLL_ALONE)?, "polling"))
}

#[cfg(feature = "file-watch")]
fn inotify(path: &Path, wake: Wake) -> notify::Result<notify::RecommendedWatcher> {
    use notify::Watcher as _;

    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."))
        .to_owned();
    let name = path.file_name().map(ToOwned::to_owned);
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let relevant = match &event {
            Ok(e) => e.paths.is_empty() || e.paths.iter().any(|p| p.file_name() == name.as_deref()),
            // An error (say, a queue overflow): look at the file to be sure.
            Err(_) => true,
        };
        if relevant {
            let _ = tx.send(());
        }
    })?;
    watcher.watch(&dir, notify::RecursiveMode::NonRecursive)?;
    // The debounce thread ends when the watcher (and its sender) is dropped.
    std::thread::Builder::new()
        .name("flags-watch".into())
        .spawn(move || {
            while rx.recv().is_ok() {
                loop {
                    match rx.recv_timeout(QUIET) {
                        Ok(()) => continue,
                        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => break,
                        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
                    }
                }
                wake();
            }
        })
        .map_err(|e| notify::Error::generic(&e.to_string()))?;
    Ok(watcher)
}

/// Reads the file every `every` and wakes the store when its bytes change
/// (contents, not timestamps: coarse mtimes miss quick edits).
fn poll(path: &Path, wake: Wake, every: Duration) -> Result<StopOnDrop, StoreError> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let path: PathBuf = path.to_owned();
    let mut last = std::fs::read(&path).ok();
    std::thread::Builder::new()
        .name("flags-poll".into())
        .spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(every);
                let now = std::fs::read(&path).ok();
                if now != last {
                    // Let a write in progress finish before the store reads.
                    std::thread::sleep(QUIET);
                    last = std::fs::read(&path).ok();
                    wake();
                }
            }
        })
        .map_err(|e| StoreError::Unavailable(format!("cannot start the poll thread: {e}")))?;
    Ok(StopOnDrop(stop))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    #[test]
    fn polling_wakes_on_a_content_change_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("flags.toml");
        std::fs::write(&path, "[a]\n").unwrap();
        let woken = Arc::new(AtomicUsize::new(0));
        let counter = woken.clone();
        let guard = poll(
            &path,
            Arc::new(move || {
                counter.fetch_add(1, Ordering::SeqCst);
            }),
            Duration::from_millis(5),
        )
        .unwrap();
        // Rewriting the same bytes is not a change.
        std::fs::write(&path, "[a]\n").unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(woken.load(Ordering::SeqCst), 0);
        std::fs::write(&path, "[b]\n").unwrap();
        let start = std::time::Instant::now();
        while woken.load(Ordering::SeqCst) == 0 {
            assert!(start.elapsed() < Duration::from_secs(10), "never woken");
            std::thread::sleep(Duration::from_millis(2));
        }
        drop(guard);
    }
}
