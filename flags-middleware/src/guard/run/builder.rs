//! [`GuardBuilder`]: what a [`Guard`] reads, where it writes, its clock,
//! and the flags it watches from the start.

use std::fmt;
use std::sync::{Arc, Mutex};

use std::time::Duration;

use flags_core::guard::{GuardConfig, Plan};

use super::action::Applier;
use super::flags_applier::FlagsApplier;
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
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::guard::{Guard, ManualClock};
    /// use flags_middleware::Flags;
    ///
    /// # let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
    /// let clock = ManualClock::new(); // 2025-01-01T00:00:00Z
    /// let guard = Guard::for_flags(&flags).clock(clock.clone()).build();
    /// clock.advance(Duration::from_secs(60));
    /// assert_eq!(guard.snapshot().at_ms, 1_735_689_660_000);
    /// ```
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// How often [`Guard::spawn`]'s task checks. Default: every second
    /// (at least 10 ms).
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::guard::Guard;
    /// use flags_middleware::Flags;
    ///
    /// # let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
    /// let every = |d| Guard::for_flags(&flags).interval(d).build().snapshot().interval;
    /// assert_eq!(every(Duration::from_secs(5)), Duration::from_secs(5));
    /// assert_eq!(every(Duration::ZERO), Duration::from_millis(10));
    /// ```
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
    ///
    /// ```
    /// use flags_middleware::guard::{FlagsApplier, Guard, ManualCounts};
    /// use flags_middleware::Flags;
    ///
    /// let toml = "[f]\nrollout = 5\nguard = { min_requests = 200 }\n[g]\nrollout = 5\n";
    /// let flags = Flags::from_toml_str(toml, "flags.toml").unwrap();
    /// let guard = Guard::builder(ManualCounts::new(), FlagsApplier::new(flags.clone()))
    ///     .follow(&flags)
    ///     .build();
    /// let snapshot = guard.snapshot();
    /// assert_eq!(snapshot.flag("f").unwrap().config.settings().min_requests, 200);
    /// assert!(snapshot.flag("g").is_none()); // its definition does not opt in
    /// ```
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
    ///
    /// Two instances sharing a table, each judging on both's traffic:
    ///
    /// ```
    /// use flags_middleware::guard::fleet::MemoryFleet;
    /// use flags_middleware::guard::{FlagsApplier, Guard, GuardConfig, ManualClock, ManualCounts, Side};
    /// use flags_middleware::Flags;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
    /// let clock = ManualClock::new();
    /// let table = MemoryFleet::new(clock.clone());
    /// let guard = |name: &str, counts: &ManualCounts| {
    ///     Guard::builder(counts.clone(), FlagsApplier::new(flags.clone()))
    ///         .clock(clock.clone())
    ///         .shared_counts(table.instance(name))
    ///         .watch("f", GuardConfig::new())
    ///         .build()
    /// };
    /// let (a, b) = (ManualCounts::new(), ManualCounts::new());
    /// let (web1, web2) = (guard("web-1", &a), guard("web-2", &b));
    /// web1.check().await;
    /// web2.check().await;
    /// a.add("f", Side::New, 30, 0);
    /// b.add("f", Side::New, 12, 0);
    /// web1.check().await;
    /// web2.check().await;
    /// let f = web2.snapshot().flag("f").unwrap().clone();
    /// assert!(f.fleet);
    /// assert_eq!(f.window.new.requests, 42);
    /// # }
    /// ```
    pub fn shared_counts(mut self, table: impl SharedCounts) -> Self {
        self.fleet = Some(Arc::new(table));
        self
    }

    /// Judges on this instance's traffic only, even with flags from
    /// [`Flags::from_postgres`].
    ///
    /// ```
    /// use flags_middleware::guard::fleet::MemoryFleet;
    /// use flags_middleware::guard::{FlagsApplier, Guard, GuardConfig, ManualClock, ManualCounts};
    /// use flags_middleware::Flags;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
    /// let clock = ManualClock::new();
    /// let guard = Guard::builder(ManualCounts::new(), FlagsApplier::new(flags))
    ///     .clock(clock.clone())
    ///     .shared_counts(MemoryFleet::new(clock))
    ///     .local_counts() // the last word wins
    ///     .watch("f", GuardConfig::new())
    ///     .build();
    /// guard.check().await;
    /// assert!(!guard.snapshot().flag("f").unwrap().fleet);
    /// # }
    /// ```
    pub fn local_counts(mut self) -> Self {
        self.fleet = None;
        self
    }

    /// Watches `flag`.
    ///
    /// ```
    /// use flags_middleware::guard::{Guard, GuardConfig};
    /// use flags_middleware::Flags;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let flags = Flags::from_toml_str("[f]\nrollout = 5\n[g]\nrollout = 5\n", "flags.toml")?;
    /// let guard = Guard::for_flags(&flags)
    ///     .watch("f", GuardConfig::new().max_error_rate(0.1)?)
    ///     .watch("g", GuardConfig::new())
    ///     .build();
    /// let snapshot = guard.snapshot();
    /// assert_eq!(snapshot.flag("f").unwrap().config.settings().max_error_rate, 0.1);
    /// assert!(snapshot.flag("f").unwrap().plan.is_none());
    /// assert_eq!(snapshot.flags.len(), 2);
    /// # Ok(()) }
    /// ```
    pub fn watch(mut self, flag: impl Into<String>, config: GuardConfig) -> Self {
        self.flags.push((flag.into(), config, None));
        self
    }

    /// Watches `flag` and walks `plan`; the first step is applied at the
    /// first check.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::guard::{EventKind, Guard, GuardConfig, ManualClock, Plan};
    /// use flags_middleware::Flags;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let flags = Flags::from_toml_str("[f]\nrollout = 0\n", "flags.toml")?;
    /// let hour = Duration::from_secs(3600);
    /// let guard = Guard::for_flags(&flags)
    ///     .clock(ManualClock::new())
    ///     .plan("f", GuardConfig::new(), Plan::new().step(10, hour)?.step(100, hour)?)
    ///     .build();
    /// let events = guard.check().await;
    /// assert_eq!(events[0].kind, EventKind::Advanced { from: None, to: 10, step: 1, of: 2 });
    /// # Ok(()) }
    /// ```
    pub fn plan(mut self, flag: impl Into<String>, config: GuardConfig, plan: Plan) -> Self {
        self.flags.push((flag.into(), config, Some(plan)));
        self
    }

    /// The guard; nothing runs until [`Guard::spawn`] or [`Guard::check`].
    ///
    /// ```
    /// use flags_middleware::guard::{Guard, GuardConfig, ManualClock, Plan, PlanStatus};
    /// use flags_middleware::Flags;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let flags = Flags::from_toml_str("[f]\nrollout = 0\n", "flags.toml").unwrap();
    /// let guard = Guard::for_flags(&flags)
    ///     .clock(ManualClock::new())
    ///     .plan("f", GuardConfig::new(), Plan::gradual())
    ///     .build();
    /// let status = |g: &Guard| g.snapshot().flag("f").unwrap().plan.as_ref().unwrap().status;
    /// assert_eq!((guard.snapshot().checks, status(&guard)), (0, PlanStatus::Pending));
    /// guard.check().await;
    /// assert_eq!((guard.snapshot().checks, status(&guard)), (1, PlanStatus::Running));
    /// # }
    /// ```
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
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::guard::{FlagsApplier, Guard, GuardConfig, ManualClock, ManualCounts, Side};
    /// use flags_middleware::Flags;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
    /// // Requests counted by the app itself (a queue consumer, say).
    /// let (counts, clock) = (ManualCounts::new(), ManualClock::new());
    /// let guard = Guard::builder(counts.clone(), FlagsApplier::new(flags))
    ///     .clock(clock.clone())
    ///     .watch("f", GuardConfig::new())
    ///     .build();
    /// guard.check().await;
    /// counts.record("f", Side::New, true, Duration::from_millis(30));
    /// clock.advance(Duration::from_secs(5));
    /// guard.check().await;
    /// let window = guard.snapshot().flag("f").unwrap().window;
    /// assert_eq!((window.new.requests, window.new.bad), (1, 1));
    /// # }
    /// ```
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
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::guard::{Guard, ManualClock};
    /// use flags_middleware::Flags;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[f]\nrollout = 5\nguard = true\n", "flags.toml").unwrap();
    /// let clock = ManualClock::new();
    /// let guard = Guard::for_flags(&flags).clock(clock.clone()).build(); // watches `f`
    /// guard.check().await;
    /// // What the layer records for each request that asked for `f`.
    /// flags.metrics().record("f", "on", 503, Duration::from_millis(8));
    /// flags.metrics().record("f", "off", 200, Duration::from_millis(5));
    /// clock.advance(Duration::from_secs(5));
    /// guard.check().await;
    /// let window = guard.snapshot().flag("f").unwrap().window;
    /// assert_eq!((window.new.bad, window.old.requests), (1, 1));
    /// # }
    /// ```
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
