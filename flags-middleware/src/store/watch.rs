//! Noticing edits of the flags file: inotify (through `notify`) on the
//! file's directory, so editors that save by renaming a new file into place
//! are seen too, plus a poll as a safety net (or alone, without the
//! `file-watch` feature or when inotify is unavailable).
//!
//! Only events that can change the file's bytes wake the store: opens,
//! reads and closes after reading (the store's own reads among them) and
//! attribute changes do not, so an idle file is never read. The poll
//! compares the file's metadata, never its bytes.
//!
//! Bursts of events (an editor truncating, then writing in pieces) are
//! debounced: the store is woken once the file has been quiet for
//! [`QUIET`]. On Linux, a write that has not been closed yet (a slow `scp`,
//! a tool writing in chunks) is waited for until it is closed, or quiet for
//! [`OPEN_WRITE_QUIET`]: half a file can parse (`[flag]` alone means on for
//! everyone), so it must not be read in a pause. Waking is only a hint; the
//! store compares contents, so its own writes and no-op saves change nothing.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{StoreError, Wake, WatchGuard};

/// How long the file must be quiet before it is read.
const QUIET: Duration = Duration::from_millis(50);
/// How long a write not closed yet must be quiet before the file is read
/// all the same (a writer that keeps the file open).
#[cfg(feature = "file-watch")]
const OPEN_WRITE_QUIET: Duration = Duration::from_secs(2);
/// Poll interval when polling is the only way to notice edits.
const POLL_ALONE: Duration = Duration::from_millis(250);
/// Poll interval beside inotify (catches what events miss, e.g. a
/// replaced directory or a network file system).
#[cfg(feature = "file-watch")]
const POLL_BACKUP: Duration = Duration::from_secs(2);
/// How coarse file timestamps may be (1 s on HFS+ and ext3, a clock tick on
/// most others): two same-size saves within this long may carry the same
/// timestamps, so the poll also wakes the store while the last change is
/// this recent.
const TIMESTAMP_SLACK: Duration = Duration::from_secs(1);

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
    {
        let writing = Arc::new(AtomicBool::new(false));
        match inotify(path, wake.clone(), writing.clone()) {
            Ok(watcher) => {
                let poller = poll(path, wake, POLL_BACKUP, writing)?;
                return Ok(WatchGuard::new((watcher, poller), "inotify"));
            }
            Err(e) => tracing::warn!(
                target: "flags::reload",
                file = %path.display(),
                error = %e,
                "cannot watch the flags file with inotify; polling instead"
            ),
        }
    }
    // Alone, the poll cannot tell a write still open from a finished one:
    // the file is read shortly after the poll sees it change.
    let writing = Arc::new(AtomicBool::new(false));
    Ok(WatchGuard::new(
        poll(path, wake, POLL_ALONE, writing)?,
        "polling",
    ))
}

/// What an inotify event says about the flags file.
#[cfg(feature = "file-watch")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// Bytes written, the file still open for writing.
    Written,
    /// Anything else that can change its bytes: a write closed, a file
    /// renamed into place, created or removed.
    Changed,
}

