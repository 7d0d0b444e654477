//! Settling a request's counters and usage without looking names up.
//!
//! [`Metrics`] keys its counters by flag and arm name, and the usage table
//! by flag and route: a lookup hashes and compares strings. A request knows
//! its flags by [`FlagId`] and its arms by their packed decision, both fixed
//! for the snapshot's life, so each thread keeps the handles it found per
//! flag, for its last few snapshots (an app may serve two `Flags` handles
//! on one thread). A request then costs an index, a scan of a few `Copy`
//! entries and a few relaxed atomic additions per flag; names are built only
//! the first time a thread meets a flag's arm or route.

use std::cell::RefCell;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use axum::extract::MatchedPath;
use foldhash::HashMap;

use super::memo::{Answer, Entry, Read};
use super::request::RequestState;
use crate::engine::{FlagId, Snapshot};
use crate::hygiene::{Tracker, UsageHandle};
use crate::metrics::{ArmHandle, Metrics, Sample};

/// Handles kept per flag beyond this are looked up each time instead (a
/// router that makes a new route string per request must not grow the
/// cache without end).
const MAX_PER_FLAG: usize = 32;

/// Snapshots a thread keeps handles for: a change moves every thread to a
/// new one, and a few `Flags` handles may share a thread.
const SNAPSHOTS: usize = 4;

/// Flags kept by position rather than in a map.
const INDEXED: usize = 256;

/// One thread's handles for one snapshot.
#[derive(Default)]
struct Cache {
    /// The snapshot the flag indices belong to. A `Weak` keeps its
    /// allocation (not its flags) alive, so its address cannot be reused by
    /// another one while this cache compares against it.
    snapshot: Weak<Snapshot>,
    metrics: Option<Metrics>,
    tracker: Option<Tracker>,
    flags: ByFlag,
}

/// Handles by flag: by position for the first [`INDEXED`] flags (grown as
/// they are met), an index instead of a hash; in a map past those, so a
/// thread that serves a few flags of a big snapshot keeps only those.
#[derive(Default)]
struct ByFlag {
    indexed: Vec<FlagHandles>,
    hashed: HashMap<FlagId, FlagHandles>,
}

impl ByFlag {
    fn get(&mut self, id: FlagId) -> &mut FlagHandles {
        let i = id.index();
        if i >= INDEXED {
            return self.hashed.entry(id).or_default();
        }
        if self.indexed.len() <= i {
            self.indexed.resize_with(i + 1, FlagHandles::default);
        }
        &mut self.indexed[i]
    }
}

#[derive(Default)]
struct FlagHandles {
    /// By decision, packed (equal decisions serve the same arm). `None`:
    /// the metrics table is full.
    arms: Vec<(u64, Option<ArmHandle>)>,
    /// By route template, `None` for a request the router did not match.
    /// The router's own string is kept (so its address cannot be reused)
    /// and compared by address first: the same route, the same string.
    routes: Vec<(Option<MatchedPath>, UsageHandle)>,
}

thread_local! {
    /// Most recently used first.
    static CACHES: RefCell<Vec<Cache>> = const { RefCell::new(Vec::new()) };
}

/// What one request adds: the sample for the metrics, the time for the
/// usage table.
struct Outcome<'a> {
    state: &'a RequestState,
    memo: &'a Read<'a>,
    sample: Option<Sample>,
    route: Option<&'a MatchedPath>,
    at: u64,
}

/// Adds one request (`status`, `latency`, started at `started`) to the
/// counters of each decided flag's arm, and to the usage of each flag it
/// asked for on its route.
pub(crate) fn record(
    state: &RequestState,
    memo: &Read<'_>,
    status: u16,
    latency: Duration,
    started: Option<Instant>,
) {
    let config = &state.config;
    if config.metrics.is_none() && config.tracker.is_none() {
        return;
    }
    let outcome = Outcome {
        state,
        memo,
        sample: config
            .metrics
            .as_ref()
            .map(|_| Sample::new(status, latency)),
        route: state.matched_path(),
        at: match &config.tracker {
            Some(tracker) => tracker
                .usage()
                .unix_ms(started.unwrap_or_else(Instant::now)),
            None => 0,
        },
    };
    let done = CACHES
        .try_with(|caches| match caches.try_borrow_mut() {
            Ok(mut caches) => {
                Cache::of(&mut caches, state).add(&outcome);
                true
            }
            Err(_) => false,
        })
        .unwrap_or(false);
    // The thread's locals are being torn down (or, re-entered, busy): look
    // the names up instead.
    if !done {
        add_uncached(&outcome);
    }
}

