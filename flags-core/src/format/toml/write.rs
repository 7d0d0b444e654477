//! [`FlagSet`] / [`Feature`] → TOML, in the friendliest form that reads back
//! exactly, and surgical edits of a user's document that keep their
//! comments and layout.

use std::collections::{BTreeMap, HashSet};

use toml_edit::{Array, ArrayOfTables, DocumentMut, InlineTable, Item, Table, Value};

mod guard;

use super::names::{self, SEGMENTS};
use super::node::Node;
use super::read::Reader;
use crate::engine::Change;
use crate::error::{LoadError, LoadErrors};
use crate::model::{
    Constraint, Dependency, Feature, FlagSet, Override, Payload, Segment, Strategy, StrategyKind,
    VariantDef,
};

/// How friendly a rendering may be; tried from the friendliest down until
/// one reads back as the original.
#[derive(Debug, Clone, Copy)]
struct Style {
    /// `rollout`/`users`/`when` at the top of the flag instead of rules.
    shorthands: bool,
    /// `rollout = 20` / `users = [..]` inside a rule instead of
    /// `strategy` + `parameters`.
    rule_shorthands: bool,
    /// `when = { beta = true }` instead of an array of explicit constraints.
    when_table: bool,
    /// `variants = { blue = 50, green = 50 }` / `["a", "b"]` instead of tables.
    variant_shorthands: bool,
}

const STYLES: [Style; 4] = [
    Style {
        shorthands: true,
        rule_shorthands: true,
        when_table: true,
        variant_shorthands: true,
    },
    Style {
        shorthands: false,
        rule_shorthands: true,
        when_table: true,
        variant_shorthands: true,
    },
    Style {
        shorthands: false,
        rule_shorthands: false,
        when_table: true,
        variant_shorthands: true,
    },
    Style {
        shorthands: false,
        rule_shorthands: false,
        when_table: false,
        variant_shorthands: false,
    },
];

/// The table for `f`: the friendliest form that reads back as `f`.
///
/// # Errors
/// When `f` cannot be expressed in the format (a segment without a name,
/// a variant weight above 100%, a flag named `segments`...).
pub fn feature_table(f: &Feature, segments: &[Segment]) -> Result<Table, LoadErrors> {
    let problem =
        |msg: String| LoadErrors::from(LoadError::new("toml writer", msg).flag(f.name.as_str()));
    if f.name == SEGMENTS {
        return Err(problem(
            "a flag cannot be named `segments` in TOML (the name is reserved)".into(),
        ));
    }
    let names: BTreeMap<u32, &str> = segments
        .iter()
        .filter_map(|s| s.name.as_deref().map(|n| (s.id, n)))
        .collect();
    let mut last_errors = Vec::new();
    for style in STYLES {
        let table = build_feature(f, &names, style);
        let mut reader = Reader::new("toml writer", None).with_segments(segments);
        match reader.flag(&f.name, None, Node::Table(&table)) {
            Some(back) if back == *f => return Ok(table),
            _ => last_errors = reader.errors,
        }
    }
    let detail = last_errors
        .first()
        .map(|e| e.to_string())
        .unwrap_or_else(|| "it does not read back the same".into());
    Err(problem(format!("cannot be written as TOML: {detail}")))
}

/// The whole set as a TOML document.
///
/// # Errors
/// Every flag that cannot be expressed in the format.
pub(crate) fn document(set: &FlagSet) -> Result<DocumentMut, LoadErrors> {
    let mut doc = DocumentMut::new();
    let mut errors = Vec::new();
    if !set.segments.is_empty() {
        let mut segs = Table::new();
        segs.set_implicit(true);
        for (i, s) in set.segments.iter().enumerate() {
            let name = segment_name(s);
            segs.insert(&name, Item::Table(segment_table(s, i)));
        }
        doc.insert(SEGMENTS, Item::Table(segs));
    }
    for f in &set.features {
        match feature_table(f, &set.segments) {
            Ok(t) => {
                doc.insert(&f.name, Item::Table(t));
            }
            Err(e) => errors.extend(e.0),
        }
    }
    if errors.is_empty() {
        Ok(doc)
    } else {
        Err(LoadErrors(errors))
    }
}

