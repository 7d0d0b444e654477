//! The one path every change takes: validate against the live snapshot,
//! persist through the [`Store`], swap the new snapshot in, audit.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Store, StoreError, StoreWrite, Update, WatchGuard};
use crate::audit::{AuditEntry, AuditLog};
use crate::engine::{Change, Mode, Snapshot};
use crate::error::{LoadError, LoadErrors};
use crate::flags::WeakFlags;
use crate::Flags;

/// A change to make through [`Flags::commit`]: what, by whom, and
/// (optionally) against which version.
///
/// ```
/// use flags_middleware::engine::Change;
/// use flags_middleware::store::Edit;
///
/// let edit = Edit::new("ops", "delete", vec![Change::Remove("old_flag".into())])
///     .expect_version(7);
/// assert_eq!(edit.expected_version, Some(7));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Edit {
    /// Who asks: an admin token's name, `guard`...
    pub actor: String,
    /// A short verb for the audit log: `kill`, `enable`, `rollout`...
    pub action: String,
    /// The changes, applied together or not at all.
    pub changes: Vec<Change>,
    /// When set, the change is refused unless the live version is this one
    /// (optimistic concurrency: the admin API's `If-Match`).
    pub expected_version: Option<u64>,
    /// Why, for the audit log ([`AuditEntry::message`]).
    pub message: Option<String>,
}

impl Edit {
    /// An edit by `actor` doing `action`.
    pub fn new(actor: impl Into<String>, action: impl Into<String>, changes: Vec<Change>) -> Self {
        Edit {
            actor: actor.into(),
            action: action.into(),
            changes,
            expected_version: None,
            message: None,
        }
    }

    /// Says why, for the audit log: the rollout guard puts the figures
    /// that triggered a kill here.
    #[must_use]
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// Refuses the edit unless the live version is `version`.
    #[must_use]
    pub fn expect_version(mut self, version: u64) -> Self {
        self.expected_version = Some(version);
        self
    }
}

/// An edit that is live and durable.
#[derive(Debug, Clone)]
pub struct Committed {
    /// The version the edit produced.
    pub version: u64,
    /// The snapshot serving it.
    pub snapshot: Arc<Snapshot>,
    /// Whether anything changed (see [`Flags::commit_with`]).
    pub changed: bool,
}

/// Computes an edit's changes from the live snapshot.
/// Called again on the newer snapshot when another instance committed first
/// (a shared store), unless the edit is a fixed list of changes.
type Build = Box<dyn FnMut(&Snapshot) -> Result<Vec<Change>, LoadErrors> + Send>;

/// How many times a derived edit is rebuilt after losing a race to
/// another instance before the caller is told (a version mismatch).
const REBUILDS: usize = 5;

/// Why [`Flags::commit`] refused an edit. Nothing changed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum CommitError {
    /// The edit expected another version (someone else changed the flags
    /// first). The admin API answers 412.
    VersionMismatch {
        /// The version the edit expected.
        expected: u64,
        /// The live version.
        current: u64,
    },
    /// The edit is invalid: every problem, by flag and field.
    Invalid(LoadErrors),
    /// The store refused it: its durable state moved (a hand edit not yet
    /// loaded), or it is unreachable.
    Store(StoreError),
}

impl std::fmt::Display for CommitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommitError::VersionMismatch { expected, current } => {
                write!(
                    f,
                    "expected version {expected}, but the flags are at version {current}"
                )
            }
            CommitError::Invalid(e) => write!(f, "{e}"),
            CommitError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for CommitError {}

/// Where the flags come from and how the last reload went (the admin API's
/// `GET /_status`).
#[derive(Debug, Clone, Serialize)]
pub struct SourceStatus {
    /// The store: `file /srv/flags.toml`, `memory`.
    pub source: String,
    /// How outside changes are noticed: `inotify`, `polling`, `none`.
    pub watching: &'static str,
    /// The live version.
    pub version: u64,
    /// When the store was last read successfully.
    pub last_reload: Option<DateTime<Utc>>,
    /// The last outside edit that was rejected, until a good one replaces it.
    pub last_error: Option<ReloadError>,
    /// The audit log file, if there is one.
    pub audit_log: Option<PathBuf>,
}

