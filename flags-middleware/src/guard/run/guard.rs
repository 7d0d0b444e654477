//! [`Guard`], the handle: what it holds (the watched flags, their windows
//! and plans, the recent events) and how flags come under watch. What it
//! does is in the sibling files: `check` (judge and act), `control` (an
//! operator's plan operations), `follow` (the definitions' opt-ins),
//! `snapshot`, `task`.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use flags_core::guard::GuardConfig;

use super::action::Applier;
use super::tally::FleetTally;
use crate::guard::clock::Clock;
use crate::guard::detect::FlagCounts;
use crate::guard::detect::{CountSource, Verdict, Window};
use crate::guard::event::GuardEvent;
pub(super) use crate::guard::fleet::serving;
use crate::guard::fleet::SharedCounts;
use crate::guard::plan::PlanRun;
use crate::model::{Feature, GuardSpec, PlanSpec};
use crate::Flags;

/// The rollout guard: watches flags, kills a flag whose new arm is worse,
/// and walks progressive plans.
///
/// Cloning is cheap; clones share the state. See the [module
/// docs](crate::guard) for a guard beside the layer; here one fed by hand
/// kills a flag whose new arm starts failing:
///
/// ```
/// use std::time::Duration;
/// use flags_middleware::guard::{
///     FlagsApplier, Guard, GuardConfig, ManualClock, ManualCounts, Side,
/// };
/// use flags_middleware::{Context, Flags};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
/// let users_on = |flags: &Flags| {
///     (0..1000).filter(|i| flags.is_enabled("f", &Context::new().user_id(format!("u{i}")))).count()
/// };
/// assert!(users_on(&flags) > 0);
/// let (counts, clock) = (ManualCounts::new(), ManualClock::new());
/// let guard = Guard::builder(counts.clone(), FlagsApplier::new(flags.clone()))
///     .clock(clock.clone())
///     .watch("f", GuardConfig::new())
///     .build();
/// guard.check().await;
/// // Five seconds in which the new arm fails 30% of its requests, the old 0.5%.
/// counts.add("f", Side::New, 50, 15);
/// counts.add("f", Side::Old, 950, 5);
/// clock.advance(Duration::from_secs(5));
/// guard.check().await;
/// assert_eq!(users_on(&flags), 0);
/// assert_eq!(guard.snapshot().flag("f").unwrap().kills, 1);
/// # }
/// ```
#[derive(Clone)]
pub struct Guard {
    pub(super) shared: Arc<Shared>,
}

pub(super) struct Shared {
    pub(super) source: Arc<dyn CountSource>,
    pub(super) applier: Arc<dyn Applier>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) interval: Duration,
    pub(super) state: Mutex<State>,
    /// Flags whose definitions say which flags to watch (`guard`, `plan`).
    pub(super) definitions: Option<Flags>,
    /// Serializes checks and control operations, so that an action decided
    /// on a state is committed before anything else looks at that state.
    pub(super) ops: tokio::sync::Mutex<()>,
    /// The counts the fleet shares, if any: the guard then judges on the
    /// fleet's sums (on its own traffic while they are unreachable).
    pub(super) fleet: Option<Arc<dyn SharedCounts>>,
    /// Whether the last exchange with the fleet worked (logged on change).
    pub(super) fleet_up: std::sync::atomic::AtomicBool,
}

#[derive(Default)]
pub(super) struct State {
    pub(super) flags: BTreeMap<String, Watched>,
    pub(super) events: VecDeque<GuardEvent>,
    pub(super) checks: u64,
    /// The definitions' version last followed.
    pub(super) followed: Option<u64>,
}

