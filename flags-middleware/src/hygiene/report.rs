//! The reports built from the registry, the tracker, the metrics and the
//! audit log: the inventory, stale flags and dead code.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::everyone::{one_arm, OneArm};
use super::registry::{registry, FlagUse};
use super::tracker::Tracker;
use crate::audit::AuditEntry;
use crate::engine::Snapshot;
use crate::metrics::MetricsSnapshot;

/// One flag as the code and the traffic know it; see
/// [`Flags::inventory`](crate::Flags::inventory).
///
/// ```
/// use flags_middleware::Flags;
///
/// let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
/// let inventory = flags.inventory();
/// let flag = inventory.iter().find(|f| f.name == "new_checkout_flow").unwrap();
/// assert!(flag.defined);
/// assert!(flag.last_evaluated.is_none(), "no request asked yet");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct FlagInventory {
    /// The flag's name.
    pub name: String,
    /// Whether the served flags define it.
    pub defined: bool,
    /// Where the code refers to it (gates and typed keys).
    pub call_sites: Vec<&'static FlagUse>,
    /// Requests that asked for it, per route template.
    pub routes: BTreeMap<String, u64>,
    /// The first evaluation this process saw.
    pub first_evaluated: Option<DateTime<Utc>>,
    /// The last evaluation seen: this process's, or another instance's
    /// when they share a PostgreSQL store.
    pub last_evaluated: Option<DateTime<Utc>>,
    /// Requests per arm served (the variant, or `on` / `off`).
    pub arms: BTreeMap<String, u64>,
}

/// Builds the inventory: every flag defined, referred to by the code, or
/// evaluated, sorted by name. `fleet_last_seen` adds other instances'
/// last evaluations.
pub(crate) fn inventory(
    snapshot: &Snapshot,
    tracker: &Tracker,
    metrics: &MetricsSnapshot,
    fleet_last_seen: &BTreeMap<String, DateTime<Utc>>,
) -> Vec<FlagInventory> {
    let uses: Vec<&'static FlagUse> = registry().collect();
    let mut names: BTreeSet<String> = snapshot.names().map(str::to_owned).collect();
    names.extend(uses.iter().map(|u| u.name.to_owned()));
    names.extend(tracker.usage().flags());
    names
        .into_iter()
        .map(|name| {
            let evaluations = tracker.usage().of(&name);
            let last_evaluated = evaluations
                .last_evaluated
                .into_iter()
                .chain(fleet_last_seen.get(&name).copied())
                .max();
            let arms = metrics
                .flag(&name)
                .map(|stats| {
                    stats
                        .arms
                        .iter()
                        .map(|arm| (arm.arm.clone(), arm.requests))
                        .collect()
                })
                .unwrap_or_default();
            FlagInventory {
                defined: snapshot.lookup(&name).is_some(),
                call_sites: uses.iter().copied().filter(|u| u.name == name).collect(),
                routes: evaluations.routes,
                first_evaluated: evaluations.first_evaluated,
                last_evaluated,
                arms,
                name,
            }
        })
        .collect()
}

/// Why a flag is reported as potentially stale.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use flags_middleware::hygiene::{StaleOptions, StaleReason};
/// use flags_middleware::Flags;
///
/// let flags = Flags::from_toml_str("[old_banner]\nstale = true\nrollout = 5\n", "flags.toml").unwrap();
/// let now = flags.stale_flags(StaleOptions::new()).await.unwrap();
/// assert_eq!(now[0].reasons, [StaleReason::MarkedStale]);
/// // 40 days on, nothing has asked for it either.
/// let later = chrono::Utc::now() + chrono::Duration::days(40);
/// let later = flags.stale_flags(StaleOptions::new().at(later)).await.unwrap();
/// let not_evaluated = StaleReason::NotEvaluated { last_evaluated: None };
/// assert_eq!(later[0].reasons, [StaleReason::MarkedStale, not_evaluated]);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum StaleReason {
    /// It has served one arm to everyone since `since` (its last change in
    /// the audit log, or when this process started when the log has none).
    OneArm {
        /// The arm.
        arm: OneArm,
        /// Since when.
        since: DateTime<Utc>,
    },
    /// Not evaluated since `since` (or never since this process started,
    /// when `last_evaluated` is `None`).
    NotEvaluated {
        /// The last evaluation seen.
        last_evaluated: Option<DateTime<Utc>>,
    },
    /// Defined, but no gate or typed key in the code refers to it. Reported
    /// only when the program registers at least one gate or key: a program
    /// with none is not taken to use no flags.
    NotInCode,
    /// Marked `stale` in its definition (Unleash's field).
    MarkedStale,
}