fn segment_name(s: &Segment) -> String {
    s.name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("segment_{}", s.id))
}

/// A segment's table; `id` is written unless it is the one the reader
/// would assign from the position.
fn segment_table(s: &Segment, position: usize) -> Table {
    let mut t = Table::new();
    if !s.constraints.is_empty() {
        t.insert("when", Item::Value(when_value(&s.constraints, true)));
    }
    if usize::try_from(s.id).ok() != Some(position + 1) {
        t.insert("id", Item::Value(Value::from(i64::from(s.id))));
    }
    t
}

fn build_feature(f: &Feature, segs: &BTreeMap<u32, &str>, style: Style) -> Table {
    let mut t = Table::new();
    if let Some(d) = &f.description {
        t.insert("description", Item::Value(d.as_str().into()));
    }
    if !f.enabled {
        t.insert("enabled", Item::Value(false.into()));
    }
    let short = if style.shorthands {
        shorthands(f)
    } else {
        None
    };
    let mut rules = None;
    match short {
        Some(s) => {
            if let Some(main) = s.main {
                if main.kind() == StrategyKind::FlexibleRollout {
                    t.insert(
                        "rollout",
                        Item::Value(rollout_value(&main.parameters, &f.name)),
                    );
                }
            }
            if let Some(ids) = s.users {
                t.insert("users", Item::Value(users_value(ids)));
            }
            if let Some(main) = s.main {
                if !main.constraints.is_empty() {
                    t.insert(
                        "when",
                        Item::Value(when_value(&main.constraints, style.when_table)),
                    );
                }
                if !main.segments.is_empty() {
                    t.insert("segments", Item::Value(segment_refs(&main.segments, segs)));
                }
            }
        }
        None => {
            let mut aot = ArrayOfTables::new();
            for s in &f.strategies {
                aot.push(rule_table(s, &f.name, segs, style));
            }
            rules = Some(aot);
        }
    }
    if !f.variants.is_empty() {
        let item = match variants_shorthand(&f.variants, style) {
            Some(v) => Item::Value(v),
            None => {
                let mut aot = ArrayOfTables::new();
                for v in &f.variants {
                    aot.push(variant_inline(v, style.variant_shorthands).into_table());
                }
                Item::ArrayOfTables(aot)
            }
        };
        t.insert("variants", item);
    }
    if !f.dependencies.is_empty() {
        t.insert("requires", Item::Value(requires_value(&f.dependencies)));
    }
    if let Some(k) = &f.kind {
        t.insert("type", Item::Value(k.as_str().into()));
    }
    if let Some(p) = &f.project {
        t.insert("project", Item::Value(p.as_str().into()));
    }
    if f.impression_data {
        t.insert("impression_data", Item::Value(true.into()));
    }
    if f.stale {
        t.insert("stale", Item::Value(true.into()));
    }
    if let Some(spec) = &f.guard {
        t.insert("guard", Item::Value(guard::guard_value(spec)));
    }
    if let Some(spec) = &f.plan {
        t.insert("plan", Item::Value(guard::plan_value(spec)));
    }
    if let Some(aot) = rules {
        if aot.is_empty() {
            // No strategies at all (Unleash: on for everyone) differs from
            // the implicit `default` strategy of an empty flag table.
            t.insert("rules", Item::Value(Value::Array(Array::new())));
        } else {
            t.insert("rules", Item::ArrayOfTables(aot));
        }
    }
    t
}

/// The strategies of a flag that the top-level shorthands can say.
struct Shorthands<'f> {
    users: Option<&'f str>,
    main: Option<&'f Strategy>,
}