/// An outside edit that was rejected; the previous flags kept serving.
#[derive(Debug, Clone, Serialize)]
pub struct ReloadError {
    /// When it was seen.
    pub at: DateTime<Utc>,
    /// Every problem in it.
    pub errors: Vec<LoadError>,
}

/// Who commits, what, and why: an [`Edit`] without its changes.
#[derive(Debug)]
struct About {
    actor: String,
    action: String,
    message: Option<String>,
}

/// The store side of a [`Flags`] handle.
#[derive(Debug)]
pub(crate) struct Control {
    store: Arc<dyn Store>,
    /// Serializes commits and reloads, so each is validated against the
    /// snapshot it replaces and the store sees one write at a time.
    lock: tokio::sync::Mutex<()>,
    status: Mutex<Status>,
    audit: AuditLog,
    watch: Mutex<Option<WatchGuard>>,
}

#[derive(Debug, Default)]
struct Status {
    last_reload: Option<DateTime<Utc>>,
    last_error: Option<ReloadError>,
}

impl Control {
    pub(crate) fn new(store: Arc<dyn Store>, audit_path: Option<PathBuf>) -> Self {
        Control {
            store,
            lock: tokio::sync::Mutex::new(()),
            status: Mutex::new(Status {
                last_reload: Some(Utc::now()),
                last_error: None,
            }),
            audit: AuditLog::new(audit_path),
            watch: Mutex::new(None),
        }
    }

    pub(crate) fn audit(&self) -> &AuditLog {
        &self.audit
    }

    fn status_mut(&self) -> std::sync::MutexGuard<'_, Status> {
        self.status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Flags {
    /// A handle serving what `store` holds, watching it for outside changes;
    /// changes made through [`Flags::commit`] (and the admin API) are written
    /// to it. `audit_log` names a JSONL file for the audit log (in memory
    /// when `None`).
    ///
    /// # Errors
    /// When the store cannot be read or holds invalid flags.
    pub async fn with_store(
        store: Arc<dyn Store>,
        audit_log: Option<PathBuf>,
    ) -> Result<Flags, StoreError> {
        let set = store.load().await?;
        let snap = Snapshot::compile(&set, Mode::Strict, &store.describe())?
            .with_version(store.version().unwrap_or(1));
        let flags = Flags::from_snapshot(snap);
        flags.attach(Control::new(store, audit_log))?;
        Ok(flags)
    }

    /// Installs `control` and starts its watcher and reload thread.
    pub(crate) fn attach(&self, control: Control) -> Result<(), StoreError> {
        let control = self.set_control(control);
        let wake = Arc::new(tokio::sync::Notify::new());
        let notify = wake.clone();
        let guard = control.store.watch(Arc::new(move || notify.notify_one()))?;
        let watching = guard.mode() != "none";
        *control
            .watch
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(guard);
        if watching {
            spawn_reloader(self.downgrade(), wake)?;
        }
        Ok(())
    }

    /// Makes `edit` live and durable: validates it against the live snapshot
    /// (all or nothing), writes it to the store, swaps the new snapshot in,
    /// and appends it to the audit log, in that order. Edits are serialized.
    ///
    /// The work runs on its own task, so a caller that gives up (a dropped
    /// HTTP request) cannot leave the store and the live flags apart.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use flags_middleware::{Context, Flags, engine::Change};
    /// use flags_middleware::store::Edit;
    ///
    /// let flags = Flags::from_toml_str("[legacy_api]\n", "example").unwrap();
    /// let mut f = flags.snapshot().feature("legacy_api").unwrap();
    /// f.enabled = false;
    /// let done = flags.commit(Edit::new("ops", "kill", vec![Change::Upsert(f)])).await.unwrap();
    /// assert_eq!(done.version, 2);
    /// assert!(!flags.is_enabled("legacy_api", &Context::new()));
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`CommitError`]; nothing changed.
    pub async fn commit(&self, edit: Edit) -> Result<Committed, CommitError> {
        // Fixed changes are never rebuilt: re-applied on a newer snapshot
        // they could undo what the other writer did.
        let mut changes = Some(edit.changes);
        let about = About {
            actor: edit.actor,
            action: edit.action,
            message: edit.message,
        };
        self.run_commit(
            about,
            edit.expected_version,
            Box::new(move |_| Ok(changes.take().unwrap_or_default())),
            false,
        )
        .await
    }

