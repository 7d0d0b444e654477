//! `flag_last_seen`: each instance's last evaluation of each flag, so the
//! inventory and the stale report see the whole fleet's traffic. Created
//! beside the numbered migrations (additive, `IF NOT EXISTS`, under the
//! same advisory lock); written at most once a minute per instance and flag
//! (the caller's throttle), with the later time winning.

use chrono::{DateTime, Utc};
use tokio_postgres::{Client, GenericClient};

use super::sql::db_error;
use super::PostgresConfig;
use crate::store::{LastSeen, StoreError};

pub(super) const CREATE: &str = "
CREATE TABLE IF NOT EXISTS flag_last_seen (
    namespace   text NOT NULL,
    instance    text NOT NULL,
    flag        text NOT NULL,
    last_seen   timestamptz NOT NULL,
    PRIMARY KEY (namespace, instance, flag)
)";

/// Creates the table if missing (inside `prepare`'s locked transaction).
pub(super) async fn create(client: &impl GenericClient) -> Result<(), StoreError> {
    client.batch_execute(CREATE).await.map_err(db_error)
}

/// Upserts this instance's times; a row only moves forward.
pub(super) async fn write(
    client: &Client,
    config: &PostgresConfig,
    seen: &[(String, DateTime<Utc>)],
) -> Result<(), StoreError> {
    let flags: Vec<&str> = seen.iter().map(|(flag, _)| flag.as_str()).collect();
    let times: Vec<DateTime<Utc>> = seen.iter().map(|(_, at)| *at).collect();
    client
        .execute(
            "INSERT INTO flag_last_seen (namespace, instance, flag, last_seen)
             SELECT $1, $2, f, t FROM unnest($3::text[], $4::timestamptz[]) AS u(f, t)
             ON CONFLICT (namespace, instance, flag)
             DO UPDATE SET last_seen = GREATEST(flag_last_seen.last_seen, EXCLUDED.last_seen)",
            &[&config.namespace, &config.instance, &flags, &times],
        )
        .await
        .map_err(db_error)?;
    Ok(())
}

/// The latest time per flag over every instance of the namespace.
pub(super) async fn read(client: &Client, config: &PostgresConfig) -> Result<LastSeen, StoreError> {
    let rows = client
        .query(
            "SELECT flag, max(last_seen) FROM flag_last_seen WHERE namespace = $1 GROUP BY flag",
            &[&config.namespace],
        )
        .await
        .map_err(db_error)?;
    rows.iter()
        .map(|row| {
            let at = super::sql::timestamp(config, row, 1, "flag_last_seen.last_seen")?;
            Ok((row.get::<_, String>(0), at))
        })
        .collect()
}