fn shorthands(f: &Feature) -> Option<Shorthands<'_>> {
    let plain = |s: &Strategy| s.variants.is_empty() && s.disabled.is_none();
    let (users, rest) = match f.strategies.split_first() {
        Some((first, rest))
            if first.kind() == StrategyKind::UserWithId
                && plain(first)
                && first.constraints.is_empty()
                && first.segments.is_empty()
                && first.parameters.len() == 1 =>
        {
            (first.parameters.get("userIds").map(String::as_str), rest)
        }
        _ => (None, f.strategies.as_slice()),
    };
    match rest {
        [] if users.is_some() => Some(Shorthands { users, main: None }),
        [m] if plain(m)
            && matches!(
                m.kind(),
                StrategyKind::FlexibleRollout | StrategyKind::Default
            ) =>
        {
            let everyone = m.kind() == StrategyKind::Default
                && m.constraints.is_empty()
                && m.segments.is_empty();
            if everyone && users.is_some() {
                // "these users, or everyone": only rules can say it.
                return None;
            }
            let main = if everyone && m.parameters.is_empty() {
                None
            } else {
                Some(m)
            };
            Some(Shorthands { users, main })
        }
        _ => None,
    }
}

fn rule_table(s: &Strategy, flag: &str, segs: &BTreeMap<u32, &str>, style: Style) -> Table {
    let mut t = Table::new();
    let plain_params = |keys: &[&str]| s.parameters.keys().all(|k| keys.contains(&k.as_str()));
    match s.kind() {
        StrategyKind::FlexibleRollout
            if style.rule_shorthands && plain_params(&["rollout", "stickiness", "groupId"]) =>
        {
            t.insert("rollout", Item::Value(rollout_value(&s.parameters, flag)));
        }
        StrategyKind::UserWithId if style.rule_shorthands && plain_params(&["userIds"]) => {
            t.insert(
                "users",
                Item::Value(users_value(
                    s.parameters.get("userIds").map_or("", String::as_str),
                )),
            );
        }
        StrategyKind::Default if style.rule_shorthands && s.parameters.is_empty() => {}
        _ => {
            t.insert("strategy", Item::Value(s.name.as_str().into()));
            if !s.parameters.is_empty() {
                let mut p = InlineTable::new();
                for (k, v) in &s.parameters {
                    p.insert(k, v.as_str().into());
                }
                t.insert("parameters", Item::Value(Value::InlineTable(p)));
            }
        }
    }
    if !s.constraints.is_empty() {
        t.insert(
            "when",
            Item::Value(when_value(&s.constraints, style.when_table)),
        );
    }
    if !s.segments.is_empty() {
        t.insert("segments", Item::Value(segment_refs(&s.segments, segs)));
    }
    if !s.variants.is_empty() {
        let v = variants_shorthand(&s.variants, style).unwrap_or_else(|| {
            Value::Array(
                s.variants
                    .iter()
                    .map(|v| Value::InlineTable(variant_inline(v, style.variant_shorthands)))
                    .collect(),
            )
        });
        t.insert("variants", Item::Value(v));
    }
    if let Some(d) = s.disabled {
        t.insert("disabled", Item::Value(d.into()));
    }
    t
}

/// `20`, or `{ percent = 20, stickiness = "sessionId", group = "checkout" }`.
fn rollout_value(params: &crate::model::Parameters, flag: &str) -> Value {
    let percent = params.get("rollout").map_or("", String::as_str);
    let pct = match percent.parse::<i64>() {
        Ok(p) => Value::from(p),
        // Not a number: written as it is, so the reader reports it.
        Err(_) => Value::from(percent),
    };
    let stickiness = params.get("stickiness").map(String::as_str);
    let group = params.get("groupId").map(String::as_str);
    if stickiness == Some("default") && group == Some(flag) {
        return pct;
    }
    let mut t = InlineTable::new();
    t.insert("percent", pct);
    if let Some(s) = stickiness.filter(|s| *s != "default") {
        t.insert("stickiness", s.into());
    }
    if let Some(g) = group.filter(|g| *g != flag) {
        t.insert("group", g.into());
    }
    Value::InlineTable(t)
}

