//! Where flags are evaluated: per flag, the route templates that asked for
//! it and how often, and the first and last evaluation time.
//!
//! The layer records once per request, when it settles the request, never
//! per decision: through a [`UsageHandle`] per flag and route that each
//! thread keeps (layer/counting.rs), so a request adds to atomics only.
//! The table itself sits behind a read-write lock: read when a thread meets
//! a flag and route it has no handle for and when a report lists it, and
//! written (in place, so a new pair costs the same with 10 flags as with
//! 10,000) only for a pair never seen before.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};

use crate::shards::{Local, Shards};
use foldhash::HashMap;

/// Flag/route pairs beyond this are counted under [`OTHER_ROUTE`].
const MAX_PAIRS: usize = 10_000;

/// The route recorded for requests without a matched route template, or
/// beyond the pair limit.
///
/// ```
/// # use axum::{body::Body, http::Request, routing::get, Router};
/// # use tower::ServiceExt as _;
/// use flags_middleware::{hygiene::OTHER_ROUTE, FlagContext, Flags, FlagsLayer};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let flags = Flags::from_toml_str("[new_404_page]\n", "flags.toml").unwrap();
/// let not_found = |f: FlagContext| async move { f.is_enabled("new_404_page").to_string() };
/// // The fallback matches no route template.
/// let app = Router::new().route("/", get(|| async { "home" })).fallback(not_found).layer(FlagsLayer::new(flags.clone()));
/// app.oneshot(Request::get("/no/such/page").body(Body::empty()).unwrap()).await.unwrap();
/// assert_eq!(flags.evaluations("new_404_page").routes.get(OTHER_ROUTE), Some(&1));
/// # }
/// ```
pub const OTHER_ROUTE: &str = "(other)";

/// Live usage per flag; one per [`Flags`](crate::Flags) handle.
#[derive(Debug)]
pub(crate) struct UsageCounter {
    table: RwLock<Table>,
    /// A wall-clock reading and the instant it was taken: request times
    /// are derived from the instant the layer took when the request
    /// started, so recording reads no clock.
    base: (Instant, u64),
}

#[derive(Debug, Default)]
struct Table {
    flags: HashMap<Box<str>, FlagUsage>,
    pairs: usize,
}

impl Table {
    fn full(&self) -> bool {
        self.pairs >= MAX_PAIRS
    }

    /// The handle of `flag` on `route`, if there is one; past the pair
    /// limit a route the flag lacks counts as `(other)`, which it may have.
    fn find(&self, flag: &str, route: &str) -> Option<UsageHandle> {
        let usage = self.flags.get(flag)?;
        let other = || self.full().then(|| usage.handle(OTHER_ROUTE)).flatten();
        usage.handle(route).or_else(other)
    }
}

/// One flag's counters; each thread's handles share its atomics.
#[derive(Debug, Default, Clone)]
struct FlagUsage {
    times: Arc<Times>,
    routes: Vec<(Box<str>, Arc<Shards<AtomicU64>>)>,
}

impl FlagUsage {
    fn handle(&self, route: &str) -> Option<UsageHandle> {
        let (_, count) = self.routes.iter().find(|(r, _)| **r == *route)?;
        Some(UsageHandle {
            count: count.local(),
            times: Arc::clone(&self.times),
        })
    }
}

/// One flag's counters on one route, as one thread adds to them (`!Send`:
/// see [`Shards`]).
pub(crate) struct UsageHandle {
    count: Local<AtomicU64>,
    times: Arc<Times>,
}

impl UsageHandle {
    /// Counts one request at `at` (Unix milliseconds).
    pub(crate) fn record(&self, at: u64) {
        self.count.add(self.count.get(), 1);
        let times = &*self.times;
        // 0 is "never": the first request sets it, the others skip.
        if times.first_ms.load(Ordering::Relaxed) == 0 {
            let _ = times
                .first_ms
                .compare_exchange(0, at, Ordering::Relaxed, Ordering::Relaxed);
        }
        // Most requests land in a millisecond already recorded: a load, no
        // read-modify-write.
        if times.last_ms.load(Ordering::Relaxed) < at {
            times.last_ms.fetch_max(at, Ordering::Relaxed);
        }
    }
}

#[derive(Debug, Default)]
struct Times {
    /// Unix milliseconds; 0 until the first evaluation.
    first_ms: AtomicU64,
    last_ms: AtomicU64,
}