/// A flag that is potentially stale, with what to delete.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use flags_middleware::{hygiene::StaleOptions, Flags};
///
/// flags_middleware::flag!(OLD_BANNER = "old_banner");
/// let flags = Flags::from_toml_str("[old_banner]\nenabled = false\n[beta]\nrollout = 5\n", "flags.toml").unwrap();
/// let in_40_days = chrono::Utc::now() + chrono::Duration::days(40);
/// let stale = flags.stale_flags(StaleOptions::new().at(in_40_days)).await.unwrap();
/// let banner = stale.iter().find(|f| f.name == "old_banner").unwrap();
/// assert_eq!(banner.call_sites[0].item, "OLD_BANNER"); // the code to delete with it
/// assert!(banner.call_sites[0].file.ends_with(".rs"));
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct StaleFlag {
    /// The flag's name.
    pub name: String,
    /// Every reason that applies.
    pub reasons: Vec<StaleReason>,
    /// The code that refers to it: the call sites to delete with it.
    pub call_sites: Vec<&'static FlagUse>,
}

/// What the stale report needs besides the flags.
#[derive(Debug, Clone)]
pub(crate) struct StaleInputs<'a> {
    pub(crate) now: DateTime<Utc>,
    pub(crate) threshold: chrono::Duration,
    /// When this process started tracking (the fallback "since").
    pub(crate) started: DateTime<Utc>,
    /// The audit log, newest first (the first entry per flag is its last change).
    pub(crate) audit: &'a [AuditEntry],
    pub(crate) inventory: &'a [FlagInventory],
}

