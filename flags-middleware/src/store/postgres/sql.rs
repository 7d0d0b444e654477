//! The statements: read the whole set, write a change (version check, rows,
//! audit, `NOTIFY`) in one transaction, page the audit log.
//!
//! Statements are sent with their parameter types (`*_typed`), so each is
//! one round trip with no prepared statement to keep per connection.

use serde::{Deserialize, Serialize};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Transaction};

use super::PostgresConfig;
use crate::audit::AuditEntry;
use crate::engine::Change;
use crate::error::{LoadError, LoadErrors};
use crate::model::{Feature, FlagSet, Segment};
use crate::store::{StoreError, StoreWrite};

/// The channel every change is announced on.
pub(super) const CHANNEL: &str = "flags_changed";

/// What a `NOTIFY` says: which namespace moved to which version, and who
/// moved it.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Notice {
    pub(super) namespace: String,
    pub(super) version: u64,
    pub(super) instance: String,
}

/// A database error as a store error, with the server's message when there
/// is one (the driver's own text for those is just "db error").
pub(super) fn db_error(e: tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => StoreError::Unavailable(format!(
            "database error {}: {}",
            db.code().code(),
            db.message()
        )),
        None => StoreError::Unavailable(format!("database: {e}")),
    }
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// The namespace's version and, when it differs from `known`, its flags.
/// One statement, so the version and the rows come from one snapshot of
/// the database.
pub(super) async fn load(
    client: &Client,
    config: &PostgresConfig,
    known: Option<u64>,
) -> Result<(u64, Option<FlagSet>), StoreError> {
    let known = known.map_or(-1, to_i64);
    let row = client
        .query_typed_opt(
            "SELECT n.version,
                    CASE WHEN n.version = $2 THEN NULL ELSE
                      COALESCE((SELECT json_agg(d.definition ORDER BY d.position, d.name)
                                FROM flag_definitions d WHERE d.namespace = n.name), '[]'::json)
                    END,
                    CASE WHEN n.version = $2 THEN NULL ELSE
                      COALESCE((SELECT json_agg(s.definition ORDER BY s.id)
                                FROM flag_segments s WHERE s.namespace = n.name), '[]'::json)
                    END
             FROM flag_namespaces n WHERE n.name = $1",
            &[(&config.namespace, Type::TEXT), (&known, Type::INT8)],
        )
        .await
        .map_err(db_error)?
        .ok_or_else(|| {
            StoreError::Unavailable(format!(
                "the namespace `{}` is not in the database (was it deleted?)",
                config.namespace
            ))
        })?;
    let version = to_u64(row.get(0));
    let features: Option<serde_json::Value> = row.get(1);
    let segments: Option<serde_json::Value> = row.get(2);
    let (Some(features), Some(segments)) = (features, segments) else {
        return Ok((version, None));
    };
    Ok((version, Some(decode(config, features, segments)?)))
}

/// Rows back into a set; a row that does not read is an error naming the
/// flag (nothing changes).
fn decode(
    config: &PostgresConfig,
    features: serde_json::Value,
    segments: serde_json::Value,
) -> Result<FlagSet, StoreError> {
    let source = format!("postgres {}", config.target());
    let mut errors = Vec::new();
    let mut set = FlagSet::default();
    for value in as_array(features) {
        let name = value
            .get("name")
            .and_then(|n| n.as_str())
            .unwrap_or("?")
            .to_owned();
        match serde_json::from_value::<Feature>(value) {
            Ok(f) => set.features.push(f),
            Err(e) => errors.push(
                LoadError::new(source.as_str(), format!("a stored flag does not read: {e}"))
                    .flag(name),
            ),
        }
    }
    for value in as_array(segments) {
        match serde_json::from_value::<Segment>(value) {
            Ok(s) => set.segments.push(s),
            Err(e) => errors.push(LoadError::new(
                source.as_str(),
                format!("a stored segment does not read: {e}"),
            )),
        }
    }
    if errors.is_empty() {
        Ok(set)
    } else {
        Err(StoreError::Invalid(LoadErrors::from(errors)))
    }
}

fn as_array(v: serde_json::Value) -> Vec<serde_json::Value> {
    match v {
        serde_json::Value::Array(items) => items,
        _ => Vec::new(),
    }
}