fn users_value(ids: &str) -> Value {
    Value::Array(
        ids.split(',')
            .filter(|s| !s.is_empty())
            .map(Value::from)
            .collect(),
    )
}

/// A constraint operand: `true`/`false` as booleans, everything else a string.
fn operand(v: &str) -> Value {
    match v {
        "true" => Value::from(true),
        "false" => Value::from(false),
        other => Value::from(other),
    }
}

fn when_value(constraints: &[Constraint], table_form: bool) -> Value {
    let distinct: HashSet<&str> = constraints
        .iter()
        .map(|c| c.context_name.as_str())
        .collect();
    if table_form && distinct.len() == constraints.len() {
        let mut t = InlineTable::new();
        for c in constraints {
            let simple_in =
                c.operator == "IN" && c.value.is_none() && !c.inverted && !c.case_insensitive;
            let v = if simple_in && c.values.len() == 1 {
                operand(&c.values[0])
            } else if simple_in {
                Value::Array(c.values.iter().map(|v| operand(v)).collect())
            } else {
                Value::InlineTable(constraint_inline(c, false))
            };
            t.insert(&c.context_name, v);
        }
        Value::InlineTable(t)
    } else {
        Value::Array(
            constraints
                .iter()
                .map(|c| Value::InlineTable(constraint_inline(c, true)))
                .collect(),
        )
    }
}

fn constraint_inline(c: &Constraint, with_field: bool) -> InlineTable {
    let mut t = InlineTable::new();
    if with_field {
        t.insert("field", c.context_name.as_str().into());
    }
    if c.operator != "IN" {
        t.insert("op", names::friendly_operator(&c.operator).into());
    }
    if let Some(v) = &c.value {
        t.insert("value", v.as_str().into());
    }
    if !c.values.is_empty() || c.value.is_none() {
        t.insert(
            "values",
            Value::Array(c.values.iter().map(|v| Value::from(v.as_str())).collect()),
        );
    }
    if c.case_insensitive {
        t.insert("case_insensitive", true.into());
    }
    if c.inverted {
        t.insert("not", true.into());
    }
    t
}

fn segment_refs(ids: &[u32], segs: &BTreeMap<u32, &str>) -> Value {
    Value::Array(
        ids.iter()
            .map(|id| match segs.get(id) {
                Some(name) => Value::from(*name),
                // Unknown id: written as a number so the reader rejects it.
                None => Value::from(i64::from(*id)),
            })
            .collect(),
    )
}

/// A weight in tenths as a percentage: `50`, or `33.3`.
fn weight_value(tenths: u32) -> Value {
    if tenths % 10 == 0 {
        Value::from(i64::from(tenths / 10))
    } else {
        Value::from(f64::from(tenths) / 10.0)
    }
}

fn variants_shorthand(vs: &[VariantDef], style: Style) -> Option<Value> {
    if !style.variant_shorthands {
        return None;
    }
    let bare = vs
        .iter()
        .all(|v| v.stickiness.is_none() && v.payload.is_none() && v.overrides.is_empty());
    let distinct = vs
        .iter()
        .map(|v| v.name.as_str())
        .collect::<HashSet<_>>()
        .len()
        == vs.len();
    if !bare || !distinct {
        return None;
    }
    if vs.iter().all(|v| v.weight_type.is_none())
        && vs.iter().map(|v| v.weight).sum::<u32>() == 1000
    {
        let mut t = InlineTable::new();
        for v in vs {
            t.insert(&v.name, weight_value(v.weight));
        }
        return Some(Value::InlineTable(t));
    }
    if vs
        .iter()
        .all(|v| v.weight_type.as_deref() == Some("variable"))
    {
        return Some(Value::Array(
            vs.iter().map(|v| Value::from(v.name.as_str())).collect(),
        ));
    }
    None
}

