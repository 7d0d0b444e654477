//! [`FileStore`]: a TOML file as the source of truth.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use toml_edit::DocumentMut;

use super::atomic_write::write_atomically_unless_changed;
use super::file_version::VersionFile;
use super::memory::apply_changes;
use super::{BoxFuture, Store, StoreError, StoreWrite, Update, Wake, WatchGuard};
use crate::audit::AuditLog;
use crate::engine::Change;
use crate::error::{LoadError, LoadErrors};
use crate::format::toml::{self as toml_format, FlagRegions, Splice};
use crate::model::{Feature, FlagSet};

/// A watched TOML file (see [`crate::format::toml`]).
///
/// * Outside edits are picked up by [`watch`](Store::watch) (inotify through
///   `notify`, plus a slow poll of the file's metadata as a safety net;
///   polling alone without the `file-watch` feature). An edit that does not
///   parse or validate changes nothing, and an empty file is taken for an
///   editor's half-done save.
/// * Changes are written back into the user's document, key by key, so
///   their comments and layout stay; atomically (a temporary file, fsync,
///   rename, fsync of the directory); one at a time; and acknowledged only
///   once on disk.
/// * A change is refused ([`StoreError::Conflict`]) while the file holds an
///   edit that has not been loaded (say, a broken hand edit being fixed), so
///   an admin call never overwrites someone's typing.
/// * Versions never repeat, across restarts too: the version is kept in a
///   file beside the flags file (`flags.toml` → `flags.version.json`) with a
///   hash of the text it numbers, and a file edited while the app was down
///   gets the next version at startup. A client's `If-Match` from before a
///   restart therefore still matches only the flags it saw.
/// * An empty (or whitespace-only) file at startup is refused, as it is at
///   run time: a truncated file must not start the app with every flag off.
///   A file holding only a comment is an empty flag set on purpose; or see
///   [`FileStoreOptions::allow_empty`].
///
/// ```no_run
/// # fn main() -> Result<(), flags_middleware::LoadErrors> {
/// let flags = flags_middleware::Flags::from_file("flags.toml")?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct FileStore {
    inner: Arc<Inner>,
}

/// How to open a [`FileStore`]: [`FileStore::options`], then
/// [`open`](FileStoreOptions::open).
///
/// ```no_run
/// # fn main() -> Result<(), flags_middleware::LoadErrors> {
/// use flags_middleware::{store::FileStore, Flags};
///
/// // A deploy that creates the file empty, on purpose.
/// let store = FileStore::options().allow_empty(true).open("flags.toml")?;
/// let flags = Flags::from_file_store(store)?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct FileStoreOptions {
    allow_empty: bool,
}

impl FileStoreOptions {
    /// Whether an empty (or whitespace-only) file at startup is an empty
    /// flag set (every flag off) rather than an error. Default: `false`.
    /// At run time an empty save is always taken for an editor's half-done
    /// write and changes nothing (write a comment to empty the file on
    /// purpose).
    ///
    /// ```
    /// use flags_middleware::store::FileStore;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("flags.toml");
    /// std::fs::write(&path, "").unwrap();
    /// assert!(FileStore::open(&path).is_err()); // a truncated deploy, by default
    /// let store = FileStore::options().allow_empty(true).open(&path).unwrap();
    /// assert!(store.flag_set().features.is_empty());
    /// ```
    pub fn allow_empty(mut self, allow: bool) -> Self {
        self.allow_empty = allow;
        self
    }

    /// Reads and checks the file at `path`, and finds its version.
    ///
    /// ```
    /// use flags_middleware::store::FileStore;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("flags.toml");
    /// std::fs::write(&path, "[new_checkout_flow]\nrollout = 150\n").unwrap();
    /// let errors = FileStore::options().open(&path).unwrap_err().into_vec();
    /// assert_eq!((errors[0].line, errors[0].field.as_deref()), (Some(2), Some("rollout")));
    /// ```
    ///
    /// # Errors
    /// When the file cannot be read, is empty (unless allowed), or has any
    /// error (with line and column).
    pub fn open(self, path: impl AsRef<Path>) -> Result<FileStore, LoadErrors> {
        let path = path.as_ref();
        let source = path.display().to_string();
        // Watch and write through an absolute path, so a later change of the
        // working directory does not move the file.
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
        let inner = Inner {
            versions: VersionFile::beside(&path),
            path,
            source,
            allow_empty: self.allow_empty,
            state: Mutex::new(State::default()),
        };
        let text = inner.read_text().map_err(|e| {
            LoadError::new(
                inner.source.as_str(),
                format!("cannot read the flags file: {e}"),
            )
        })?;
        let (set, regions) = inner.parse(&text, Startup::Yes)?;
        let version = inner
            .versions
            .at_startup(&text, &AuditLog::beside(&inner.path));
        *inner.lock() = State {
            text,
            regions,
            set,
            version,
            touched: 0,
        };
        Ok(FileStore {
            inner: Arc::new(inner),
        })
    }
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    source: String,
    versions: VersionFile,
    allow_empty: bool,
    state: Mutex<State>,
}

