//! [`PostgresFleet`]: the shared counts in the flags database (table
//! `flag_guard_buckets`, created by the store's migrations), on a
//! connection of its own.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio_postgres::types::Type;
use tokio_postgres::Client;

use super::memory::has_traffic;
use super::{FleetBucket, FleetError, Share, SharedCounts};
use crate::guard::detect::{ArmCounts, FlagCounts};
use crate::metrics::LatencyHistogram;
use crate::store::{database_error, open_client, query_timeout, BoxFuture, PostgresConfig};

/// Prune rows past twice the longest window every this many exchanges.
const PRUNE_EVERY: u64 = 60;

/// After a failed connection, exchanges fail at once (the guard judges on
/// its own traffic without waiting) until this long has passed.
const RECONNECT_AFTER: Duration = Duration::from_secs(2);

/// The shared counts in the flags database: at each check, one statement
/// adds this instance's shares (every guarded flag at once) to the bucket
/// of the database's `now()`, and one reads the fleet's sums back; every
/// 60th check also deletes rows older than twice the longest window.
/// [`Guard::for_flags`](crate::guard::Guard::for_flags) uses one by itself
/// on flags from [`Flags::from_postgres`](crate::Flags::from_postgres),
/// under the [instance name](PostgresConfig::instance) (which must differ
/// between instances).
///
/// Sums are kept per definition twice over: by the fingerprint of what the
/// instance served ([`definition_key`](super::definition_key)), and by
/// the version of the flag's row in the database when the share arrived.
/// So a flag killed and turned on again unchanged starts a new window
/// too, even for an instance that never saw it off.
///
/// ```no_run
/// use flags_middleware::guard::{fleet::PostgresFleet, Guard};
/// use flags_middleware::store::PostgresConfig;
/// use flags_middleware::Flags;
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let config = PostgresConfig::new("host=db user=app dbname=app")?.instance("web-1");
/// let flags = Flags::from_postgres(config.clone()).await?;
/// // What `Guard::for_flags(&flags)` does by itself:
/// let guard = Guard::for_flags(&flags).shared_counts(PostgresFleet::new(config)).build();
/// # drop(guard); Ok(()) }
/// ```
#[derive(Debug)]
pub struct PostgresFleet {
    config: PostgresConfig,
    conn: tokio::sync::Mutex<Option<Client>>,
    exchanges: AtomicU64,
    statements: AtomicU64,
    /// No new connection before this (after a failed one).
    retry_at: Mutex<Option<Instant>>,
}

impl PostgresFleet {
    /// Shared counts in `config`'s database, for the instance `config` names.
    /// Connects at the first exchange.
    ///
    /// ```
    /// use flags_middleware::guard::fleet::PostgresFleet;
    /// use flags_middleware::store::PostgresConfig;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let config = PostgresConfig::new("host=db user=app dbname=app")?.instance("web-1");
    /// let fleet = PostgresFleet::new(config);
    /// assert_eq!(fleet.statements(), 0); // not connected yet
    /// # Ok(()) }
    /// ```
    pub fn new(config: PostgresConfig) -> PostgresFleet {
        PostgresFleet {
            config,
            conn: tokio::sync::Mutex::new(None),
            exchanges: AtomicU64::new(0),
            statements: AtomicU64::new(0),
            retry_at: Mutex::new(None),
        }
    }

