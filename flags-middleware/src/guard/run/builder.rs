//! [`GuardBuilder`]: what a [`Guard`] reads, where it writes, its clock,
//! and the flags it watches from the start.

use std::fmt;
use std::sync::{Arc, Mutex};

use std::time::Duration;

use flags_core::guard::{GuardConfig, Plan};

use super::action::{Applier, FlagsApplier};
use super::guard::{Guard, Shared, State, Watched};
use crate::guard::clock::{Clock, SystemClock};
use crate::guard::detect::CountSource;
use crate::guard::fleet::SharedCounts;
use crate::guard::plan::PlanRun;
use crate::Flags;

/// Builds a [`Guard`]: from [`Guard::for_flags`] (the layer's counters,
/// changes to the same flags) or [`Guard::builder`] (any [`CountSource`]
/// and [`Applier`]).
///
/// ```
/// use std::time::Duration;
/// use flags_middleware::guard::{FlagsApplier, Guard, GuardConfig, ManualClock, ManualCounts};
/// use flags_middleware::Flags;
///
/// let toml = "[f]\nrollout = 5\n[g]\nrollout = 50\n";
/// let flags = Flags::from_toml_str(toml, "flags.toml").unwrap();
/// let guard = Guard::builder(ManualCounts::new(), FlagsApplier::new(flags))
///     .clock(ManualClock::new())
///     .interval(Duration::from_millis(500))
///     .watch("f", GuardConfig::new().min_requests(200))
///     .build();
/// let snapshot = guard.snapshot();
/// assert_eq!(snapshot.interval, Duration::from_millis(500));
/// assert_eq!(snapshot.flag("f").unwrap().config.settings().min_requests, 200);
/// assert!(snapshot.flag("g").is_none()); // only the flags it was told to watch
/// ```
#[must_use]
pub struct GuardBuilder {
    source: Arc<dyn CountSource>,
    applier: Arc<dyn Applier>,
    clock: Arc<dyn Clock>,
    interval: Duration,
    flags: Vec<(String, GuardConfig, Option<Plan>)>,
    definitions: Option<Flags>,
    fleet: Option<Arc<dyn SharedCounts>>,
}

impl fmt::Debug for GuardBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardBuilder")
            .field("clock", &self.clock)
            .field("interval", &self.interval)
            .field("flags", &self.flags)
            .finish_non_exhaustive()
    }
}

impl GuardBuilder {
    /// Where time comes from. Default: the system clock.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// How often [`Guard::spawn`]'s task checks. Default: every second
    /// (at least 10 ms).
    pub fn interval(mut self, every: Duration) -> Self {
        self.interval = every.max(Duration::from_millis(10));
        self
    }

    /// Also watches every flag whose definition in `flags` asks for it
    /// (`guard = {..}` or `plan = [..]` in TOML, `guard`/`plan` in JSON),
    /// following changes to the definitions at each check: a flag that
    /// opts in through the admin API or a database row is watched within a
    /// check, and its plan stands where the flag's rollout percentage says.
    /// [`Guard::for_flags`] does this for its flags. Flags watched in code
    /// ([`watch`](Self::watch), [`plan`](Self::plan)) keep their code settings.
    pub fn follow(mut self, flags: &Flags) -> Self {
        self.definitions = Some(flags.clone());
        self
    }

    /// Judges on the whole fleet's traffic: at every check, hands this
    /// instance's counts to `table` and judges on the sums of every
    /// instance sharing it (see [`fleet`](crate::guard::fleet)); on its own
    /// traffic while the table is unreachable. [`Guard::for_flags`] does
    /// this by itself with flags from [`Flags::from_postgres`]. Without
    /// one (the default), the guard judges on this instance's traffic.
    pub fn shared_counts(mut self, table: impl SharedCounts) -> Self {
        self.fleet = Some(Arc::new(table));
        self
    }

    /// Judges on this instance's traffic only, even with flags from
    /// [`Flags::from_postgres`].
    pub fn local_counts(mut self) -> Self {
        self.fleet = None;
        self
    }

    /// Watches `flag`.
    pub fn watch(mut self, flag: impl Into<String>, config: GuardConfig) -> Self {
        self.flags.push((flag.into(), config, None));
        self
    }

    /// Watches `flag` and walks `plan`; the first step is applied at the
    /// first check.
    pub fn plan(mut self, flag: impl Into<String>, config: GuardConfig, plan: Plan) -> Self {
        self.flags.push((flag.into(), config, Some(plan)));
        self
    }

    /// The guard; nothing runs until [`Guard::spawn`] or [`Guard::check`].
    pub fn build(self) -> Guard {
        let now = self.clock.now();
        let mut state = State::default();
        for (flag, config, plan) in self.flags {
            let mut w = Watched::new(config);
            w.plan = plan.map(|p| PlanRun::pending(p, now));
            state.flags.insert(flag, w);
        }
        Guard {
            shared: Arc::new(Shared {
                source: self.source,
                applier: self.applier,
                clock: self.clock,
                interval: self.interval,
                state: Mutex::new(state),
                definitions: self.definitions,
                ops: tokio::sync::Mutex::new(()),
                fleet: self.fleet,
                fleet_up: std::sync::atomic::AtomicBool::new(true),
            }),
        }
    }
}

impl Guard {
    /// A guard reading counts from `source` and changing flags through
    /// `applier`.
    pub fn builder(source: impl CountSource, applier: impl Applier) -> GuardBuilder {
        GuardBuilder {
            source: Arc::new(source),
            applier: Arc::new(applier),
            clock: Arc::new(SystemClock),
            interval: Duration::from_secs(1),
            flags: Vec::new(),
            definitions: None,
            fleet: None,
        }
    }

    /// A guard for `flags`: it reads the counters the layer keeps
    /// ([`Flags::metrics`]), applies its actions to `flags`
    /// ([`FlagsApplier`](FlagsApplier)), and watches the flags
    /// whose definitions opt in ([`GuardBuilder::follow`]). With flags from
    /// [`Flags::from_postgres`], it judges on the whole fleet's traffic
    /// through the database ([`GuardBuilder::shared_counts`] with a
    /// [`PostgresFleet`](crate::guard::fleet::PostgresFleet); opt out with
    /// [`GuardBuilder::local_counts`]).
    pub fn for_flags(flags: &Flags) -> GuardBuilder {
        let builder =
            Guard::builder(flags.metrics().clone(), FlagsApplier::new(flags.clone())).follow(flags);
        #[cfg(feature = "postgres")]
        if let Some(config) = flags.postgres_config() {
            return builder.shared_counts(crate::guard::fleet::PostgresFleet::new(config.clone()));
        }
        builder
    }
}