/// What the file holds, as far as this process knows.
#[derive(Debug, Default)]
struct State {
    /// The text last loaded or written.
    text: String,
    /// Where each flag's tables are in that text, so a write rewrites one
    /// flag's bytes, not the file.
    regions: FlagRegions,
    /// That text as flags.
    set: FlagSet,
    /// The version that text is served as.
    version: u64,
    /// Bytes of TOML parsed, rendered and read back by the last write (the
    /// whole file's, a few times over, when it could not be done flag by
    /// flag): what a write costs, for the tests.
    touched: usize,
}

/// Whether a text is read at startup (an empty file may be allowed) or at
/// run time (an empty file is a half-done save).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Startup {
    Yes,
    No,
}

impl FileStore {
    /// Reads and checks the file at `path`, refusing an empty one
    /// (see [`FileStore::options`] to allow it).
    ///
    /// ```
    /// use flags_middleware::store::FileStore;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("flags.toml");
    /// std::fs::write(&path, "# no flags yet\n").unwrap(); // empty on purpose: a comment
    /// assert!(FileStore::open(&path).unwrap().flag_set().features.is_empty());
    /// std::fs::write(&path, " \n").unwrap(); // empty by accident
    /// assert!(FileStore::open(&path).unwrap_err().to_string().contains("empty"));
    /// ```
    ///
    /// # Errors
    /// When the file cannot be read, is empty, or has any error (with line
    /// and column).
    pub fn open(path: impl AsRef<Path>) -> Result<FileStore, LoadErrors> {
        FileStoreOptions::default().open(path)
    }

    /// Options for opening a file store (an empty file at startup).
    ///
    /// ```
    /// use flags_middleware::{store::FileStore, Context, Flags};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("flags.toml");
    /// std::fs::write(&path, "").unwrap(); // a deploy that creates it empty, on purpose
    /// let store = FileStore::options().allow_empty(true).open(&path).unwrap();
    /// let flags = Flags::from_file_store(store).unwrap();
    /// assert!(!flags.is_enabled("new_checkout_flow", &Context::new())); // every flag off
    /// ```
    pub fn options() -> FileStoreOptions {
        FileStoreOptions::default()
    }

    /// The file.
    ///
    /// ```
    /// use flags_middleware::store::FileStore;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("flags.toml");
    /// std::fs::write(&path, "[new_checkout_flow]\n").unwrap();
    /// assert_eq!(FileStore::open(&path).unwrap().path(), path);
    /// ```
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The file that keeps the flags' version across restarts, beside the
    /// flags file (`flags.toml` → `flags.version.json`).
    ///
    /// ```
    /// use flags_middleware::store::{FileStore, Store};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("flags.toml");
    /// std::fs::write(&path, "[new_checkout_flow]\n").unwrap();
    /// let store = FileStore::open(&path).unwrap();
    /// assert_eq!(store.version_path().file_name().unwrap(), "flags.version.json");
    /// drop(store);
    /// std::fs::write(&path, "[new_checkout_flow]\nrollout = 5\n").unwrap(); // edited while down
    /// assert_eq!(FileStore::open(&path).unwrap().version(), Some(2));
    /// ```
    pub fn version_path(&self) -> &Path {
        self.inner.versions.path()
    }