/// Watches `path`'s directory; while a write to the file is open,
/// `writing` is set (so the poll holds off too).
#[cfg(feature = "file-watch")]
fn inotify(
    path: &Path,
    wake: Wake,
    writing: Arc<AtomicBool>,
) -> notify::Result<notify::RecommendedWatcher> {
    use notify::Watcher as _;

    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."))
        .to_owned();
    let name = path.file_name().map(ToOwned::to_owned);
    let (tx, rx) = std::sync::mpsc::channel::<Seen>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let seen = match &event {
            Ok(e) if !may_change_bytes(&e.kind) => None,
            Ok(e)
                if !e.paths.is_empty()
                    && !e.paths.iter().any(|p| p.file_name() == name.as_deref()) =>
            {
                None
            }
            // Only inotify says when a write is closed; elsewhere every
            // save would wait out the open-write quiet.
            Ok(e)
                if cfg!(target_os = "linux")
                    && matches!(
                        e.kind,
                        notify::EventKind::Modify(notify::event::ModifyKind::Data(_))
                    ) =>
            {
                Some(Seen::Written)
            }
            Ok(_) => Some(Seen::Changed),
            // An error (say, a queue overflow): look at the file to be sure.
            Err(_) => Some(Seen::Changed),
        };
        if let Some(seen) = seen {
            let _ = tx.send(seen);
        }
    })?;
    watcher.watch(&dir, notify::RecursiveMode::NonRecursive)?;
    // The debounce thread ends when the watcher (and its sender) is dropped.
    std::thread::Builder::new()
        .name("flags-watch".into())
        .spawn(move || {
            while let Ok(mut seen) = rx.recv() {
                loop {
                    let open = seen == Seen::Written;
                    writing.store(open, Ordering::SeqCst);
                    let quiet = if open { OPEN_WRITE_QUIET } else { QUIET };
                    match rx.recv_timeout(quiet) {
                        Ok(next) => seen = next,
                        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => break,
                        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
                    }
                }
                writing.store(false, Ordering::SeqCst);
                wake();
            }
        })
        .map_err(|e| notify::Error::generic(&e.to_string()))?;
    Ok(watcher)
}

/// Whether an event can mean new bytes in the file. Not opens, reads or
/// closes after reading (the store reading the file would wake itself, over
/// and over), nor attribute changes (`touch`, `chmod`: the poll's metadata
/// check catches what those hide).
#[cfg(feature = "file-watch")]
fn may_change_bytes(kind: &notify::EventKind) -> bool {
    use notify::event::{AccessKind, AccessMode, ModifyKind};
    use notify::EventKind;

    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        EventKind::Modify(ModifyKind::Metadata(_)) => false,
        EventKind::Any
        | EventKind::Create(_)
        | EventKind::Modify(_)
        | EventKind::Remove(_)
        | EventKind::Other => true,
    }
}

/// What the poll compares: size, modification time and, on Unix, the
/// inode (a file renamed into place is a new one) and the change time
/// (which no tool can set back). Never the bytes: polling must not read.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    #[cfg(unix)]
    inode: (u64, u64),
    #[cfg(unix)]
    changed: (i64, i64),
}

impl Stamp {
    /// The file's stamp; `None` when it cannot be stat'ed (being replaced,
    /// deleted).
    fn of(path: &Path) -> Option<Stamp> {
        let meta = std::fs::metadata(path).ok()?;
        Some(Stamp {
            len: meta.len(),
            modified: meta.modified().ok(),
            #[cfg(unix)]
            inode: {
                use std::os::unix::fs::MetadataExt as _;
                (meta.dev(), meta.ino())
            },
            #[cfg(unix)]
            changed: {
                use std::os::unix::fs::MetadataExt as _;
                (meta.ctime(), meta.ctime_nsec())
            },
        })
    }

    /// When the file last changed, as far as its timestamps say.
    fn last_change(&self) -> Option<SystemTime> {
        #[cfg(unix)]
        {
            let (secs, nanos) = self.changed;
            let secs = u64::try_from(secs).ok()?;
            let nanos = u32::try_from(nanos).ok()?;
            SystemTime::UNIX_EPOCH.checked_add(Duration::new(secs, nanos))
        }
        #[cfg(not(unix))]
        self.modified
    }

    /// Whether a save made after `taken` (when this stamp was taken) could
    /// still carry the same timestamps: the change is too recent to tell.
    fn too_recent(&self, taken: SystemTime) -> bool {
        self.last_change()
            .map_or(true, |at| at + TIMESTAMP_SLACK >= taken)
    }
}