/// One explicit variant. `compact` leaves out the weight of a `variable`
/// arm (the reader shares out what the fixed arms leave, as Unleash does).
fn variant_inline(v: &VariantDef, compact: bool) -> InlineTable {
    let mut t = InlineTable::new();
    t.insert("name", v.name.as_str().into());
    if !(compact && v.weight_type.as_deref() == Some("variable")) {
        t.insert("weight", weight_value(v.weight));
        if let Some(wt) = &v.weight_type {
            t.insert("weight_type", wt.as_str().into());
        }
    }
    if let Some(s) = &v.stickiness {
        t.insert("stickiness", s.as_str().into());
    }
    if let Some(p) = &v.payload {
        t.insert("payload", Value::InlineTable(payload_inline(p)));
    }
    if !v.overrides.is_empty() {
        t.insert("overrides", overrides_value(&v.overrides));
    }
    t
}

fn payload_inline(p: &Payload) -> InlineTable {
    let mut t = InlineTable::new();
    t.insert("type", p.kind.as_str().into());
    t.insert("value", p.value.as_str().into());
    t
}

fn overrides_value(os: &[Override]) -> Value {
    let distinct = os
        .iter()
        .map(|o| o.context_name.as_str())
        .collect::<HashSet<_>>()
        .len()
        == os.len();
    let list =
        |o: &Override| Value::Array(o.values.iter().map(|v| Value::from(v.as_str())).collect());
    if distinct {
        let mut t = InlineTable::new();
        for o in os {
            t.insert(&o.context_name, list(o));
        }
        Value::InlineTable(t)
    } else {
        Value::Array(
            os.iter()
                .map(|o| {
                    let mut t = InlineTable::new();
                    t.insert("field", o.context_name.as_str().into());
                    t.insert("values", list(o));
                    Value::InlineTable(t)
                })
                .collect(),
        )
    }
}

fn requires_value(deps: &[Dependency]) -> Value {
    let simple = |d: &Dependency| d.enabled.is_none() && d.variants.is_none();
    if let [d] = deps {
        if simple(d) {
            return Value::from(d.feature.as_str());
        }
    }
    Value::Array(
        deps.iter()
            .map(|d| {
                if simple(d) {
                    return Value::from(d.feature.as_str());
                }
                let mut t = InlineTable::new();
                t.insert("flag", d.feature.as_str().into());
                if let Some(e) = d.enabled {
                    t.insert("enabled", e.into());
                }
                if let Some(vs) = &d.variants {
                    t.insert(
                        "variants",
                        Value::Array(vs.iter().map(|v| Value::from(v.as_str())).collect()),
                    );
                }
                Value::InlineTable(t)
            })
            .collect(),
    )
}

/// Applies `changes` to a user's document, touching only what changed: a
/// changed key gets its new value (keeping the comment after it), a removed
/// key goes, everything else stays as the user wrote it. `before` is the set
/// the document holds now.
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
                let new = match feature_table(f, &after.segments) {
                    Ok(t) => t,
                    Err(e) => {
                        errors.extend(e.0);
                        continue;
                    }
                };
                let old = before
                    .feature(&f.name)
                    .and_then(|o| feature_table(o, &before.segments).ok());
                match (doc.get_mut(&f.name), old) {
                    (Some(Item::Table(user)), Some(old)) => merge_table(user, &old, &new),
                    (Some(item), _) => replace_table(item, new),
                    (None, _) => {
                        doc.insert(&f.name, Item::Table(new));
                    }
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
        Err(LoadErrors(errors))
    }
}

/// Replaces a flag's whole table, keeping the comments above its header.
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
            .is_some_and(|o| super::json::item_to_json(o) == super::json::item_to_json(item));
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