    /// Statements sent so far (the load the sharing adds to the database).
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use flags_middleware::guard::{fleet::PostgresFleet, Guard, GuardConfig};
    /// use flags_middleware::store::PostgresConfig;
    /// use flags_middleware::Flags;
    ///
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let config = PostgresConfig::new("host=db user=app dbname=app")?.instance("web-1");
    /// let flags = Flags::from_postgres(config.clone()).await?;
    /// let fleet = Arc::new(PostgresFleet::new(config));
    /// let guard = Guard::for_flags(&flags)
    ///     .shared_counts(Arc::clone(&fleet))
    ///     .watch("new_checkout_flow", GuardConfig::new())
    ///     .build();
    /// guard.check().await;
    /// // At most three a check: add this instance's shares, read the sums, prune.
    /// assert!(fleet.statements() <= 3);
    /// # Ok(()) }
    /// ```
    pub fn statements(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    async fn run(&self, shares: &[Share]) -> Result<Vec<Vec<FleetBucket>>, FleetError> {
        let failed = |e: crate::store::StoreError| FleetError(e.to_string());
        let mut slot = self.conn.lock().await;
        if slot.as_ref().is_some_and(Client::is_closed) {
            *slot = None;
        }
        if slot.is_none() {
            let mut retry_at = self.retry_at.lock().unwrap_or_else(PoisonError::into_inner);
            if retry_at.is_some_and(|at| Instant::now() < at) {
                return Err(FleetError(
                    "the database was unreachable a moment ago; retrying shortly".into(),
                ));
            }
            *retry_at = Some(Instant::now() + RECONNECT_AFTER);
        }
        if slot.is_none() {
            *slot = Some(open_client(&self.config, "guard").await.map_err(failed)?);
            *self.retry_at.lock().unwrap_or_else(PoisonError::into_inner) = None;
        }
        let Some(client) = slot.as_ref() else {
            return Err(FleetError("no database connection".into()));
        };
        let work = self.statements_for(client, shares);
        let result = match tokio::time::timeout(query_timeout(&self.config), work).await {
            Ok(r) => r.map_err(failed),
            Err(_) => Err(FleetError("the database did not answer in time".into())),
        };
        if result.is_err() {
            // Maybe dead, maybe mid-statement: the next exchange reconnects.
            *slot = None;
        }
        result
    }

    async fn statements_for(
        &self,
        client: &Client,
        shares: &[Share],
    ) -> Result<Vec<Vec<FleetBucket>>, crate::store::StoreError> {
        let ns = self.config.namespace_name();
        let instance = self.config.instance_name();
        let adds: Vec<Value> = shares
            .iter()
            .filter(|s| has_traffic(&s.delta))
            .map(|s| {
                json!({
                    "flag": s.flag,
                    "definition": s.definition,
                    "bucket_ms": millis(s.bucket.as_millis()),
                    "new_requests": s.delta.new.requests,
                    "new_errors": s.delta.new.errors,
                    "new_latency": bins(&s.delta.new.latency),
                    "old_requests": s.delta.old.requests,
                    "old_errors": s.delta.old.errors,
                    "old_latency": bins(&s.delta.old.latency),
                })
            })
            .collect();
        if !adds.is_empty() {
            self.statements.fetch_add(1, Ordering::Relaxed);
            client
                .execute_typed(
                    UPSERT,
                    &[
                        (&ns, Type::TEXT),
                        (&instance, Type::TEXT),
                        (&Value::Array(adds), Type::JSONB),
                    ],
                )
                .await
                .map_err(database_error)?;
        }
        let wanted: Vec<Value> = shares
            .iter()
            .enumerate()
            .map(|(i, s)| {
                json!({
                    "i": i,
                    "flag": s.flag,
                    "definition": s.definition,
                    "bucket_ms": millis(s.bucket.as_millis()),
                    "window_ms": millis(s.window.as_millis()),
                })
            })
            .collect();
        self.statements.fetch_add(1, Ordering::Relaxed);
        let rows = client
            .query_typed(
                SUMS,
                &[(&ns, Type::TEXT), (&Value::Array(wanted), Type::JSONB)],
            )
            .await
            .map_err(database_error)?;
        let mut out = vec![Vec::new(); shares.len()];
        for row in rows {
            let i = usize::try_from(row.get::<_, i32>(0)).unwrap_or(usize::MAX);
            let Some(buckets) = out.get_mut(i) else {
                continue;
            };
            let arm = |r: usize, e: usize, l: usize| ArmCounts {
                requests: to_u64(row.get(r)),
                errors: to_u64(row.get(e)),
                latency: summed(row.get(l)),
            };
            buckets.push(FleetBucket {
                start_ms: to_u64(row.get(1)),
                counts: FlagCounts {
                    new: arm(2, 3, 4),
                    old: arm(5, 6, 7),
                },
            });
        }
        if self.exchanges.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == 0 {
            let keep = shares
                .iter()
                .map(|s| s.window + s.bucket)
                .max()
                .unwrap_or_default();
            self.statements.fetch_add(1, Ordering::Relaxed);
            client
                .execute_typed(
                    PRUNE,
                    &[
                        (&ns, Type::TEXT),
                        (&millis(2 * keep.as_millis()), Type::INT8),
                    ],
                )
                .await
                .map_err(database_error)?;
        }
        Ok(out)
    }
}

impl SharedCounts for PostgresFleet {
    fn exchange<'a>(
        &'a self,
        shares: &'a [Share],
    ) -> BoxFuture<'a, Result<Vec<Vec<FleetBucket>>, FleetError>> {
        Box::pin(self.run(shares))
    }
}

