//! Last evaluation times shared across instances through a store that
//! keeps them (PostgreSQL): what this instance has to write, at most once
//! a minute per flag, and what the others wrote.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::usage::UsageCounter;

/// How often one instance writes one flag's last evaluation, at most.
pub const SHARE_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
pub(crate) struct SharedLastSeen {
    /// Per flag: the evaluation time last written, and when it was written.
    written: Mutex<HashMap<String, (DateTime<Utc>, Instant)>>,
    /// The latest evaluation per flag across instances, as last read.
    fleet: Mutex<BTreeMap<String, DateTime<Utc>>>,
}

impl SharedLastSeen {
    /// The flags evaluated since their last write whose last write is at
    /// least [`SHARE_INTERVAL`] old (or never happened), with their time;
    /// taken as written.
    pub(crate) fn take_due(
        &self,
        usage: &UsageCounter,
        now: Instant,
    ) -> Vec<(String, DateTime<Utc>)> {
        let mut written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
        let mut due = Vec::new();
        for flag in usage.flags() {
            let Some(last) = usage.of(&flag).last_evaluated else {
                continue;
            };
            let fresh = match written.get(&flag) {
                Some((time, at)) => last > *time && now.duration_since(*at) >= SHARE_INTERVAL,
                None => true,
            };
            if fresh {
                written.insert(flag.clone(), (last, now));
                due.push((flag, last));
            }
        }
        due.sort();
        due
    }

    /// Forgets that `flags` were written (the write failed): they are due again.
    pub(crate) fn unwritten(&self, flags: &[(String, DateTime<Utc>)]) {
        let mut written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
        for (flag, _) in flags {
            written.remove(flag);
        }
    }

    pub(crate) fn set_fleet(&self, fleet: BTreeMap<String, DateTime<Utc>>) {
        *self.fleet.lock().unwrap_or_else(PoisonError::into_inner) = fleet;
    }

    pub(crate) fn fleet(&self) -> BTreeMap<String, DateTime<Utc>> {
        self.fleet
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