/// What the code and the traffic say about one flag, read from
/// [`Flags::evaluations`](crate::Flags::evaluations).
///
/// ```
/// use axum::{body::Body, http::Request, routing::get, Router};
/// use flags_middleware::{FlagContext, Flags, FlagsLayer};
/// use tower::ServiceExt as _;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
/// let handler = |f: FlagContext| async move { f.is_enabled("new_checkout_flow").to_string() };
/// let app = Router::new()
///     .route("/products/{id}", get(handler))
///     .layer(FlagsLayer::new(flags.clone()));
/// for path in ["/products/1", "/products/2"] {
///     app.clone().oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
/// }
/// let usage = flags.evaluations("new_checkout_flow");
/// assert_eq!(usage.routes.get("/products/{id}"), Some(&2)); // per route template
/// assert!(usage.first_evaluated.unwrap() <= usage.last_evaluated.unwrap());
/// assert!(flags.evaluations("dark_mode").routes.is_empty());
/// # }
/// ```
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
            table: RwLock::default(),
            base: (Instant::now(), unix_ms),
        }
    }
}

impl UsageCounter {
    /// `started` in Unix milliseconds, read from no clock.
    pub(crate) fn unix_ms(&self, started: Instant) -> u64 {
        self.base.1 + started.saturating_duration_since(self.base.0).as_millis() as u64
    }

    /// The counters of `flag` on `route`, made on first use. A handle stays
    /// valid for the counter's life (it shares the table's atomics), so the
    /// layer keeps them per thread and a request touches only atomics.
    pub(crate) fn handle(&self, flag: &str, route: Option<&str>) -> UsageHandle {
        let route = route.unwrap_or(OTHER_ROUTE);
        let found = self
            .table
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .find(flag, route);
        found.unwrap_or_else(|| self.add(flag, route))
    }

    /// A flag or a route never seen for it (`(other)` past the pair
    /// limit), added in place.
    #[cold]
    fn add(&self, flag: &str, route: &str) -> UsageHandle {
        let mut table = self.table.write().unwrap_or_else(PoisonError::into_inner);
        // Another thread may have added it while we waited.
        if let Some(handle) = table.find(flag, route) {
            return handle;
        }
        let route = if table.full() { OTHER_ROUTE } else { route };
        table.pairs += 1;
        let usage = table.flags.entry(flag.into()).or_default();
        let count = Arc::new(Shards::default());
        usage.routes.push((route.into(), Arc::clone(&count)));
        UsageHandle {
            count: count.local(),
            times: Arc::clone(&usage.times),
        }
    }

    /// What was recorded for `flag`.
    pub(crate) fn of(&self, flag: &str) -> FlagEvaluations {
        // Copied out (a few `Arc`s), so summing does not hold the lock.
        let usage = self
            .table
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .flags
            .get(flag)
            .cloned();
        let Some(usage) = usage else {
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
                .iter()
                .map(|(route, count)| (route.to_string(), count.sum().into_inner()))
                .collect(),
            first_evaluated: time(usage.times.first_ms.load(Ordering::Relaxed)),
            last_evaluated: time(usage.times.last_ms.load(Ordering::Relaxed)),
        }
    }

    /// When recording began (the handle was made).
    pub(crate) fn started(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.base.1 as i64).unwrap_or_default()
    }

    /// The flags evaluated so far.
    pub(crate) fn flags(&self) -> Vec<String> {
        self.table
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .flags
            .keys()
            .map(|k| k.to_string())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_pair_limit_new_routes_count_as_other() {
        let usage = UsageCounter::default();
        for i in 0..MAX_PAIRS {
            usage.handle(&format!("f{i}"), Some("/a")).record(1);
        }
        // Known pairs keep their own counters.
        usage.handle("f0", Some("/a")).record(2);
        // New routes, for a known flag or a new one, go to `(other)`.
        usage.handle("f0", Some("/b")).record(3);
        usage.handle("f0", Some("/c")).record(4);
        usage.handle("new", Some("/a")).record(5);
        let f0 = usage.of("f0");
        let routes: Vec<(&str, u64)> = f0.routes.iter().map(|(r, n)| (r.as_str(), *n)).collect();
        assert_eq!(routes, [(OTHER_ROUTE, 2), ("/a", 2)]);
        assert_eq!(usage.of("new").routes[OTHER_ROUTE], 1);
        assert_eq!(usage.table.read().unwrap().pairs, MAX_PAIRS + 2);
        assert_eq!(usage.flags().len(), MAX_PAIRS + 1);
    }
}