// `(floor(extract(epoch FROM now()) * 1000)::bigint)` is the database's
// time in ms since the epoch: buckets go by the database's clock.

const UPSERT: &str = "INSERT INTO flag_guard_buckets AS b (namespace, flag, definition, flag_version, start_ms, instance,
         new_requests, new_errors, new_latency, old_requests, old_errors, old_latency)
     SELECT $1, r.flag, r.definition,
            COALESCE((SELECT d.version FROM flag_definitions d WHERE d.namespace = $1 AND d.name = r.flag), 0),
            ((floor(extract(epoch FROM now()) * 1000)::bigint) / r.bucket_ms) * r.bucket_ms, $2,
            r.new_requests, r.new_errors, r.new_latency, r.old_requests, r.old_errors, r.old_latency
     FROM jsonb_to_recordset($3) AS r(flag text, definition bigint, bucket_ms bigint,
          new_requests bigint, new_errors bigint, new_latency bigint[],
          old_requests bigint, old_errors bigint, old_latency bigint[])
     ON CONFLICT (namespace, flag, definition, flag_version, start_ms, instance) DO UPDATE SET
         new_requests = b.new_requests + EXCLUDED.new_requests,
         new_errors = b.new_errors + EXCLUDED.new_errors,
         new_latency = flag_guard_add(b.new_latency, EXCLUDED.new_latency),
         old_requests = b.old_requests + EXCLUDED.old_requests,
         old_errors = b.old_errors + EXCLUDED.old_errors,
         old_latency = flag_guard_add(b.old_latency, EXCLUDED.old_latency)";

const SUMS: &str = "SELECT r.i, b.start_ms,
            sum(b.new_requests)::bigint, sum(b.new_errors)::bigint,
            COALESCE(jsonb_agg(b.new_latency) FILTER (WHERE cardinality(b.new_latency) > 0), '[]'),
            sum(b.old_requests)::bigint, sum(b.old_errors)::bigint,
            COALESCE(jsonb_agg(b.old_latency) FILTER (WHERE cardinality(b.old_latency) > 0), '[]')
     FROM jsonb_to_recordset($2) AS r(i int, flag text, definition bigint, bucket_ms bigint, window_ms bigint)
     JOIN flag_guard_buckets b
       ON b.namespace = $1 AND b.flag = r.flag AND b.definition = r.definition
      AND b.flag_version = COALESCE((SELECT d.version FROM flag_definitions d
                                     WHERE d.namespace = $1 AND d.name = r.flag), 0)
      AND b.start_ms + r.bucket_ms > (floor(extract(epoch FROM now()) * 1000)::bigint) - r.window_ms AND b.start_ms <= (floor(extract(epoch FROM now()) * 1000)::bigint)
     GROUP BY r.i, b.start_ms
     ORDER BY r.i, b.start_ms";

const PRUNE: &str = "DELETE FROM flag_guard_buckets WHERE namespace = $1 AND start_ms < (floor(extract(epoch FROM now()) * 1000)::bigint) - $2";

fn millis(ms: u128) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn bins(h: &LatencyHistogram) -> Vec<u64> {
    if h.count() == 0 {
        return Vec::new();
    }
    (0..crate::metrics::LATENCY_BUCKETS_MS.len() + 1)
        .map(|b| h.get(b))
        .collect()
}

/// Histograms (JSON arrays of bin counts) added up.
fn summed(v: Value) -> LatencyHistogram {
    let mut out = LatencyHistogram::default();
    if let Value::Array(hs) = v {
        for h in hs {
            let counts = match h {
                Value::Array(c) => c.iter().map(|n| n.as_u64().unwrap_or(0)).collect(),
                _ => Vec::new(),
            };
            out.merge(&LatencyHistogram::from_counts(counts));
        }
    }
    out
}
