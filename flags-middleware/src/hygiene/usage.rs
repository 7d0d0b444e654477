//! Where flags are evaluated: per flag, the route templates that asked for
//! it and how often, and the first and last evaluation time.
//!
//! The layer records once per request, when it settles the request (one
//! call with the route it already knows and the flags the request asked),
//! never per decision. The table is copy-on-write like the metrics': a
//! request reads it without a lock and adds to atomics; only a flag or
//! route never seen before takes the lock and swaps in a new table.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use foldhash::HashMap;

/// Flag/route pairs beyond this are counted under [`OTHER_ROUTE`].
const MAX_PAIRS: usize = 10_000;

/// The route recorded for requests without a matched route template, or
/// beyond the pair limit.
pub const OTHER_ROUTE: &str = "(other)";

/// Live usage per flag; one per [`Flags`](crate::Flags) handle.
#[derive(Debug)]
pub(crate) struct UsageCounter {
    table: ArcSwap<Table>,
    write: Mutex<()>,
    /// A wall-clock reading and the instant it was taken: request times
    /// are derived from the instant the layer took when the request
    /// started, so recording reads no clock.
    base: (Instant, u64),
}

#[derive(Debug, Default, Clone)]
struct Table {
    flags: HashMap<Box<str>, Arc<FlagUsage>>,
    pairs: usize,
}

#[derive(Debug, Default)]
struct FlagUsage {
    /// Unix milliseconds; 0 until the first evaluation.
    first_ms: AtomicU64,
    last_ms: AtomicU64,
    routes: ArcSwap<Vec<(Box<str>, Arc<AtomicU64>)>>,
}

/// What the code and the traffic say about one flag, read from
/// [`Flags::evaluations`](crate::Flags::evaluations).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct FlagEvaluations {
    /// Requests that asked for the flag, per route template.
    pub routes: BTreeMap<String, u64>,
    /// The first evaluation this process saw.
    pub first_evaluated: Option<DateTime<Utc>>,
    /// The last evaluation this process saw.
    pub last_evaluated: Option<DateTime<Utc>>,
}

impl Default for UsageCounter {
    fn default() -> Self {
        let unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        UsageCounter {
            table: ArcSwap::from_pointee(Table::default()),
            write: Mutex::new(()),
            base: (Instant::now(), unix_ms),
        }
    }
}

impl UsageCounter {
    /// Records one request on `route` that started at `started` and asked
    /// for `flags` (each once).
    pub(crate) fn record<'a>(
        &self,
        route: Option<&str>,
        started: Instant,
        flags: impl Iterator<Item = &'a str>,
    ) {
        let at = self.base.1 + started.saturating_duration_since(self.base.0).as_millis() as u64;
        let route = route.unwrap_or(OTHER_ROUTE);
        let table = self.table.load();
        for flag in flags {
            match table.flags.get(flag) {
                Some(usage) => self.count(usage, &table, route, at),
                None => {
                    let usage = self.add_flag(flag);
                    self.count(&usage, &table, route, at);
                }
            }
        }
    }

    fn count(&self, usage: &FlagUsage, table: &Table, route: &str, at: u64) {
        // 0 is "never": the first request sets it, the others skip.
        if usage.first_ms.load(Ordering::Relaxed) == 0 {
            let _ = usage
                .first_ms
                .compare_exchange(0, at, Ordering::Relaxed, Ordering::Relaxed);
        }
        usage.last_ms.fetch_max(at, Ordering::Relaxed);
        let routes = usage.routes.load();
        match routes.iter().find(|(r, _)| **r == *route) {
            Some((_, count)) => {
                count.fetch_add(1, Ordering::Relaxed);
            }
            None => self.add_route(usage, table, route),
        }
    }

    /// A flag never seen: a new table with it.
    #[cold]
    fn add_flag(&self, flag: &str) -> Arc<FlagUsage> {
        let _write = self.write.lock().unwrap_or_else(PoisonError::into_inner);
        let mut table = Table::clone(&self.table.load());
        let usage = table.flags.entry(flag.into()).or_default().clone();
        self.table.store(Arc::new(table));
        usage
    }

    /// A route never seen for this flag (or `(other)` past the limit).
    #[cold]
    fn add_route(&self, usage: &FlagUsage, table: &Table, route: &str) {
        let _write = self.write.lock().unwrap_or_else(PoisonError::into_inner);
        let mut routes = Vec::clone(&usage.routes.load());
        let route = if table.pairs >= MAX_PAIRS {
            OTHER_ROUTE
        } else {
            route
        };
        match routes.iter().find(|(r, _)| **r == *route) {
            Some((_, count)) => {
                count.fetch_add(1, Ordering::Relaxed);
            }
            None => {
                routes.push((route.into(), Arc::new(AtomicU64::new(1))));
                usage.routes.store(Arc::new(routes));
                let mut next = Table::clone(&self.table.load());
                next.pairs += 1;
                self.table.store(Arc::new(next));
            }
        }
    }

    /// What was recorded for `flag`.
    pub(crate) fn of(&self, flag: &str) -> FlagEvaluations {
        let table = self.table.load();
        let Some(usage) = table.flags.get(flag) else {
            return FlagEvaluations {
                routes: BTreeMap::new(),
                first_evaluated: None,
                last_evaluated: None,
            };
        };
        let time = |ms: u64| {
            (ms > 0)
                .then(|| DateTime::from_timestamp_millis(ms as i64))
                .flatten()
        };
        FlagEvaluations {
            routes: usage
                .routes
                .load()
                .iter()
                .map(|(route, count)| (route.to_string(), count.load(Ordering::Relaxed)))
                .collect(),
            first_evaluated: time(usage.first_ms.load(Ordering::Relaxed)),
            last_evaluated: time(usage.last_ms.load(Ordering::Relaxed)),
        }
    }

    /// When recording began (the handle was made).
    pub(crate) fn started(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.base.1 as i64).unwrap_or_default()
    }

    /// The flags evaluated so far.
    pub(crate) fn flags(&self) -> Vec<String> {
        self.table
            .load()
            .flags
            .keys()
            .map(|k| k.to_string())
            .collect()
    }
}