/// Stats the file every `every` and wakes the store when its metadata
/// changed, or while its last change is too recent for timestamps to show
/// a further one (see [`TIMESTAMP_SLACK`]); not while `writing` says a
/// write is still open (inotify wakes the store once it is closed). An idle
/// file is never read.
fn poll(
    path: &Path,
    wake: Wake,
    every: Duration,
    writing: Arc<AtomicBool>,
) -> Result<StopOnDrop, StoreError> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let path: PathBuf = path.to_owned();
    // The clock is read before the stat, so a change after it is never
    // taken for one before.
    let mut taken = SystemTime::now();
    let mut last = Stamp::of(&path);
    std::thread::Builder::new()
        .name("flags-poll".into())
        .spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(every);
                let now = SystemTime::now();
                let stamp = Stamp::of(&path);
                let changed = stamp != last;
                let unsure = last.as_ref().is_some_and(|s| s.too_recent(taken));
                // A `trace` event per check (every 2 s beside inotify), so a
                // test that finds no read while idle can tell the poll ran.
                tracing::trace!(
                    target: "flags::file",
                    file = %path.display(),
                    changed,
                    "flags file checked"
                );
                (taken, last) = (now, stamp);
                if changed {
                    // Let a write in progress finish before the store reads.
                    std::thread::sleep(QUIET);
                    (taken, last) = (SystemTime::now(), Stamp::of(&path));
                }
                if (changed || unsure) && !writing.load(Ordering::SeqCst) {
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

    fn counter() -> (Arc<AtomicUsize>, Wake) {
        let woken = Arc::new(AtomicUsize::new(0));
        let counter = woken.clone();
        let wake: Wake = Arc::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        (woken, wake)
    }

    fn wait_for_wake(woken: &AtomicUsize) {
        wait_for_wakes(woken, 1);
    }

    fn wait_for_wakes(woken: &AtomicUsize, n: usize) {
        let start = std::time::Instant::now();
        while woken.load(Ordering::SeqCst) < n {
            assert!(start.elapsed() < Duration::from_secs(10), "never woken");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    #[test]
    fn polling_wakes_on_a_save_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("flags.toml");
        std::fs::write(&path, "[a]\n").unwrap();
        // Old enough that its timestamps would show another save.
        std::thread::sleep(TIMESTAMP_SLACK + Duration::from_millis(100));
        let (woken, wake) = counter();
        let guard = poll(&path, wake, Duration::from_millis(5), Arc::default()).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(woken.load(Ordering::SeqCst), 0, "woken by an idle file");
        // Same size, so only the timestamps or the inode can tell.
        std::fs::write(&path, "[b]\n").unwrap();
        wait_for_wake(&woken);
        drop(guard);
    }

    #[test]
    fn polling_keeps_waking_while_a_save_is_too_recent_to_tell() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("flags.toml");
        std::fs::write(&path, "[a]\n").unwrap();
        // Just written: a second save in the same timestamp tick would look
        // the same, so the store is asked to compare contents.
        let (woken, wake) = counter();
        let guard = poll(&path, wake, Duration::from_millis(5), Arc::default()).unwrap();
        // Poll after poll, not once.
        wait_for_wakes(&woken, 3);
        // Once the save is older than the slack, the idle file wakes no one:
        // the count settles while the poller keeps polling.
        std::thread::sleep(TIMESTAMP_SLACK + Duration::from_millis(100));
        let settled = woken.load(Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(woken.load(Ordering::SeqCst), settled);
        drop(guard);
    }

    #[cfg(feature = "file-watch")]
    #[test]
    fn reads_and_attribute_changes_are_not_saves() {
        use notify::event::{
            AccessKind, AccessMode, CreateKind, DataChange, MetadataKind, ModifyKind, RenameMode,
        };
        use notify::EventKind;

        let no = [
            EventKind::Access(AccessKind::Open(AccessMode::Any)),
            EventKind::Access(AccessKind::Read),
            EventKind::Access(AccessKind::Close(AccessMode::Read)),
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::Any)),
        ];
        let yes = [
            EventKind::Access(AccessKind::Close(AccessMode::Write)),
            EventKind::Modify(ModifyKind::Data(DataChange::Any)),
            EventKind::Modify(ModifyKind::Name(RenameMode::To)),
            EventKind::Create(CreateKind::File),
            EventKind::Other,
        ];
        assert!(no.iter().all(|k| !may_change_bytes(k)));
        assert!(yes.iter().all(may_change_bytes));
    }
}
