//! [`Writer`]: the only way to change flags. Validate against the live
//! snapshot, persist through the store, swap, audit.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use super::audit_entries::{self, record, Author};
use super::control::Control;
use super::error::CommitError;
use crate::edit::Commit;
use crate::engine::{Change, Mode};
use crate::store::{StoreError, StoreWrite};
use crate::Snapshot;

/// How many times a derived edit is made again after losing a race to
/// another instance sharing the store, before the caller is told (a
/// version mismatch).
const REBUILDS: usize = 5;

/// Changes flags on behalf of one actor: every [`commit`](Writer::commit) is
/// validated, persisted, swapped in and audited under the actor's name.
/// Get one from [`Flags::writer`](crate::Flags::writer); cloning is cheap.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use flags_middleware::{edit::Edit, Context, Flags};
///
/// let flags = Flags::from_toml_str("[new_checkout_flow]\nrollout = 5\n", "example").unwrap();
/// let ops = flags.writer("ops");
/// let done = ops.commit(Edit::rollout("new_checkout_flow", 25)).await.unwrap();
/// assert_eq!(done.version, 2);
/// assert_eq!(flags.snapshot().feature("new_checkout_flow").unwrap().rollout_percent(), Some(25));
///
/// ops.commit(Edit::kill("new_checkout_flow").message("error spike")).await.unwrap();
/// assert!(!flags.is_enabled("new_checkout_flow", &Context::new().user_id("u1")));
/// let entry = &flags.audit_log(0, 1).unwrap()[0];
/// assert_eq!((entry.actor.as_str(), entry.action.as_str()), ("ops", "kill"));
/// assert_eq!(entry.message.as_deref(), Some("error spike"));
/// # }
/// ```
#[derive(Clone)]
pub struct Writer {
    control: Arc<Control>,
    actor: Arc<str>,
}

impl fmt::Debug for Writer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writer")
            .field("actor", &self.actor)
            .field("store", &self.control.store.describe())
            .finish()
    }
}

/// A commit that is live and durable.
///
/// ```
/// use flags_middleware::{edit::Edit, Flags};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let flags = Flags::from_toml_str("[new_checkout_flow]\nrollout = 20\n", "flags.toml").unwrap();
/// let ops = flags.writer("ops");
/// let done = ops.commit(Edit::kill("new_checkout_flow")).await.unwrap();
/// assert!(done.changed);
/// assert_eq!(done.version, flags.version());
/// // Killed already: nothing to do, nothing audited.
/// assert!(!ops.commit(Edit::kill("new_checkout_flow")).await.unwrap().changed);
/// # }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Committed {
    /// The version serving it (the live version when nothing changed).
    pub version: u64,
    /// The snapshot serving it.
    pub snapshot: Arc<Snapshot>,
    /// Whether anything changed: `false` when the flag already was as the
    /// edit asks, or had changed from the definition the commit was
    /// [conditioned on](crate::edit::Commit::unless_changed_from) (nothing
    /// written, nothing audited).
    pub changed: bool,
}

impl Writer {
    pub(crate) fn new(control: Arc<Control>, actor: impl Into<String>) -> Writer {
        Writer {
            control,
            actor: Arc::from(actor.into()),
        }
    }

    /// Who the commits are audited under: an admin token's name, `guard`...
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use flags_middleware::{edit::Edit, Flags};
    ///
    /// let flags = Flags::from_toml_str("[legacy_api]\n", "flags.toml").unwrap();
    /// let writer = flags.writer("ops");
    /// assert_eq!(writer.actor(), "ops");
    /// writer.commit(Edit::kill("legacy_api")).await.unwrap();
    /// assert_eq!(flags.audit_log(0, 1).unwrap()[0].actor, writer.actor());
    /// # }
    /// ```
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// Makes an edit live and durable: applies it
    /// ([`Edit::apply`](crate::edit::Edit::apply)) to the flag's live
    /// definition, compiles the result (all or nothing), writes it to the
    /// store, swaps the new snapshot in, and appends it to the audit log
    /// under [`Edit::action`](crate::edit::Edit::action), in that order.
    ///
    /// Commits are serialized, and each edit is applied to the definition
    /// live when its turn comes, so concurrent edits to one flag (a kill
    /// while the guard takes a plan step) all land. With a store shared by
    /// several instances (PostgreSQL), an edit that loses a race to another
    /// instance is applied again to the newer definition (up to 5 times),
    /// unless it gives an [expected version](crate::edit::Commit::if_version)
    /// or carries a whole definition (create, replace, delete: applied
    /// again, it would undo the other instance's change); those fail with
    /// [`CommitError::VersionMismatch`].
    ///
    /// The work runs on its own tokio task (so the future must be polled in
    /// a tokio runtime): a caller that gives up (a dropped HTTP request)
    /// cannot leave the store and the live flags apart. The future does not
    /// borrow the writer, so `flags.writer("ops").commit(edit)` can be
    /// handed on as it is.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use flags_middleware::{change::CommitError, edit::Edit, Flags};
    ///
    /// let flags = Flags::from_toml_str("[legacy_api]\n", "example").unwrap();
    /// let ops = flags.writer("ops");
    /// let stale = ops.commit(Edit::kill("legacy_api").if_version(7)).await.unwrap_err();
    /// assert_eq!(stale, CommitError::VersionMismatch { expected: 7, current: 1 });
    ///
    /// let again = ops.commit(Edit::enable("legacy_api")).await.unwrap();
    /// assert!(!again.changed); // already on: nothing written
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`CommitError`]; nothing changed.
    pub fn commit(
        &self,
        commit: impl Into<Commit>,
    ) -> impl Future<Output = Result<Committed, CommitError>> + Send + 'static {
        let commit = commit.into();
        let control = self.control.clone();
        let actor = self.actor.clone();
        async move {
            let task = tokio::spawn(async move { control.commit(&actor, &commit).await });
            match task.await {
                Ok(result) => result,
                Err(e) => Err(CommitError::Store(StoreError::Unavailable(format!(
                    "commit task failed: {e}"
                )))),
            }
        }
    }
}

