//! The tables, created and migrated by the store itself, and the one-time
//! seed of a new namespace.
//!
//! Migrations are numbered and applied in order, each once, inside one
//! transaction that holds an advisory lock: instances starting together do
//! not race, and a failed migration leaves nothing half-done.

use std::path::Path;

use tokio_postgres::Client;

use super::sql::{db_error, insert_audit, upsert_feature, upsert_segment, Audit};
use super::PostgresConfig;
use crate::error::LoadError;
use crate::model::FlagSet;
use crate::store::StoreError;

/// The advisory lock key that serializes migrations and seeding ("flagsmig").
const LOCK: i64 = 0x666c_6167_736d_6967;

/// The migrations, in order. Never edit one that has shipped: add another.
const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        r"
CREATE TABLE flag_namespaces (
    name        text PRIMARY KEY,
    -- The flag-set version: bumped by every change, checked by every write
    -- (optimistic concurrency).
    version     bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text NOT NULL
);
CREATE TABLE flag_definitions (
    namespace   text NOT NULL REFERENCES flag_namespaces (name) ON DELETE CASCADE,
    name        text NOT NULL,
    -- Keeps the order flags were defined in.
    position    bigint NOT NULL,
    -- The flag in Unleash's client-API shape.
    definition  jsonb NOT NULL,
    -- The namespace version that last changed this flag.
    version     bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (namespace, name)
);
CREATE TABLE flag_segments (
    namespace   text NOT NULL REFERENCES flag_namespaces (name) ON DELETE CASCADE,
    id          integer NOT NULL,
    definition  jsonb NOT NULL,
    version     bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (namespace, id)
);
CREATE TABLE flag_audit (
    id          bigserial PRIMARY KEY,
    namespace   text NOT NULL,
    at          timestamptz NOT NULL DEFAULT now(),
    instance    text NOT NULL,
    actor       text NOT NULL,
    action      text NOT NULL,
    flag        text NOT NULL,
    version     bigint NOT NULL,
    before      jsonb,
    after       jsonb
);
CREATE INDEX flag_audit_by_namespace ON flag_audit (namespace, id DESC);
",
    ),
    // Why a change was made, when the actor said: the rollout guard's figures.
    (2, "ALTER TABLE flag_audit ADD COLUMN message text;"),
    // The rollout guard's counts, shared by the fleet: one row per
    // instance, guarded flag, definition (a fingerprint of what it serves,
    // and the flag's row version when the row was written), and bucket (ms
    // since the epoch by the database's clock), summed by every instance's
    // guard; rows past the windows are pruned.
    (
        3,
        r"
CREATE TABLE flag_guard_buckets (
    namespace     text NOT NULL,
    flag          text NOT NULL,
    definition    bigint NOT NULL,
    flag_version  bigint NOT NULL,
    start_ms      bigint NOT NULL,
    instance      text NOT NULL,
    new_requests  bigint NOT NULL,
    new_errors    bigint NOT NULL,
    new_latency   bigint[] NOT NULL,
    old_requests  bigint NOT NULL,
    old_errors    bigint NOT NULL,
    old_latency   bigint[] NOT NULL,
    PRIMARY KEY (namespace, flag, definition, flag_version, start_ms, instance)
);
CREATE INDEX flag_guard_buckets_by_age ON flag_guard_buckets (namespace, start_ms);
-- Latency histograms added bin by bin (an empty one is all zero).
CREATE FUNCTION flag_guard_add(a bigint[], b bigint[]) RETURNS bigint[]
LANGUAGE sql IMMUTABLE AS $$
  SELECT COALESCE(array_agg(COALESCE(x, 0) + COALESCE(y, 0) ORDER BY i), '{}')
  FROM unnest(a, b) WITH ORDINALITY AS t(x, y, i)
$$;
",
    ),
    // One flag's audit entries, newest first (the web page's flag view).
    (
        4,
        "CREATE INDEX flag_audit_by_flag ON flag_audit (namespace, flag, id DESC);",
    ),
];

/// Brings the schema up to date and creates the namespace (seeded from the
/// seed file, if any) when it does not exist yet.
pub(super) async fn prepare(
    client: &mut Client,
    config: &PostgresConfig,
) -> Result<(), StoreError> {
    let tx = client.transaction().await.map_err(db_error)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])
        .await
        .map_err(db_error)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS flag_schema_migrations (
             version     integer PRIMARY KEY,
             applied_at  timestamptz NOT NULL DEFAULT now()
         )",
    )
    .await
    .map_err(db_error)?;
    let applied: i32 = tx
        .query_one(
            "SELECT COALESCE(max(version), 0) FROM flag_schema_migrations",
            &[],
        )
        .await
        .map_err(db_error)?
        .get(0);
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > applied) {
        tx.batch_execute(sql).await.map_err(|e| {
            StoreError::Unavailable(format!("schema migration {version} failed: {e}"))
        })?;
        tx.execute(
            "INSERT INTO flag_schema_migrations (version) VALUES ($1)",
            &[version],
        )
        .await
        .map_err(db_error)?;
        tracing::info!(target: "flags::postgres", version, "schema migrated");
    }
    // Outside the numbered migrations: additive and idempotent.
    super::last_seen::create(&tx).await?;

    // A namespace created again (its row was deleted) numbers on from the
    // highest version its audit log (which outlives the row) ever recorded:
    // a version must never name two flag sets, nor a client's `If-Match`
    // from before match the new ones.
    let created = tx
        .query_opt(
            "INSERT INTO flag_namespaces (name, version, updated_by)
             VALUES ($1, (SELECT COALESCE(max(version), 0) + 1 FROM flag_audit WHERE namespace = $1), $2)
             ON CONFLICT (name) DO NOTHING RETURNING version",
            &[&config.namespace, &config.instance],
        )
        .await
        .map_err(db_error)?
        .map(|row| u64::try_from(row.get::<_, i64>(0)).unwrap_or(1));
    if let Some(version) = created {
        if let Some(path) = &config.seed_file {
            let set = read_seed(path)?;
            for (position, f) in set.features.iter().enumerate() {
                let after = serde_json::to_value(f).map_err(json_error)?;
                upsert_feature(
                    &tx,
                    &config.namespace,
                    &f.name,
                    &after,
                    version,
                    position as i64,
                )
                .await?;
                let audit = Audit::new(config, "seed", "seed", None);
                insert_audit(&tx, &audit, &f.name, version, None, Some(&after)).await?;
            }
            for s in &set.segments {
                let after = serde_json::to_value(s).map_err(json_error)?;
                upsert_segment(&tx, &config.namespace, s.id, &after, version).await?;
            }
            tracing::info!(
                target: "flags::postgres",
                namespace = %config.namespace,
                seed = %path.display(),
                flags = set.features.len(),
                version,
                "namespace created from the seed file"
            );
        } else {
            tracing::info!(target: "flags::postgres", namespace = %config.namespace, version, "namespace created, empty");
        }
    }
    tx.commit().await.map_err(db_error)
}

/// The seed file, checked strictly: a bad seed must not reach the database.
fn read_seed(path: &Path) -> Result<FlagSet, StoreError> {
    let source = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        StoreError::from(LoadError::new(
            source.as_str(),
            format!("cannot read the seed file: {e}"),
        ))
    })?;
    let (set, _) = crate::format::toml::parse_compiled(&text, &source)?;
    Ok(set)
}

fn json_error(e: serde_json::Error) -> StoreError {
    StoreError::Unavailable(format!("cannot encode a flag as JSON: {e}"))
}