/// Writes `write` as version `expected + 1`, or refuses with
/// [`StoreError::Conflict`] when the namespace is no longer at `expected`.
/// `before` is the set at `expected` (what this instance synced), for the
/// audit entries. Returns the new version.
pub(super) async fn apply(
    client: &mut Client,
    config: &PostgresConfig,
    expected: u64,
    before: &FlagSet,
    write: &StoreWrite<'_>,
) -> Result<u64, StoreError> {
    let tx = client.transaction().await.map_err(db_error)?;
    // The server gives up too, a little after the store does: a write that
    // waits on a row lock (someone's open `BEGIN`) must not stay queued,
    // holding a connection slot, once the store stopped waiting. `LOCAL`:
    // this transaction only, which works through a pooler too.
    let ms = config.server_timeout_ms();
    tx.batch_execute(&format!(
        "SET LOCAL statement_timeout = {ms}; SET LOCAL lock_timeout = {ms}"
    ))
    .await
    .map_err(db_error)?;
    // The row lock taken here serializes writers; a writer that waited
    // re-reads the row and finds the version moved.
    let bumped = tx
        .query_typed_opt(
            "UPDATE flag_namespaces SET version = version + 1, updated_at = now(), updated_by = $3
             WHERE name = $1 AND version = $2 RETURNING version",
            &[
                (&config.namespace, Type::TEXT),
                (&to_i64(expected), Type::INT8),
                (&config.instance, Type::TEXT),
            ],
        )
        .await
        .map_err(db_error)?;
    let Some(row) = bumped else {
        let now = tx
            .query_typed_opt(
                "SELECT version FROM flag_namespaces WHERE name = $1",
                &[(&config.namespace, Type::TEXT)],
            )
            .await
            .map_err(db_error)?
            .map(|r| to_u64(r.get(0)));
        return Err(StoreError::Conflict(match now {
            Some(v) => format!(
                "the flags in the database are at version {v}, not {expected}: \
                 another instance changed them first"
            ),
            None => format!(
                "the namespace `{}` is gone from the database",
                config.namespace
            ),
        }));
    };
    let version = to_u64(row.get(0));
    let ns = &config.namespace;
    let audit = Audit::new(config, write.actor, write.action, write.message);
    for change in write.changes {
        match change {
            Change::Upsert(f) => {
                let after = to_json(f)?;
                upsert_feature(&tx, ns, &f.name, &after, version, -1).await?;
                let old = before.feature(&f.name).map(to_json).transpose()?;
                insert_audit(&tx, &audit, &f.name, version, old.as_ref(), Some(&after)).await?;
            }
            Change::Remove(name) => {
                tx.execute_typed(
                    "DELETE FROM flag_definitions WHERE namespace = $1 AND name = $2",
                    &[(ns, Type::TEXT), (name, Type::TEXT)],
                )
                .await
                .map_err(db_error)?;
                let old = before.feature(name).map(to_json).transpose()?;
                insert_audit(&tx, &audit, name, version, old.as_ref(), None).await?;
            }
            Change::UpsertSegment(s) => {
                let after = to_json(s)?;
                upsert_segment(&tx, ns, s.id, &after, version).await?;
                let old = segment(before, s.id).map(to_json).transpose()?;
                let flag = format!("segment:{}", s.id);
                insert_audit(&tx, &audit, &flag, version, old.as_ref(), Some(&after)).await?;
            }
            Change::RemoveSegment(id) => {
                tx.execute_typed(
                    "DELETE FROM flag_segments WHERE namespace = $1 AND id = $2",
                    &[(ns, Type::TEXT), (&to_i32(*id), Type::INT4)],
                )
                .await
                .map_err(db_error)?;
                let old = segment(before, *id).map(to_json).transpose()?;
                let flag = format!("segment:{id}");
                insert_audit(&tx, &audit, &flag, version, old.as_ref(), None).await?;
            }
        }
    }
    // Delivered to listeners only if, and when, the transaction commits.
    let notice = serde_json::to_string(&Notice {
        namespace: ns.clone(),
        version,
        instance: config.instance.clone(),
    })
    .map_err(json_error)?;
    tx.execute_typed(
        "SELECT pg_notify($1, $2)",
        &[(&CHANNEL, Type::TEXT), (&notice, Type::TEXT)],
    )
    .await
    .map_err(db_error)?;
    tx.commit().await.map_err(db_error)?;
    Ok(version)
}

fn segment(set: &FlagSet, id: u32) -> Option<&Segment> {
    set.segments.iter().find(|s| s.id == id)
}

fn to_i32(id: u32) -> i32 {
    // Segment ids are Unleash's, far below 2^31; a larger one is stored
    // wrapped, consistently, rather than refused.
    id as i32
}

fn to_json(v: &impl Serialize) -> Result<serde_json::Value, StoreError> {
    serde_json::to_value(v).map_err(json_error)
}

fn json_error(e: serde_json::Error) -> StoreError {
    StoreError::Unavailable(format!("cannot encode a flag as JSON: {e}"))
}