/// The defined flags that are potentially stale, sorted by name.
pub(crate) fn stale(snapshot: &Snapshot, inputs: &StaleInputs<'_>) -> Vec<StaleFlag> {
    // A threshold past the calendar's start (`?days=4294967295`) means
    // nothing has been one way that long.
    let cutoff = inputs
        .now
        .checked_sub_signed(inputs.threshold)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let mut last_change: BTreeMap<&str, DateTime<Utc>> = BTreeMap::new();
    for entry in inputs.audit {
        last_change.entry(entry.flag.as_str()).or_insert(entry.at);
    }
    let code_knows_flags = inputs.inventory.iter().any(|i| !i.call_sites.is_empty());
    let mut out = Vec::new();
    for feature in snapshot.features() {
        let Some(item) = inputs.inventory.iter().find(|i| i.name == feature.name) else {
            continue;
        };
        let mut reasons = Vec::new();
        if feature.stale {
            reasons.push(StaleReason::MarkedStale);
        }
        if let Some(arm) = one_arm(&feature) {
            let since = last_change
                .get(feature.name.as_str())
                .copied()
                .unwrap_or(inputs.started);
            if since <= cutoff {
                reasons.push(StaleReason::OneArm { arm, since });
            }
        }
        let seen = item.last_evaluated.unwrap_or(inputs.started);
        if seen <= cutoff {
            reasons.push(StaleReason::NotEvaluated {
                last_evaluated: item.last_evaluated,
            });
        }
        if code_knows_flags && item.call_sites.is_empty() {
            reasons.push(StaleReason::NotInCode);
        }
        if !reasons.is_empty() {
            out.push(StaleFlag {
                name: feature.name.clone(),
                reasons,
                call_sites: item.call_sites.clone(),
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// A flag the code refers to whose definition is on for everyone: the
/// gate's fallback (and variant functions) can be deleted, and the gate
/// with them.
///
/// ```
/// use flags_middleware::{feature_gated, FlagContext, Flags};
///
/// #[feature_gated("new_pricing", fallback = price_legacy)]
/// async fn price(flags: &FlagContext) -> u32 { 90 }
/// async fn price_legacy(flags: &FlagContext) -> u32 { 100 }
///
/// let toml = "[new_pricing]\nrollout = 100\n";
/// let dead = Flags::from_toml_str(toml, "flags.toml").unwrap().dead_code();
/// assert_eq!((dead[0].name.as_str(), dead[0].call_sites[0].item), ("new_pricing", "price"));
/// assert_eq!(dead[0].deletable, ["price_legacy"]);
/// // At 50% both functions still serve requests: nothing to delete.
/// let toml = "[new_pricing]\nrollout = 50\n";
/// assert!(Flags::from_toml_str(toml, "flags.toml").unwrap().dead_code().is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct DeadCode {
    /// The flag's name.
    pub name: String,
    /// The gates and keys that refer to it.
    pub call_sites: Vec<&'static FlagUse>,
    /// The functions no request reaches any more (fallbacks, and variant
    /// functions of a flag without variants).
    pub deletable: Vec<&'static str>,
}

/// The flags the code refers to that are on for everyone, sorted by name.
pub(crate) fn dead_code(snapshot: &Snapshot) -> Vec<DeadCode> {
    let mut out: Vec<DeadCode> = Vec::new();
    for site in registry() {
        let Some(feature) = snapshot.feature(site.name) else {
            continue;
        };
        if one_arm(&feature) != Some(OneArm::On) {
            continue;
        }
        let entry = match out.last_mut() {
            Some(last) if last.name == site.name => last,
            _ => {
                out.push(DeadCode {
                    name: site.name.to_owned(),
                    call_sites: Vec::new(),
                    deletable: Vec::new(),
                });
                out.last_mut().expect("just pushed")
            }
        };
        entry.call_sites.push(site);
        entry.deletable.extend(site.fallback);
        entry.deletable.extend(site.variant_fns.iter().copied());
    }
    out
}

/// Settings of [`Flags::stale_flags`](crate::Flags::stale_flags).
///
/// ```
/// use flags_middleware::hygiene::StaleOptions;
///
/// let options = StaleOptions::new().threshold_days(14);
/// assert_eq!(options.threshold(), chrono::Duration::days(14));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaleOptions {
    threshold: chrono::Duration,
    now: Option<DateTime<Utc>>,
}

impl Default for StaleOptions {
    fn default() -> Self {
        StaleOptions {
            threshold: chrono::Duration::days(30),
            now: None,
        }
    }
}

impl StaleOptions {
    /// 30 days, judged now.
    ///
    /// ```
    /// use flags_middleware::hygiene::StaleOptions;
    ///
    /// let options = StaleOptions::new();
    /// assert_eq!(options.threshold(), chrono::Duration::days(30));
    /// assert_eq!(options, StaleOptions::default());
    /// ```
    pub fn new() -> Self {
        StaleOptions::default()
    }

    /// How long a flag must have served one arm to everyone, or gone
    /// unevaluated, to be reported.
    ///
    /// ```
    /// use flags_middleware::hygiene::StaleOptions;
    ///
    /// assert_eq!(StaleOptions::new().threshold_days(7).threshold().num_days(), 7);
    /// ```
    #[must_use]
    pub fn threshold(self) -> chrono::Duration {
        self.threshold
    }

    /// Sets the threshold in days.
    ///
    /// ```
    /// use flags_middleware::{hygiene::StaleOptions, Flags};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[old]\nenabled = false\n", "flags.toml").unwrap();
    /// let in_10_days = chrono::Utc::now() + chrono::Duration::days(10);
    /// let month = flags.stale_flags(StaleOptions::new().at(in_10_days)).await.unwrap();
    /// assert!(month.is_empty()); // off for 10 days only
    /// let week = StaleOptions::new().threshold_days(7).at(in_10_days);
    /// assert_eq!(flags.stale_flags(week).await.unwrap()[0].name, "old");
    /// # }
    /// ```
    #[must_use]
    pub fn threshold_days(mut self, days: u32) -> Self {
        self.threshold = chrono::Duration::days(i64::from(days));
        self
    }

    /// Judges as if it were `now` (for tests and reports of the past).
    ///
    /// ```
    /// use flags_middleware::{hygiene::StaleOptions, Flags};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[old]\nenabled = false\n", "flags.toml").unwrap();
    /// assert!(flags.stale_flags(StaleOptions::new()).await.unwrap().is_empty());
    /// let next_quarter = chrono::Utc::now() + chrono::Duration::days(90);
    /// let then = flags.stale_flags(StaleOptions::new().at(next_quarter)).await.unwrap();
    /// assert_eq!(then[0].name, "old");
    /// # }
    /// ```
    #[must_use]
    pub fn at(mut self, now: DateTime<Utc>) -> Self {
        self.now = Some(now);
        self
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.now.unwrap_or_else(Utc::now)
    }
}