impl Control {
    /// [`Writer::commit`], on the commit task.
    async fn commit(
        self: &Arc<Self>,
        actor: &str,
        commit: &Commit,
    ) -> Result<Committed, CommitError> {
        let _serial = self.lock.lock().await;
        let mut rebuilds = if commit.expected_version.is_none() && commit.edit.is_derived() {
            REBUILDS
        } else {
            0
        };
        loop {
            match self.commit_once(actor, commit).await {
                Err(CommitError::VersionMismatch { .. }) if rebuilds > 0 => rebuilds -= 1,
                done => return done,
            }
        }
    }

    /// One attempt at a commit, with the commit lock held.
    async fn commit_once(
        self: &Arc<Self>,
        actor: &str,
        commit: &Commit,
    ) -> Result<Committed, CommitError> {
        let edit = &commit.edit;
        let action = edit.action();
        if let Some(refused) = self.store.refuses(actor, &action) {
            return Err(CommitError::Store(refused));
        }
        let cur = self.live.load();
        if let Some(expected) = commit.expected_version {
            if expected != cur.version() {
                return Err(CommitError::VersionMismatch {
                    expected,
                    current: cur.version(),
                });
            }
        }
        let current = cur.feature(edit.flag());
        if let Some(judged) = &commit.unless_changed_from {
            // Decided on a definition that is no longer there (after a lost
            // race, the newer one another instance wrote): nothing to do.
            if current.as_ref() != Some(&**judged) {
                return Ok(Committed {
                    version: cur.version(),
                    snapshot: cur,
                    changed: false,
                });
            }
        }
        let Some(change) = edit.apply(current.as_ref())? else {
            return Ok(Committed {
                version: cur.version(),
                snapshot: cur,
                changed: false,
            });
        };
        let changes = [change];
        let source = format!("{actor} ({action})");
        let next = cur
            .apply(&changes, Mode::Strict, &source)
            .map_err(CommitError::Invalid)?;
        let written = self
            .store
            .apply(StoreWrite {
                changes: &changes,
                base_version: cur.version(),
                actor,
                action: &action,
                message: commit.message.as_deref(),
            })
            .await;
        match written {
            Ok(()) => {}
            Err(StoreError::Conflict(m)) => return Err(self.catch_up(cur.version(), m).await),
            Err(e) => return Err(CommitError::Store(e)),
        }
        let version = self.install(&cur, next, &changes, &source);
        let snapshot = self.live.load();
        let by = Author {
            actor,
            action: &action,
            message: commit.message.as_deref(),
        };
        record(
            self,
            audit_entries::for_changes(&cur, &snapshot, &changes, by),
        )
        .await;
        Ok(Committed {
            version,
            snapshot,
            changed: true,
        })
    }

    /// Swaps `next` in; if the flags were swapped around the store meanwhile
    /// (a test's [`swap_unpersisted`](crate::testing::swap_unpersisted)),
    /// applies the changes to what is live instead.
    fn install(&self, base: &Snapshot, next: Snapshot, changes: &[Change], source: &str) -> u64 {
        let mut next = Some(next);
        let swapped = self
            .live
            .swap_in(self.store.version(), |now| match next.take() {
                Some(n) if now.version() == base.version() => Ok(n),
                _ => now.apply(changes, Mode::Lenient, source),
            });
        swapped.unwrap_or_else(|_| self.live.peek().version())
    }

    /// The store refused a write because its durable state moved (another
    /// instance wrote first): load what it holds now, under the commit lock,
    /// so the caller can retry on it. A version mismatch if the flags moved
    /// on; else the store's conflict as it is (say, a broken hand edit).
    async fn catch_up(self: &Arc<Self>, base: u64, conflict: String) -> CommitError {
        self.reload_locked().await;
        let current = self.live.peek().version();
        if current == base {
            CommitError::Store(StoreError::Conflict(conflict))
        } else {
            CommitError::VersionMismatch {
                expected: base,
                current,
            }
        }
    }
}