    /// Like [`Flags::commit`], but the changes are computed by `build` from
    /// the live snapshot while edits are held off, so a change derived from
    /// the current definition ("kill this flag", "set its rollout to 25%")
    /// never overwrites a concurrent edit and never needs a retry. `build`
    /// returning no changes commits nothing (`Committed::changed` is false).
    /// With a store shared by several instances (PostgreSQL), an edit that
    /// loses a race to another instance is rebuilt on the newer snapshot,
    /// unless `expected_version` is set.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use flags_middleware::{Flags, engine::Change};
    ///
    /// let flags = Flags::from_toml_str("[legacy_api]\n", "example").unwrap();
    /// let done = flags
    ///     .commit_with("guard", "kill", None, |snap| {
    ///         let mut f = snap.feature("legacy_api").into_iter().collect::<Vec<_>>();
    ///         f.iter_mut().for_each(|f| f.enabled = false);
    ///         Ok(f.into_iter().map(Change::Upsert).collect())
    ///     })
    ///     .await
    ///     .unwrap();
    /// assert!(done.changed);
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`CommitError`]; what `build` returns becomes [`CommitError::Invalid`].
    pub async fn commit_with<F>(
        &self,
        actor: impl Into<String>,
        action: impl Into<String>,
        expected_version: Option<u64>,
        build: F,
    ) -> Result<Committed, CommitError>
    where
        F: FnMut(&Snapshot) -> Result<Vec<Change>, LoadErrors> + Send + 'static,
    {
        let edit = Edit::new(actor, action, Vec::new());
        self.commit_edit_with(edit, expected_version, build).await
    }

    /// [`Flags::commit_with`], with who, what and why (its
    /// [`message`](Edit::message), for the audit log) taken from `edit`;
    /// `edit.changes` is ignored (`build` computes them), and
    /// `expected_version` wins over `edit.expected_version`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use flags_middleware::{Flags, engine::Change};
    /// use flags_middleware::store::Edit;
    ///
    /// let flags = Flags::from_toml_str("[legacy_api]\n", "example").unwrap();
    /// let why = Edit::new("guard", "kill", vec![]).message("new arm 30% errors vs 0.5%");
    /// flags
    ///     .commit_edit_with(why, None, |snap| {
    ///         let mut f = snap.feature("legacy_api").unwrap();
    ///         f.enabled = false;
    ///         Ok(vec![Change::Upsert(f)])
    ///     })
    ///     .await
    ///     .unwrap();
    /// let entry = &flags.audit_log(0, 1).unwrap()[0];
    /// assert_eq!(entry.message.as_deref(), Some("new arm 30% errors vs 0.5%"));
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`Flags::commit_with`].
    pub async fn commit_edit_with<F>(
        &self,
        edit: Edit,
        expected_version: Option<u64>,
        build: F,
    ) -> Result<Committed, CommitError>
    where
        F: FnMut(&Snapshot) -> Result<Vec<Change>, LoadErrors> + Send + 'static,
    {
        let about = About {
            actor: edit.actor,
            action: edit.action,
            message: edit.message,
        };
        self.run_commit(about, expected_version, Box::new(build), true)
            .await
    }

    async fn run_commit(
        &self,
        about: About,
        expected: Option<u64>,
        build: Build,
        rebuild: bool,
    ) -> Result<Committed, CommitError> {
        let flags = self.clone();
        let task =
            tokio::spawn(async move { flags.commit_now(about, expected, build, rebuild).await });
        match task.await {
            Ok(result) => result,
            Err(e) => Err(CommitError::Store(StoreError::Unavailable(format!(
                "commit task failed: {e}"
            )))),
        }
    }

    async fn commit_now(
        &self,
        about: About,
        expected: Option<u64>,
        mut build: Build,
        rebuild: bool,
    ) -> Result<Committed, CommitError> {
        let control = self.control().clone();
        let _serial = control.lock.lock().await;
        let mut rebuilds = if rebuild && expected.is_none() {
            REBUILDS
        } else {
            0
        };
        loop {
            match self
                .commit_once(&control, &about, expected, &mut build)
                .await
            {
                Err(CommitError::VersionMismatch { .. }) if rebuilds > 0 => rebuilds -= 1,
                done => return done,
            }
        }
    }

    /// One attempt at a commit, with the commit lock held.
    async fn commit_once(
        &self,
        control: &Arc<Control>,
        about: &About,
        expected: Option<u64>,
        build: &mut Build,
    ) -> Result<Committed, CommitError> {
        let (actor, action) = (about.actor.as_str(), about.action.as_str());
        let cur = self.snapshot();
        if let Some(expected) = expected {
            if expected != cur.version() {
                return Err(CommitError::VersionMismatch {
                    expected,
                    current: cur.version(),
                });
            }
        }
        let changes = build(&cur).map_err(CommitError::Invalid)?;
        if changes.is_empty() {
            return Ok(Committed {
                version: cur.version(),
                snapshot: cur,
                changed: false,
            });
        }
        let source = format!("{actor} ({action})");
        let next = cur
            .apply(&changes, Mode::Strict, &source)
            .map_err(CommitError::Invalid)?;
        let written = control
            .store
            .apply(StoreWrite {
                changes: &changes,
                base_version: cur.version(),
                actor,
                action,
                message: about.message.as_deref(),
            })
            .await;
        match written {
            Ok(()) => {}
            Err(StoreError::Conflict(m)) => {
                return Err(self.catch_up(control, cur.version(), m).await)
            }
            Err(e) => return Err(CommitError::Store(e)),
        }
        let version = self.install(&cur, next, &changes, &source);
        let snapshot = self.snapshot();
        let mut entries = audit_entries(&cur, &snapshot, &changes, actor, action);
        for e in &mut entries {
            e.message.clone_from(&about.message);
        }
        record(control, entries).await;
        Ok(Committed {
            version,
            snapshot,
            changed: true,
        })
    }

    /// Swaps `next` in; if someone changed the flags around the store
    /// (`Flags::apply`), re-applies the changes to what is live instead.
    fn install(&self, base: &Snapshot, next: Snapshot, changes: &[Change], source: &str) -> u64 {
        let mut next = Some(next);
        let version = self.control().store.version();
        let swapped = self.swap_in_at(version, |now| match next.take() {
            Some(n) if now.version() == base.version() => Ok(n),
            _ => now.apply(changes, Mode::Lenient, source),
        });
        swapped.unwrap_or_else(|_| self.version())
    }

    /// The store refused a write because its durable state moved (another
    /// instance wrote first): load what it holds now, under the commit lock,
    /// so the caller can retry on it. A version mismatch if the flags moved
    /// on; else the store's conflict as it is (say, a broken hand edit).
    async fn catch_up(&self, control: &Arc<Control>, base: u64, conflict: String) -> CommitError {
        self.reload_locked(control).await;
        let current = self.version();
        if current == base {
            CommitError::Store(StoreError::Conflict(conflict))
        } else {
            CommitError::VersionMismatch {
                expected: base,
                current,
            }
        }
    }

    /// Asks the store what changed outside and makes it live, or records why not.
    pub(crate) async fn reload(&self) {
        let control = self.control().clone();
        let _serial = control.lock.lock().await;
        self.reload_locked(&control).await;
    }

    /// [`reload`](Self::reload), with the commit lock held.
    async fn reload_locked(&self, control: &Arc<Control>) {
        let source = control.store.describe();
        let update = match control.store.refresh().await {
            Ok(None) => {
                let mut status = control.status_mut();
                if status.last_error.take().is_some() {
                    tracing::info!(target: "flags::reload", %source, "flags file is valid again");
                }
                return;
            }
            Ok(Some(update)) => update,
            Err(e) => return reject(control, &source, e),
        };
        let cur = self.snapshot();
        let built = match &update {
            Update::Replace(set) => Snapshot::compile(set, Mode::Strict, &source),
            Update::Changes(changes) => cur.apply(changes, Mode::Strict, &source),
        };
        let next = match built {
            Ok(next) => next,
            Err(e) => return reject(control, &source, StoreError::Invalid(e)),
        };
        let version = match self.swap_in_at(control.store.version(), |_| Ok(next)) {
            Ok(v) => v,
            Err(e) => return reject(control, &source, StoreError::Invalid(e)),
        };
        {
            let mut status = control.status_mut();
            status.last_reload = Some(Utc::now());
            status.last_error = None;
        }
        tracing::info!(target: "flags::reload", %source, version, "flags reloaded");
        let snapshot = self.snapshot();
        let entries = match &update {
            Update::Replace(_) => diff_entries(&cur, &snapshot, "file edit"),
            Update::Changes(changes) => {
                audit_entries(&cur, &snapshot, changes, "outside change", "update")
            }
        };
        record(control, entries).await;
    }

    /// Where the flags come from, the live version, and the last reload error.
    pub fn status(&self) -> SourceStatus {
        let control = self.control();
        let watching = control
            .watch
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .map_or("none", WatchGuard::mode);
        let status = control.status_mut();
        SourceStatus {
            source: control.store.describe(),
            watching,
            version: self.version(),
            last_reload: status.last_reload,
            last_error: status.last_error.clone(),
            audit_log: control.audit.path().map(Into::into),
        }
    }

    /// The audit log, newest first: `limit` entries after skipping `offset`.
    ///
    /// # Errors
    /// When the audit file cannot be read.
    pub fn audit_log(&self, offset: usize, limit: usize) -> std::io::Result<Vec<AuditEntry>> {
        self.control().audit().page(offset, limit)
    }

    /// The audit log, newest first, from where it is kept: the store's own
    /// when it keeps one (a database every instance writes to, so the
    /// entries name the instance), else this handle's file or memory.
    ///
    /// # Errors
    /// When the log cannot be read.
    pub async fn audit_page(
        &self,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let control = self.control().clone();
        if let Some(page) = control.store.audit(offset, limit) {
            return page.await;
        }
        tokio::task::spawn_blocking(move || control.audit().page(offset, limit))
            .await
            .map_err(|e| StoreError::Unavailable(format!("audit task failed: {e}")))?
            .map_err(|e| StoreError::Unavailable(format!("cannot read the audit log: {e}")))
    }
}

