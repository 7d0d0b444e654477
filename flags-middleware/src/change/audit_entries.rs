//! The audit entries a change makes: one per flag or segment it touched,
//! with the definition before and after.

use std::sync::Arc;

use chrono::Utc;

use super::control::Control;
use crate::audit::AuditEntry;
use crate::engine::Change;
use crate::Snapshot;

/// Who made a change, what it was, and why.
#[derive(Debug, Clone, Copy)]
pub(super) struct Author<'a> {
    pub(super) actor: &'a str,
    pub(super) action: &'a str,
    pub(super) message: Option<&'a str>,
}

/// Appends `entries` to the audit log, off the async threads; a failure is
/// logged (the change is already live and durable).
pub(super) async fn record(control: &Arc<Control>, entries: Vec<AuditEntry>) {
    if entries.is_empty() {
        return;
    }
    let c = control.clone();
    let written = tokio::task::spawn_blocking(move || c.audit.append(&entries)).await;
    let error = match written {
        Ok(Ok(())) => return,
        Ok(Err(e)) => e.to_string(),
        Err(e) => e.to_string(),
    };
    tracing::error!(target: "flags::audit", error = %error, "cannot write the audit log");
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

fn entry(by: Author<'_>, flag: String, version: u64) -> AuditEntry {
    AuditEntry {
        at: Utc::now(),
        actor: by.actor.to_owned(),
        action: by.action.to_owned(),
        flag,
        version,
        before: None,
        after: None,
        instance: None,
        message: by.message.map(str::to_owned),
    }
}

/// One entry per change.
pub(super) fn for_changes(
    before: &Snapshot,
    after: &Snapshot,
    changes: &[Change],
    by: Author<'_>,
) -> Vec<AuditEntry> {
    let v = after.version();
    changes
        .iter()
        .map(|c| match c {
            Change::Upsert(f) => AuditEntry {
                before: feature_json(before, &f.name),
                after: feature_json(after, &f.name),
                ..entry(by, f.name.clone(), v)
            },
            Change::Remove(name) => AuditEntry {
                before: feature_json(before, name),
                ..entry(by, name.clone(), v)
            },
            Change::UpsertSegment(s) => AuditEntry {
                before: segment_json(before, s.id),
                after: segment_json(after, s.id),
                ..entry(by, format!("segment:{}", s.id), v)
            },
            Change::RemoveSegment(id) => AuditEntry {
                before: segment_json(before, *id),
                ..entry(by, format!("segment:{id}"), v)
            },
        })
        .collect()
}

/// One entry per flag or segment that differs between two snapshots, by
/// `actor` (a whole set replaced: a file edit).
pub(super) fn for_diff(before: &Snapshot, after: &Snapshot, actor: &str) -> Vec<AuditEntry> {
    let v = after.version();
    let by = |action| Author {
        actor,
        action,
        message: None,
    };
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
                ..entry(by(action), name.to_owned(), v)
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
                ..entry(by("update"), format!("segment:{id}"), v)
            });
        }
    }
    out
}