    /// The flags the file holds (as last loaded or written).
    ///
    /// ```
    /// use flags_middleware::store::FileStore;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("flags.toml");
    /// std::fs::write(&path, "[new_checkout_flow]\nrollout = 20\n[dark_mode]\n").unwrap();
    /// let set = FileStore::open(&path).unwrap().flag_set();
    /// let mut names: Vec<&str> = set.features.iter().map(|f| f.name.as_str()).collect();
    /// names.sort_unstable();
    /// assert_eq!(names, ["dark_mode", "new_checkout_flow"]);
    /// ```
    pub fn flag_set(&self) -> FlagSet {
        self.inner.lock().set.clone()
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Reads the whole file. Each read is a `trace` event at `flags::file`,
    /// so a watcher that reads more than it should shows in the logs (and
    /// in the tests that count them).
    fn read_text(&self) -> std::io::Result<String> {
        tracing::trace!(target: "flags::file", file = %self.path.display(), "flags file read");
        std::fs::read_to_string(&self.path)
    }

    fn read(&self) -> Result<String, StoreError> {
        self.read_text()
            .map_err(|e| StoreError::Unavailable(format!("cannot read {}: {e}", self.source)))
    }

    /// `text` as flags, and where each flag is in it; an empty text is
    /// refused, unless it is read at startup and the app allowed it.
    fn parse(&self, text: &str, when: Startup) -> Result<(FlagSet, FlagRegions), LoadErrors> {
        if text.trim().is_empty() && !(when == Startup::Yes && self.allow_empty) {
            // Editors that truncate, then write, leave an empty file for a
            // moment: never take it for "no flags". Nor, at startup, a
            // truncated deploy: it would start the app with every flag off.
            let message = match when {
                Startup::No => {
                    "the file is empty; keeping the last good flags (write a comment to \
                     empty it on purpose)"
                }
                Startup::Yes => {
                    "the flags file is empty; refusing to start with no flags (write a \
                     comment such as `# no flags yet` to start empty on purpose, or open \
                     it with `FileStore::options().allow_empty(true)`)"
                }
            };
            return Err(LoadErrors::from(LoadError::new(
                self.source.as_str(),
                message,
            )));
        }
        let (set, _) = toml_format::parse_compiled(text, &self.source)?;
        // It parsed just above; without regions, every write takes the
        // whole document.
        let regions = FlagRegions::of(text).unwrap_or_default();
        Ok((set, regions))
    }

    /// Why a write is refused when the file is not what was loaded: a hand
    /// edit, kept, not overwritten (seen before the write, or just before
    /// its rename).
    fn edited(&self) -> StoreError {
        StoreError::Conflict(format!(
            "{} was edited and the edit is not loaded yet (or is invalid: see the status); \
             fix or save the file, then retry",
            self.source
        ))
    }

    fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        let mut state = self.lock();
        // The whole file is read to see a hand edit not loaded yet: cheap
        // next to the write (no parsing), and exact where a file's size and
        // time can miss a quick edit.
        if self.read()? != state.text {
            return Err(self.edited());
        }
        let written = match self.splice(&state, changes) {
            Some(splice) => Written::Flag(splice),
            None => Written::Whole(self.render(&state, changes)?),
        };
        let text = written.text();
        // The version first: if the flags write then fails or the machine
        // dies, the next start finds the text unlike the recorded one and
        // numbers it above this version, so no version is ever served twice.
        let version = state.version + 1;
        self.versions
            .write_before_flags(version, text)
            .map_err(|e| {
                StoreError::Unavailable(format!(
                    "cannot write {}: {e}",
                    self.versions.path().display()
                ))
            })?;
        // Checked again once the new text is on disk, just before it
        // replaces the file: a hand edit saved meanwhile is not overwritten.
        let unchanged = || self.read_text().is_ok_and(|now| now == state.text);
        let written_over = write_atomically_unless_changed(&self.path, text.as_bytes(), unchanged)
            .map_err(|e| StoreError::Unavailable(format!("cannot write {}: {e}", self.source)))?;
        if !written_over {
            return Err(self.edited());
        }
        let state = &mut *state;
        state.version = version;
        match written {
            Written::Flag(splice) => {
                state.touched = splice.touched_bytes();
                state.regions.commit(&splice);
                state.text = splice.into_text();
                apply_changes(&mut state.set, changes);
            }
            Written::Whole(whole) => {
                state.touched = 3 * whole.text.len();
                state.regions = FlagRegions::of(&whole.text).unwrap_or_default();
                state.text = whole.text;
                state.set = whole.set;
            }
        }
        tracing::trace!(
            target: "flags::file",
            file = %self.path.display(),
            version,
            touched_bytes = state.touched,
            "flags file written"
        );
        Ok(())
    }

    /// A one-flag change written by rewriting that flag's tables only
    /// (checked by reading them back); `None` when it has to be the whole
    /// document: several changes, a segment, a flag written in an unusual
    /// place, or one the splice could not write (the whole document then
    /// gives the error).
    fn splice(&self, state: &State, changes: &[Change]) -> Option<Splice> {
        let [change] = changes else {
            return None;
        };
        let (name, new) = match change {
            Change::Upsert(f) => (f.name.as_str(), Some(f)),
            Change::Remove(name) => (name.as_str(), None),
            Change::UpsertSegment(_) | Change::RemoveSegment(_) => return None,
        };
        let old = state.set.feature(name);
        state
            .regions
            .splice(&state.text, name, old, new, &state.set.segments)?
            .ok()
    }