fn reject(control: &Control, source: &str, error: StoreError) {
    let errors = match error {
        StoreError::Invalid(e) => e.0,
        other => vec![LoadError::new(source, other.to_string())],
    };
    let mut status = control.status_mut();
    // The same rejection again (a wake-up that found the bad save still
    // there): logged once, dated from when it was first seen.
    if status
        .last_error
        .as_ref()
        .is_some_and(|last| last.errors == errors)
    {
        return;
    }
    for e in &errors {
        tracing::error!(target: "flags::reload", error = %e, "flags change rejected; the last good flags keep serving");
    }
    status.last_error = Some(ReloadError {
        at: Utc::now(),
        errors,
    });
}

async fn record(control: &Arc<Control>, entries: Vec<AuditEntry>) {
    if entries.is_empty() {
        return;
    }
    let c = control.clone();
    let written = tokio::task::spawn_blocking(move || c.audit.append(&entries)).await;
    match written {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::error!(target: "flags::audit", error = %e, "cannot write the audit log")
        }
        Err(e) => tracing::error!(target: "flags::audit", error = %e, "cannot write the audit log"),
    }
}

fn feature_json(snap: &Snapshot, name: &str) -> Option<serde_json::Value> {
    snap.feature(name)
        .and_then(|f| serde_json::to_value(f).ok())
}

