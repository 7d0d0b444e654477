//! Surgical edits of a user's document: only what changed is rewritten, so
//! comments, key order and layout stay as the user wrote them.

use toml_edit::{DocumentMut, Item, Table, Value};

use super::json::item_to_json;
use super::segments::{segment_name, segment_table, SEGMENTS};
use super::writer::feature_table;
use crate::engine::Change;
use crate::error::{LoadError, LoadErrors};
use crate::model::{Feature, FlagSet, Segment};

/// Applies `changes` to a user's document, touching only what changed: a
/// changed key gets its new value (keeping the comment after it), a removed
/// key goes, everything else stays as the user wrote it. `before` is the set
/// the document holds now.
///
/// ```
/// use flags_core::engine::Change;
/// use flags_core::format::toml::{self, edit_document};
///
/// let text = "# Checkout, day one.\n[a]\nrollout = 5 # raise slowly\n";
/// let before = toml::parse(text, "flags.toml").unwrap();
/// let mut after = before.clone();
/// after.features[0].strategies[0].parameters.insert("rollout", "25");
/// let mut doc: toml_edit::DocumentMut = text.parse().unwrap();
/// let changes = [Change::Upsert(after.features[0].clone())];
/// edit_document(&mut doc, &before, &after, &changes).unwrap();
/// assert_eq!(doc.to_string(), "# Checkout, day one.\n[a]\nrollout = 25 # raise slowly\n");
/// ```
///
/// # Errors
/// When a changed flag cannot be expressed in the format.
pub fn edit_document(
    doc: &mut DocumentMut,
    before: &FlagSet,
    after: &FlagSet,
    changes: &[Change],
) -> Result<(), LoadErrors> {
    let mut errors = Vec::new();
    for change in changes {
        match change {
            Change::Upsert(f) => {
                let old = before.feature(&f.name).map(|o| (o, &before.segments[..]));
                if let Err(e) = upsert_flag(doc, old, f, &after.segments) {
                    errors.extend(e);
                }
            }
            Change::Remove(name) => {
                doc.remove(name);
            }
            Change::UpsertSegment(s) => {
                let name = segment_name(s);
                let mut table = segment_table(s, usize::MAX);
                table.insert("id", Item::Value(Value::from(i64::from(s.id))));
                let segs = doc.entry(SEGMENTS).or_insert_with(|| {
                    let mut t = Table::new();
                    t.set_implicit(true);
                    Item::Table(t)
                });
                match segs.as_table_like_mut() {
                    Some(segs) => {
                        // A renamed segment: drop the old name first.
                        if let Some(old) = before.segments.iter().find(|x| x.id == s.id) {
                            let old_name = segment_name(old);
                            if old_name != name {
                                segs.remove(&old_name);
                            }
                        }
                        segs.insert(&name, Item::Table(table));
                    }
                    None => errors.push(LoadError::new(
                        "toml writer",
                        "`segments` is not a table in the flags file",
                    )),
                }
            }
            Change::RemoveSegment(id) => {
                if let Some(old) = before.segments.iter().find(|s| s.id == *id) {
                    if let Some(segs) = doc.get_mut(SEGMENTS).and_then(Item::as_table_like_mut) {
                        segs.remove(&segment_name(old));
                    }
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(LoadErrors::from(errors))
    }
}

/// Writes `new` into `doc` (the whole file, or only the flag's own tables),
/// key by key over the user's table when there is one. `old` is the flag as
/// the document holds it now, with the segments it was written against.
///
/// # Errors
/// When `new` cannot be expressed in the format.
pub(super) fn upsert_flag(
    doc: &mut DocumentMut,
    old: Option<(&Feature, &[Segment])>,
    new: &Feature,
    segments: &[Segment],
) -> Result<(), LoadErrors> {
    let table = feature_table(new, segments)?;
    let old = old.and_then(|(o, segs)| feature_table(o, segs).ok());
    match (doc.get_mut(&new.name), old) {
        (Some(Item::Table(user)), Some(old)) => merge_table(user, &old, &table),
        (Some(item), _) => replace_table(item, table),
        (None, _) => {
            doc.insert(&new.name, Item::Table(table));
        }
    }
    Ok(())
}

/// Replaces a flag's whole table, keeping the comments above its header.
///
/// ```
/// use flags_core::format::toml::{self, replace_table, write_feature_table};
///
/// let mut doc: toml_edit::DocumentMut = "# Why a exists.\n[a]\nrollout = 5\n".parse().unwrap();
/// let set = toml::parse("[a]\nenabled = false\n", "flags.toml").unwrap();
/// let table = write_feature_table(&set.features[0], &[]).unwrap();
/// replace_table(doc.get_mut("a").unwrap(), table);
/// assert_eq!(doc.to_string(), "# Why a exists.\n[a]\nenabled = false\n");
/// ```
pub fn replace_table(item: &mut Item, mut new: Table) {
    if let Item::Table(old) = item {
        *new.decor_mut() = old.decor().clone();
        new.set_position(old.position());
    }
    *item = Item::Table(new);
}

/// Key-by-key merge of `new` into the user's table. `old` is how the writer
/// renders the flag as it was: a key whose rendering did not change is left
/// exactly as the user wrote it.
fn merge_table(user: &mut Table, old: &Table, new: &Table) {
    for (key, item) in new.iter() {
        let unchanged = old
            .get(key)
            .is_some_and(|o| item_to_json(o) == item_to_json(item));
        match user.get_mut(key) {
            Some(_) if unchanged => {}
            Some(existing) => match (existing.as_value_mut(), item.as_value()) {
                (Some(u), Some(v)) => {
                    let decor = u.decor().clone();
                    *u = v.clone();
                    *u.decor_mut() = decor;
                }
                _ => *existing = item.clone(),
            },
            None => {
                user.insert(key, item.clone());
            }
        }
    }
    let stale: Vec<String> = user
        .iter()
        .map(|(k, _)| k.to_owned())
        .filter(|k| !new.contains_key(k))
        .collect();
    for k in stale {
        // `enabled = false` flipped back on: a line the user commented stays,
        // as `true`; a bare one (say, from an earlier kill) goes.
        if k == "enabled" && has_comment(user, &k) {
            if let Some(u) = user.get_mut(&k).and_then(Item::as_value_mut) {
                let decor = u.decor().clone();
                *u = Value::from(true);
                *u.decor_mut() = decor;
                continue;
            }
        }
        user.remove(&k);
    }
}

/// Whether the user wrote a comment on or above `key`.
fn has_comment(table: &Table, key: &str) -> bool {
    let hash = |raw: Option<&toml_edit::RawString>| {
        raw.and_then(toml_edit::RawString::as_str)
            .is_some_and(|s| s.contains('#'))
    };
    let above = table
        .key(key)
        .is_some_and(|k| hash(k.leaf_decor().prefix()));
    let after = table
        .get(key)
        .and_then(Item::as_value)
        .is_some_and(|v| hash(v.decor().suffix()));
    above || after
}
