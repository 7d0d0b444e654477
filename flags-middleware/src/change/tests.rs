//! The writer's promises: nothing is served that the store did not take,
//! nothing is audited that did not change, and refusals change nothing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::CommitError;
use crate::edit::{Edit, EditError};
use crate::model::FlagSet;
use crate::store::{
    BoxFuture, MemoryStore, Store, StoreError, StoreWrite, Update, Wake, WatchGuard,
};
use crate::{Context, Flags};

const FLAGS: &str = "[legacy_api]\n\n[new_checkout_flow]\nrollout = 5\n";

fn set() -> FlagSet {
    crate::format::toml::parse(FLAGS, "test").unwrap()
}

/// A memory store that can be told to refuse writes.
#[derive(Debug)]
struct Refusing {
    inner: MemoryStore,
    down: AtomicBool,
}

impl Store for Refusing {
    fn describe(&self) -> String {
        "refusing".into()
    }

    fn load(&self) -> BoxFuture<'_, Result<FlagSet, StoreError>> {
        self.inner.load()
    }

    fn apply<'a>(&'a self, write: StoreWrite<'a>) -> BoxFuture<'a, Result<(), StoreError>> {
        if self.down.load(Ordering::SeqCst) {
            return Box::pin(async { Err(StoreError::Unavailable("down".into())) });
        }
        self.inner.apply(write)
    }

    fn watch(&self, wake: Wake) -> Result<WatchGuard, StoreError> {
        self.inner.watch(wake)
    }

    fn refresh(&self) -> BoxFuture<'_, Result<Option<Update>, StoreError>> {
        self.inner.refresh()
    }
}

#[tokio::test]
async fn nothing_is_served_that_the_store_refused() {
    let store = Arc::new(Refusing {
        inner: MemoryStore::new(set()),
        down: AtomicBool::new(true),
    });
    let flags = Flags::with_store(store.clone(), None).await.unwrap();
    let ops = flags.writer("ops");
    let e = ops.commit(Edit::kill("legacy_api")).await.unwrap_err();
    assert_eq!(
        e,
        CommitError::Store(StoreError::Unavailable("down".into()))
    );
    assert!(flags.is_enabled("legacy_api", &Context::new()));
    assert_eq!(flags.version(), 1);
    assert!(flags.audit_log(0, 10).unwrap().is_empty());

    store.down.store(false, Ordering::SeqCst);
    let done = ops.commit(Edit::kill("legacy_api")).await.unwrap();
    assert_eq!((done.version, done.changed), (2, true));
    assert!(!flags.is_enabled("legacy_api", &Context::new()));
    let stored = store.load().await.unwrap();
    assert!(!stored.feature("legacy_api").unwrap().enabled);
}

#[tokio::test]
async fn a_commit_that_changes_nothing_writes_and_audits_nothing() {
    let flags = Flags::from_toml_str(FLAGS, "test").unwrap();
    let ops = flags.writer("ops");
    let done = ops
        .commit(Edit::rollout("new_checkout_flow", 5))
        .await
        .unwrap();
    assert_eq!((done.version, done.changed), (1, false));
    assert!(flags.audit_log(0, 10).unwrap().is_empty());
}

#[tokio::test]
async fn refusals_name_the_flag_and_change_nothing() {
    let flags = Flags::from_toml_str(FLAGS, "test").unwrap();
    let ops = flags.writer("ops");
    let e = ops.commit(Edit::kill("nope")).await.unwrap_err();
    assert_eq!(
        e,
        CommitError::Edit(EditError::NoSuchFlag {
            flag: "nope".into()
        })
    );
    let e = ops
        .commit(Edit::rollout("new_checkout_flow", 150))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, CommitError::Edit(e) if e.field() == Some("rollout")),
        "{e}"
    );
    // A definition the engine refuses: it requires a flag that does not exist.
    let mut f = flags.snapshot().feature("legacy_api").unwrap();
    f.dependencies.push(crate::model::Dependency {
        feature: "no_such_parent".into(),
        ..Default::default()
    });
    let e = ops.commit(Edit::replace(f)).await.unwrap_err();
    assert!(matches!(e, CommitError::Invalid(_)), "{e}");
    let e = ops
        .commit(Edit::enable("legacy_api").if_version(9))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        CommitError::VersionMismatch {
            expected: 9,
            current: 1
        }
    );
    assert_eq!(flags.version(), 1);
    assert!(flags.audit_log(0, 10).unwrap().is_empty());
}

