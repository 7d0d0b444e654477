//! Flags asked for that the served flags do not define: counted per name,
//! in bounded memory, and logged once per name.
//!
//! Only the cold path reaches here (a lookup that found nothing), so a
//! mutex is fine: a found flag never touches this.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};

use super::startup::HYGIENE_TARGET;

/// How many distinct unknown names are kept by default; the rest are
/// counted together ([`UnknownFlags::other`]).
///
/// ```
/// use flags_middleware::{hygiene::DEFAULT_UNKNOWN_CAPACITY, Context, Flags};
///
/// let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
/// // Names from outside (a query parameter, say): one more than are kept.
/// for i in 0..=DEFAULT_UNKNOWN_CAPACITY {
///     assert!(!flags.is_enabled(format!("probe_{i}"), &Context::new()));
/// }
/// let unknown = flags.unknown_flags();
/// assert_eq!(unknown.flags.len(), DEFAULT_UNKNOWN_CAPACITY);
/// assert_eq!(unknown.other, 1);
/// ```
pub const DEFAULT_UNKNOWN_CAPACITY: usize = 1_000;

/// Names longer than this are kept cut (at a character boundary): asked
/// names come from code, or from whatever reaches `is_enabled`.
const MAX_NAME_BYTES: usize = 200;

/// The live counts; one per [`Flags`](crate::Flags) handle.
#[derive(Debug)]
pub(crate) struct UnknownCounter {
    names: Mutex<HashMap<Box<str>, Seen>>,
    capacity: usize,
    other: AtomicU64,
    over_capacity_logged: AtomicBool,
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    count: u64,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
}

/// What [`Flags::unknown_flags`](crate::Flags::unknown_flags) reports.
///
/// ```
/// use flags_middleware::{Context, Flags};
///
/// let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
/// assert!(!flags.is_enabled("new_chekout_flow", &Context::new())); // a typo
/// let unknown = flags.unknown_flags();
/// assert_eq!(unknown.flags[0].name, "new_chekout_flow");
/// assert_eq!(unknown.flags[0].count, 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct UnknownFlags {
    /// Each unknown name asked for, most asked first.
    pub flags: Vec<UnknownFlag>,
    /// How often names beyond the first `capacity` were asked for.
    pub other: u64,
    /// How many distinct names are kept.
    pub capacity: usize,
}

/// One name asked for that no flag has.
///
/// ```
/// use flags_middleware::{Context, Flags};
///
/// let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
/// for _ in 0..2 {
///     assert!(!flags.is_enabled("new_chekout_flow", &Context::new())); // a typo
/// }
/// assert!(!flags.is_enabled("x".repeat(300), &Context::new()));
/// let unknown = flags.unknown_flags();
/// let typo = &unknown.flags[0]; // most asked first
/// assert_eq!((typo.name.as_str(), typo.count), ("new_chekout_flow", 2));
/// assert!(typo.first_seen <= typo.last_seen);
/// assert_eq!(unknown.flags[1].name.len(), 200, "long names are cut");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct UnknownFlag {
    /// The name as asked (cut at 200 bytes).
    pub name: String,
    /// How many times it was asked for (once per request with the layer).
    pub count: u64,
    /// When it was first asked for.
    pub first_seen: DateTime<Utc>,
    /// When it was last asked for.
    pub last_seen: DateTime<Utc>,
}

impl Default for UnknownCounter {
    fn default() -> Self {
        UnknownCounter::with_capacity(DEFAULT_UNKNOWN_CAPACITY)
    }
}

impl UnknownCounter {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        UnknownCounter {
            names: Mutex::new(HashMap::new()),
            capacity,
            other: AtomicU64::new(0),
            over_capacity_logged: AtomicBool::new(false),
        }
    }

    /// Counts one ask for `name`, which the flags do not define; the first
    /// ask for a name is logged (WARN, `flags::hygiene`).
    #[cold]
    pub(crate) fn record(&self, name: &str) {
        let now = Utc::now();
        let name = cut(name);
        let mut names = self.names.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(seen) = names.get_mut(name) {
            seen.count += 1;
            seen.last = now;
            return;
        }
        if names.len() >= self.capacity {
            drop(names);
            self.other.fetch_add(1, Ordering::Relaxed);
            if !self.over_capacity_logged.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    target: HYGIENE_TARGET,
                    capacity = self.capacity,
                    "more distinct unknown flags asked for than are kept: the rest are counted as `other`"
                );
            }
            return;
        }
        names.insert(
            name.into(),
            Seen {
                count: 1,
                first: now,
                last: now,
            },
        );
        drop(names);
        tracing::warn!(
            target: HYGIENE_TARGET,
            flag = name,
            "unknown flag asked for: it is off (a typo, or a deleted flag still read by code?)"
        );
    }

    pub(crate) fn report(&self) -> UnknownFlags {
        let names = self.names.lock().unwrap_or_else(PoisonError::into_inner);
        let mut flags: Vec<UnknownFlag> = names
            .iter()
            .map(|(name, seen)| UnknownFlag {
                name: name.to_string(),
                count: seen.count,
                first_seen: seen.first,
                last_seen: seen.last,
            })
            .collect();
        drop(names);
        flags.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
        UnknownFlags {
            flags,
            other: self.other.load(Ordering::Relaxed),
            capacity: self.capacity,
        }
    }
}

fn cut(name: &str) -> &str {
    if name.len() <= MAX_NAME_BYTES {
        return name;
    }
    let mut end = MAX_NAME_BYTES;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_name_up_to_the_capacity_then_as_other() {
        let counter = UnknownCounter::with_capacity(2);
        for name in ["a", "b", "a", "c", "d", "a"] {
            counter.record(name);
        }
        let report = counter.report();
        let counts: Vec<(&str, u64)> = report
            .flags
            .iter()
            .map(|f| (f.name.as_str(), f.count))
            .collect();
        assert_eq!(counts, [("a", 3), ("b", 1)]);
        assert_eq!(report.other, 2);
    }

    #[test]
    fn long_names_are_cut_at_a_character_boundary() {
        let long = "é".repeat(150);
        assert_eq!(cut(&long).len(), 200);
        assert_eq!(cut("short"), "short");
    }
}