impl Cache {
    /// The cache for `state`'s snapshot and handles, moved to the front;
    /// made (in place of the least recently used) when there is none.
    fn of<'c>(caches: &'c mut Vec<Cache>, state: &RequestState) -> &'c mut Cache {
        match caches.iter().position(|c| c.serves(state)) {
            Some(0) => {}
            Some(i) => caches[..=i].rotate_right(1),
            None => {
                if caches.len() == SNAPSHOTS {
                    caches.pop();
                }
                let config = &state.config;
                caches.insert(
                    0,
                    Cache {
                        snapshot: Arc::downgrade(&state.snapshot),
                        metrics: config.metrics.clone(),
                        tracker: config.tracker.clone(),
                        flags: ByFlag::default(),
                    },
                );
            }
        }
        &mut caches[0]
    }

    /// Whether this cache's handles are `state`'s.
    fn serves(&self, state: &RequestState) -> bool {
        let config = &state.config;
        let same_metrics = match (&self.metrics, &config.metrics) {
            (Some(a), Some(b)) => a.same(b),
            (None, None) => true,
            _ => false,
        };
        let same_tracker = match (&self.tracker, &config.tracker) {
            (Some(a), Some(b)) => a.same(b),
            (None, None) => true,
            _ => false,
        };
        self.snapshot.as_ptr() == Arc::as_ptr(&state.snapshot) && same_metrics && same_tracker
    }

    fn add(&mut self, outcome: &Outcome<'_>) {
        for known in outcome.memo.known() {
            let id = known.id;
            let handles = self.flags.get(id);
            if let (Some(metrics), Some(sample), true) =
                (&self.metrics, &outcome.sample, known.decided())
            {
                match handles.arms.iter().find(|(bits, _)| *bits == known.bits) {
                    Some((_, Some(arm))) => arm.add(sample),
                    Some((_, None)) => metrics.count_dropped(),
                    None => {
                        let arm = arm_handle(metrics, outcome, id, &known.entry());
                        match &arm {
                            Some(arm) => arm.add(sample),
                            None => metrics.count_dropped(),
                        }
                        if handles.arms.len() < MAX_PER_FLAG {
                            handles.arms.push((known.bits, arm));
                        }
                    }
                }
            }
            if let Some(tracker) = &self.tracker {
                let route = outcome.route;
                match handles
                    .routes
                    .iter()
                    .find(|(r, _)| same_route(r.as_ref(), route))
                {
                    Some((_, usage)) => usage.record(outcome.at),
                    None => {
                        let name = outcome.state.snapshot.name(id).unwrap_or("");
                        let usage = tracker.usage().handle(name, route.map(MatchedPath::as_str));
                        usage.record(outcome.at);
                        if handles.routes.len() < MAX_PER_FLAG {
                            handles.routes.push((route.cloned(), usage));
                        }
                    }
                }
            }
        }
    }
}

/// Whether two requests' routes are the same template: the same string of
/// the router's, else equal text (a router built twice).
fn same_route(a: Option<&MatchedPath>, b: Option<&MatchedPath>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => std::ptr::eq(a.as_str(), b.as_str()) || a.as_str() == b.as_str(),
        (None, None) => true,
        _ => false,
    }
}

/// The counters of the arm `entry` was served, by name.
fn arm_handle(
    metrics: &Metrics,
    outcome: &Outcome<'_>,
    id: FlagId,
    entry: &Entry,
) -> Option<ArmHandle> {
    let state = outcome.state;
    let flag = state.snapshot.name(id)?;
    metrics.arm_handle(flag, state.memo_arm(outcome.memo, entry))
}

/// [`Cache::add`] without a cache.
#[cold]
fn add_uncached(outcome: &Outcome<'_>) {
    let state = outcome.state;
    let config = &state.config;
    for entry in outcome.memo.iter() {
        let Some(id) = entry.id else { continue };
        if let (Some(metrics), Some(sample), Answer::Decided(_)) =
            (&config.metrics, &outcome.sample, entry.answer)
        {
            match arm_handle(metrics, outcome, id, entry) {
                Some(arm) => arm.add(sample),
                None => metrics.count_dropped(),
            }
        }
        if let Some(tracker) = &config.tracker {
            let name = state.snapshot.name(id).unwrap_or("");
            tracker
                .usage()
                .handle(name, outcome.route.map(MatchedPath::as_str))
                .record(outcome.at);
        }
    }
}