fn segment_json(snap: &Snapshot, id: u32) -> Option<serde_json::Value> {
    snap.segments()
        .find(|s| s.id == id)
        .and_then(|s| serde_json::to_value(s).ok())
}

fn entry(actor: &str, action: &str, flag: String, version: u64) -> AuditEntry {
    AuditEntry {
        at: Utc::now(),
        actor: actor.to_owned(),
        action: action.to_owned(),
        flag,
        version,
        before: None,
        after: None,
        instance: None,
        message: None,
    }
}

/// One entry per change.
fn audit_entries(
    before: &Snapshot,
    after: &Snapshot,
    changes: &[Change],
    actor: &str,
    action: &str,
) -> Vec<AuditEntry> {
    let v = after.version();
    changes
        .iter()
        .map(|c| match c {
            Change::Upsert(f) => AuditEntry {
                before: feature_json(before, &f.name),
                after: feature_json(after, &f.name),
                ..entry(actor, action, f.name.clone(), v)
            },
            Change::Remove(name) => AuditEntry {
                before: feature_json(before, name),
                ..entry(actor, action, name.clone(), v)
            },
            Change::UpsertSegment(s) => AuditEntry {
                before: segment_json(before, s.id),
                after: segment_json(after, s.id),
                ..entry(actor, action, format!("segment:{}", s.id), v)
            },
            Change::RemoveSegment(id) => AuditEntry {
                before: segment_json(before, *id),
                ..entry(actor, action, format!("segment:{id}"), v)
            },
        })
        .collect()
}