/// Each edit is applied to the definition live when its turn comes, so
/// edits to one flag from many writers at once all land.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_edits_to_one_flag_all_land() {
    let flags = Flags::from_toml_str(FLAGS, "test").unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let edit = if i == 7 {
                Edit::kill("new_checkout_flow")
            } else {
                Edit::users("new_checkout_flow", [format!("u{i}")])
            };
            tokio::spawn(flags.writer(format!("w{i}")).commit(edit))
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let f = flags.snapshot().feature("new_checkout_flow").unwrap();
    assert!(!f.enabled, "the kill landed");
    assert_eq!(f.rollout_percent(), Some(5), "no edit undid the rollout");
    assert_eq!(flags.audit_log(0, 100).unwrap().len(), 20);
}

/// A store that keeps an audit log of its own but cannot pick one flag's
/// entries out of it.
#[derive(Debug)]
struct OwnLog {
    inner: MemoryStore,
    /// Oldest first.
    log: Vec<crate::audit::AuditEntry>,
}

impl Store for OwnLog {
    fn describe(&self) -> String {
        "own log".into()
    }

    fn load(&self) -> BoxFuture<'_, Result<FlagSet, StoreError>> {
        self.inner.load()
    }

    fn apply<'a>(&'a self, write: StoreWrite<'a>) -> BoxFuture<'a, Result<(), StoreError>> {
        self.inner.apply(write)
    }

    fn watch(&self, wake: Wake) -> Result<WatchGuard, StoreError> {
        self.inner.watch(wake)
    }

    fn refresh(&self) -> BoxFuture<'_, Result<Option<Update>, StoreError>> {
        self.inner.refresh()
    }

    fn audit(
        &self,
        offset: usize,
        limit: usize,
    ) -> Option<BoxFuture<'_, Result<Vec<crate::audit::AuditEntry>, StoreError>>> {
        let page = self.log.iter().rev().skip(offset).take(limit).cloned();
        let page: Vec<_> = page.collect();
        Some(Box::pin(async move { Ok(page) }))
    }
}

#[tokio::test]
async fn one_flags_entries_are_found_across_a_stores_pages() {
    // 1,500 entries, one in a hundred about `x`: more than one page of the
    // store's log must be read.
    let log = (1..=1_500)
        .map(|version| crate::audit::AuditEntry {
            at: chrono::Utc::now(),
            actor: "ops".into(),
            action: "rollout".into(),
            flag: if version % 100 == 0 { "x" } else { "y" }.into(),
            version,
            before: None,
            after: None,
            instance: None,
            message: None,
        })
        .collect();
    let store = Arc::new(OwnLog {
        inner: MemoryStore::new(set()),
        log,
    });
    let flags = Flags::with_store(store, None).await.unwrap();
    let versions = |page: Vec<crate::audit::AuditEntry>| -> Vec<u64> {
        page.iter().map(|e| e.version).collect()
    };
    let page = flags.audit_page_of("x", 2, 4).await.unwrap();
    assert_eq!(versions(page), [1_300, 1_200, 1_100, 1_000]);
    let page = flags.audit_page_of("x", 12, 10).await.unwrap();
    assert_eq!(versions(page), [300, 200, 100]);
    assert!(flags.audit_page_of("z", 0, 10).await.unwrap().is_empty());
}