pub(super) struct Watched {
    pub(super) config: GuardConfig,
    pub(super) window: Window,
    pub(super) last: Option<Verdict>,
    pub(super) plan: Option<PlanRun>,
    pub(super) kills: u64,
    pub(super) origin: Origin,
    /// The flag's definition as last followed: kills and plan steps are
    /// made only while it is still the live one.
    pub(super) definition: Option<Feature>,
    /// Whether this guard changed the definition since it last followed
    /// it (a kill, a plan step), at the end of a check: its window's last
    /// read was then taken under the old definition a moment before.
    pub(super) changed_here: bool,
    /// The totals last handed to the fleet (`None`: the next read only sets
    /// the baseline).
    pub(super) published: Option<FlagCounts>,
    /// The fleet's window at the last check, when it was judged on it.
    pub(super) fleet: Option<Window>,
    /// New-arm requests this instance served since the last check: the
    /// plan's step count when the fleet's sums are not there to count.
    pub(super) own_new: u64,
    /// What the plan's step count has taken of the fleet's sums.
    pub(super) tally: FleetTally,
}

/// Who asked the guard to watch a flag.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Origin {
    /// The code, through the builder or [`Guard::watch`]; the definitions
    /// do not override it.
    Code,
    /// The flag's definition, with the settings it carried when last followed.
    Definition {
        guard: Option<Box<GuardSpec>>,
        plan: Option<Box<PlanSpec>>,
    },
}

impl Watched {
    /// Whether the definition holds the plan (`paused`), so that not even
    /// its first step is taken.
    pub(super) fn held(&self) -> bool {
        matches!(&self.origin, Origin::Definition { plan: Some(p), .. } if p.paused)
    }

    /// Whether the flag is known to be off: nothing to kill.
    pub(super) fn known_off(&self) -> bool {
        self.definition.as_ref().is_some_and(|d| !d.enabled)
    }
}

impl Watched {
    pub(super) fn new(config: GuardConfig) -> Watched {
        Watched {
            window: window_for(&config),
            config,
            last: None,
            plan: None,
            kills: 0,
            origin: Origin::Code,
            definition: None,
            changed_here: false,
            published: None,
            fleet: None,
            own_new: 0,
            tally: FleetTally::default(),
        }
    }
}

pub(super) fn window_for(config: &GuardConfig) -> Window {
    Window::new(
        config.settings().window,
        config.settings().bucket,
        config.settings().latency.is_some(),
    )
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("Guard")
            .field("clock", &self.shared.clock)
            .field("interval", &self.shared.interval)
            .field("flags", &state.flags.keys().collect::<Vec<_>>())
            .field("checks", &state.checks)
            .finish_non_exhaustive()
    }
}

impl Guard {
    pub(super) fn state(&self) -> MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Watches `flag` with `config` (replacing an earlier config, and
    /// starting its window afresh; a plan is kept).
    ///
    /// ```
    /// use flags_middleware::guard::{Guard, GuardConfig};
    /// use flags_middleware::Flags;
    ///
    /// let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
    /// let guard = Guard::for_flags(&flags).build();
    /// assert!(guard.snapshot().flag("f").is_none());
    /// guard.watch("f", GuardConfig::new().min_requests(500)); // e.g. from a config reload
    /// assert_eq!(guard.snapshot().flag("f").unwrap().config.settings().min_requests, 500);
    /// ```
    pub fn watch(&self, flag: impl Into<String>, config: GuardConfig) {
        let mut state = self.state();
        let flag = flag.into();
        match state.flags.get_mut(&flag) {
            Some(w) => {
                w.window = window_for(&config);
                w.config = config;
                w.origin = Origin::Code;
            }
            None => {
                state.flags.insert(flag, Watched::new(config));
            }
        }
    }

    /// Stops watching `flag` (and drops its plan); whether it was watched.
    ///
    /// ```
    /// use flags_middleware::guard::{Guard, GuardConfig};
    /// use flags_middleware::Flags;
    ///
    /// let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
    /// let guard = Guard::for_flags(&flags).watch("f", GuardConfig::new()).build();
    /// assert!(guard.unwatch("f"));
    /// assert!(!guard.unwatch("f"));
    /// assert!(guard.snapshot().flags.is_empty());
    /// ```
    pub fn unwatch(&self, flag: &str) -> bool {
        self.state().flags.remove(flag).is_some()
    }
}