/// One entry per flag or segment that differs between two snapshots.
fn diff_entries(before: &Snapshot, after: &Snapshot, actor: &str) -> Vec<AuditEntry> {
    let v = after.version();
    let mut names: Vec<&str> = before.names().chain(after.names()).collect();
    names.sort_unstable();
    names.dedup();
    let mut out = Vec::new();
    for name in names {
        // Compared packed: decoding 100,000 flags twice per reload would not be.
        if !before.same_feature(after, name) {
            let action = match (before.lookup(name), after.lookup(name)) {
                (None, _) => "create",
                (_, None) => "delete",
                _ => "update",
            };
            out.push(AuditEntry {
                before: feature_json(before, name),
                after: feature_json(after, name),
                ..entry(actor, action, name.to_owned(), v)
            });
        }
    }
    let mut ids: Vec<u32> = before
        .segments()
        .chain(after.segments())
        .map(|s| s.id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        let (b, a) = (segment_json(before, id), segment_json(after, id));
        if b != a {
            out.push(AuditEntry {
                before: b,
                after: a,
                ..entry(actor, "update", format!("segment:{id}"), v)
            });
        }
    }
    out
}

/// Runs the reload loop on its own thread with a small runtime, so watching
/// works whether or not the caller is inside a tokio runtime. The thread ends
/// once every `Flags` handle is gone.
fn spawn_reloader(flags: WeakFlags, wake: Arc<tokio::sync::Notify>) -> Result<(), StoreError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| StoreError::Unavailable(format!("cannot start the reload thread: {e}")))?;
    std::thread::Builder::new()
        .name("flags-reload".into())
        .spawn(move || {
            rt.block_on(async move {
                loop {
                    let woke = tokio::time::timeout(Duration::from_secs(1), wake.notified()).await;
                    let Some(flags) = flags.upgrade() else { break };
                    if woke.is_ok() {
                        flags.reload().await;
                    }
                }
            });
        })
        .map_err(|e| StoreError::Unavailable(format!("cannot start the reload thread: {e}")))?;
    Ok(())
}
