//! Settling a request's counters without looking names up.
//!
//! [`Metrics`] keys its counters by flag and arm name: a lookup hashes and
//! compares strings. A request knows its flags by [`FlagId`] and its arms by
//! strings borrowed from its snapshot, both fixed for the snapshot's life, so
//! each thread keeps the counters it found, keyed by those, until the
//! snapshot changes. A request then costs a small integer-keyed lookup and a
//! few relaxed atomic additions per flag.

use std::cell::RefCell;
use std::sync::{Arc, Weak};
use std::time::Duration;

use foldhash::HashMap;

use crate::engine::{FlagId, Snapshot};
use crate::metrics::{ArmHandle, Metrics, Sample};

/// One thread's counters for one snapshot.
#[derive(Default)]
struct Cache {
    /// The snapshot the keys belong to. A `Weak` keeps its allocation (not
    /// its flags) alive, so its address cannot be reused by another one
    /// while this cache compares against it.
    snapshot: Weak<Snapshot>,
    metrics: Option<Metrics>,
    /// By flag and the arm string's address and length; `None`: the table
    /// is full.
    arms: HashMap<(FlagId, usize, usize), Option<ArmHandle>>,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
}

/// Adds one request (`status`, `latency`) to each of its `(flag, name, arm)`
/// pairs.
pub(crate) fn record<'a>(
    metrics: &Metrics,
    snapshot: &Arc<Snapshot>,
    status: u16,
    latency: Duration,
    pairs: impl Iterator<Item = (FlagId, &'a str, &'a str)>,
) {
    let sample = Sample::new(status, latency);
    let mut pairs = Some(pairs);
    let _ = CACHE.try_with(|cache| {
        let Ok(mut cache) = cache.try_borrow_mut() else {
            return;
        };
        let Some(pairs) = pairs.take() else {
            return;
        };
        let current = cache.snapshot.as_ptr() == Arc::as_ptr(snapshot)
            && cache.metrics.as_ref().is_some_and(|m| m.same(metrics));
        if !current {
            cache.snapshot = Arc::downgrade(snapshot);
            cache.metrics = Some(metrics.clone());
            cache.arms.clear();
        }
        for (id, flag, arm) in pairs {
            let key = (id, arm.as_ptr() as usize, arm.len());
            let handle = match cache.arms.get(&key) {
                Some(handle) => handle,
                None => cache
                    .arms
                    .entry(key)
                    .or_insert_with(|| metrics.arm_handle(flag, arm)),
            };
            match handle {
                Some(h) => h.add(&sample),
                None => metrics.count_dropped(),
            }
        }
    });
    // The thread's locals are being torn down: look the names up instead.
    if let Some(pairs) = pairs {
        metrics.record_each(pairs.map(|(_, flag, arm)| (flag, arm)), status, latency);
    }
}