/// Creates or replaces a flag's row; a new flag goes after the others
/// (`position` < 0) or at `position`.
pub(super) async fn upsert_feature(
    tx: &Transaction<'_>,
    namespace: &str,
    name: &str,
    definition: &serde_json::Value,
    version: u64,
    position: i64,
) -> Result<(), StoreError> {
    tx.execute_typed(
        "INSERT INTO flag_definitions (namespace, name, position, definition, version)
         VALUES ($1, $2,
                 CASE WHEN $5 >= 0 THEN $5 ELSE
                   COALESCE((SELECT max(position) + 1 FROM flag_definitions WHERE namespace = $1), 0)
                 END,
                 $3, $4)
         ON CONFLICT (namespace, name) DO UPDATE
           SET definition = EXCLUDED.definition, version = EXCLUDED.version, updated_at = now()",
        &[
            (&namespace, Type::TEXT),
            (&name, Type::TEXT),
            (definition, Type::JSONB),
            (&to_i64(version), Type::INT8),
            (&position, Type::INT8),
        ],
    )
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Creates or replaces a segment's row.
pub(super) async fn upsert_segment(
    tx: &Transaction<'_>,
    namespace: &str,
    id: u32,
    definition: &serde_json::Value,
    version: u64,
) -> Result<(), StoreError> {
    tx.execute_typed(
        "INSERT INTO flag_segments (namespace, id, definition, version) VALUES ($1, $2, $3, $4)
         ON CONFLICT (namespace, id) DO UPDATE
           SET definition = EXCLUDED.definition, version = EXCLUDED.version, updated_at = now()",
        &[
            (&namespace, Type::TEXT),
            (&to_i32(id), Type::INT4),
            (definition, Type::JSONB),
            (&to_i64(version), Type::INT8),
        ],
    )
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Who wrote, what and why: the part of an audit entry shared by every
/// flag one write changes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Audit<'a> {
    config: &'a PostgresConfig,
    actor: &'a str,
    action: &'a str,
    message: Option<&'a str>,
}

impl<'a> Audit<'a> {
    pub(super) fn new(
        config: &'a PostgresConfig,
        actor: &'a str,
        action: &'a str,
        message: Option<&'a str>,
    ) -> Self {
        Audit {
            config,
            actor,
            action,
            message,
        }
    }
}

/// Appends one audit entry, naming this instance.
pub(super) async fn insert_audit(
    tx: &Transaction<'_>,
    audit: &Audit<'_>,
    flag: &str,
    version: u64,
    before: Option<&serde_json::Value>,
    after: Option<&serde_json::Value>,
) -> Result<(), StoreError> {
    let params: [(&(dyn ToSql + Sync), Type); 9] = [
        (&audit.config.namespace, Type::TEXT),
        (&audit.config.instance, Type::TEXT),
        (&audit.actor, Type::TEXT),
        (&audit.action, Type::TEXT),
        (&flag, Type::TEXT),
        (&to_i64(version), Type::INT8),
        (&before, Type::JSONB),
        (&after, Type::JSONB),
        (&audit.message, Type::TEXT),
    ];
    tx.execute_typed(
        "INSERT INTO flag_audit (namespace, instance, actor, action, flag, version, before, after, message)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &params,
    )
    .await
    .map_err(db_error)?;
    Ok(())
}

/// The namespace's audit log, newest first: the entries about `flag` only,
/// or all of them.
pub(super) async fn audit_page_where(
    client: &Client,
    config: &PostgresConfig,
    flag: Option<&str>,
    offset: usize,
    limit: usize,
) -> Result<Vec<AuditEntry>, StoreError> {
    let offset = i64::try_from(offset).unwrap_or(i64::MAX);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = client
        .query_typed(
            "SELECT at, instance, actor, action, flag, version, before, after, message FROM flag_audit
             WHERE namespace = $1 AND ($4::text IS NULL OR flag = $4)
             ORDER BY id DESC OFFSET $2 LIMIT $3",
            &[
                (&config.namespace, Type::TEXT),
                (&offset, Type::INT8),
                (&limit, Type::INT8),
                (&flag, Type::TEXT),
            ],
        )
        .await
        .map_err(db_error)?;
    rows.iter()
        .map(|r| {
            Ok(AuditEntry {
                at: timestamp(config, r, 0, "flag_audit.at")?,
                instance: Some(r.get(1)),
                actor: r.get(2),
                action: r.get(3),
                flag: r.get(4),
                version: to_u64(r.get(5)),
                before: r.get(6),
                after: r.get(7),
                message: r.get(8),
            })
        })
        .collect()
}

/// Column `i` of `row` as a time. `timestamptz` admits `infinity` and years
/// past what a `DateTime` holds: a row written so by hand is an error that
/// names the column, not a panic.
pub(super) fn timestamp(
    config: &PostgresConfig,
    row: &tokio_postgres::Row,
    i: usize,
    column: &str,
) -> Result<chrono::DateTime<chrono::Utc>, StoreError> {
    row.try_get(i).map_err(|e| {
        let source = format!("postgres {}", config.target());
        StoreError::from(LoadError::new(
            source.as_str(),
            format!("{column} does not read as a time (is it `infinity`?): {e}"),
        ))
    })
}