    /// The new text, the whole document edited in place and read back; if
    /// that does not read back as intended (a flag written in an unusual
    /// shape), the changed flags' tables are rewritten whole.
    fn render(&self, state: &State, changes: &[Change]) -> Result<Whole, StoreError> {
        let mut after = state.set.clone();
        apply_changes(&mut after, changes);
        let parsed = state
            .text
            .parse::<DocumentMut>()
            .map_err(|e| LoadError::new(self.source.as_str(), e.to_string()))?;
        let mut doc = parsed.clone();
        toml_format::edit_document(&mut doc, &state.set, &after, changes)?;
        if let Some(whole) = self.reads_as(&doc, &after) {
            return Ok(whole);
        }
        let mut doc = parsed;
        for change in changes {
            if let Change::Upsert(f) = change {
                if let Some(item) = doc.get_mut(&f.name) {
                    let table = crate::format::toml::write_feature_table(f, &after.segments)?;
                    toml_format::replace_table(item, table);
                }
            }
        }
        toml_format::edit_document(&mut doc, &state.set, &after, changes)?;
        self.reads_as(&doc, &after).ok_or_else(|| {
            StoreError::Invalid(LoadErrors::from(LoadError::new(
                self.source.as_str(),
                "the change cannot be written to the TOML file so that it reads back the same",
            )))
        })
    }

    fn reads_as(&self, doc: &DocumentMut, want: &FlagSet) -> Option<Whole> {
        let text = doc.to_string();
        let (set, _) = toml_format::parse_compiled(&text, &self.source).ok()?;
        same_flags(&set, want).then_some(Whole { text, set })
    }

    fn refresh(&self) -> Result<Option<Update>, StoreError> {
        let text = self.read()?;
        self.adopt(text, Startup::No)
            .map(|changed| changed.map(Update::Replace))
    }

    /// Takes `text` (just read) as what the file holds: a new text gets a
    /// new version, recorded before it is served. `None` when it is what
    /// the store already holds.
    fn adopt(&self, text: String, when: Startup) -> Result<Option<FlagSet>, StoreError> {
        let mut state = self.lock();
        if text == state.text {
            return Ok(None);
        }
        let (set, regions) = self.parse(&text, when)?;
        let version = state.version + 1;
        self.versions.record(version, &text);
        *state = State {
            text,
            regions,
            set: set.clone(),
            version,
            touched: 0,
        };
        Ok(Some(set))
    }
}

/// A write's new text: one flag's tables rewritten, or the whole document.
enum Written {
    Flag(Splice),
    Whole(Whole),
}

/// The whole document, rendered and read back.
struct Whole {
    text: String,
    set: FlagSet,
}

impl Written {
    fn text(&self) -> &str {
        match self {
            Written::Flag(s) => s.text(),
            Written::Whole(w) => &w.text,
        }
    }
}

/// Same flags and segments, in any order.
fn same_flags(a: &FlagSet, b: &FlagSet) -> bool {
    fn sorted(s: &FlagSet) -> (Vec<&Feature>, Vec<&crate::model::Segment>) {
        let mut f: Vec<&Feature> = s.features.iter().collect();
        f.sort_by(|x, y| x.name.cmp(&y.name));
        let mut g: Vec<_> = s.segments.iter().collect();
        g.sort_by_key(|x| x.id);
        (f, g)
    }
    sorted(a) == sorted(b)
}

impl Store for FileStore {
    fn describe(&self) -> String {
        format!("file {}", self.inner.source)
    }

    fn load(&self) -> BoxFuture<'_, Result<FlagSet, StoreError>> {
        let inner = self.inner.clone();
        Box::pin(async move {
            // Called when a handle starts serving the store: read as at startup.
            let text = inner.read()?;
            match inner.adopt(text, Startup::Yes)? {
                Some(set) => Ok(set),
                None => Ok(inner.lock().set.clone()),
            }
        })
    }

    fn apply<'a>(&'a self, write: StoreWrite<'a>) -> BoxFuture<'a, Result<(), StoreError>> {
        let inner = self.inner.clone();
        let changes = write.changes.to_vec();
        Box::pin(async move {
            // File I/O and fsync off the async workers; the write finishes
            // even if the caller stops waiting.
            tokio::task::spawn_blocking(move || inner.apply(&changes))
                .await
                .map_err(|e| StoreError::Unavailable(format!("write task failed: {e}")))?
        })
    }

    fn watch(&self, wake: Wake) -> Result<WatchGuard, StoreError> {
        super::watch::watch_file(&self.inner.path, wake)
    }

    fn refresh(&self) -> BoxFuture<'_, Result<Option<Update>, StoreError>> {
        let inner = self.inner.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || inner.refresh())
                .await
                .map_err(|e| StoreError::Unavailable(format!("read task failed: {e}")))?
        })
    }

    /// The version of the text last loaded, written or refreshed, kept
    /// across restarts in [`FileStore::version_path`].
    fn version(&self) -> Option<u64> {
        Some(self.inner.lock().version)
    }
}

#[cfg(test)]
mod tests;
