//! The immutable, compiled flag set that answers evaluations.

use std::sync::Arc;

use super::compile::{hostname, CompiledDep, CompiledFlag, Compiler, Mode, SegmentTable};
use super::dependencies;
use super::evaluation::{Decision, Evaluation, Reason, Variant, VariantPick};
use super::index::Index;
use super::variant::{Arm, Pick, VariantSet};
use crate::error::{LoadError, LoadErrors};
use crate::model::FlagSet;

pub use super::change::Change;
use crate::Context;

mod definitions;
mod low_level;

/// A compiled, immutable flag set. Evaluation never blocks, never panics, and
/// on the common strategies never allocates.
///
/// ```
/// use flags_core::{Context, Snapshot, model::FlagSet};
///
/// let set = FlagSet::from_unleash_json(r#"{"features": [
///   {"name": "beta", "enabled": true, "strategies": [
///     {"name": "userWithId", "parameters": {"userIds": "ann, bob"}}]}
/// ]}"#).unwrap();
/// let snap = Snapshot::compile(&set, Default::default(), "example").unwrap();
/// assert!(snap.is_enabled("beta", &Context::new().user_id("ann")));
/// assert!(!snap.is_enabled("beta", &Context::new().user_id("eve")));
/// ```
#[derive(Debug, Clone)]
pub struct Snapshot {
    version: u64,
    index: Index,
    flags: Vec<Arc<CompiledFlag>>,
    segments: Arc<SegmentTable>,
    hostname: Arc<str>,
}

/// A flag's position in one snapshot; cheap to store and compare. Look a
/// flag up once, then decide it by id.
///
/// ```
/// use flags_core::{format::toml, engine::Mode, Context, Snapshot};
///
/// let set = toml::parse("[a]\nenabled = true\n", "flags.toml").unwrap();
/// let snapshot = Snapshot::compile(&set, Mode::Strict, "flags.toml").unwrap();
/// let id = snapshot.lookup("a").expect("defined");
/// assert!(snapshot.decide(Some(id), &Context::new()).enabled);
/// assert_eq!(snapshot.lookup("missing"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlagId(u32);

impl FlagId {
    /// The flag's position in its snapshot, from 0 to
    /// [`Snapshot::len`] (exclusive): an index for tables kept per flag
    /// alongside one snapshot.
    ///
    /// ```
    /// use flags_core::{format::toml, engine::Mode, Snapshot};
    ///
    /// let set = toml::parse("[a]\nenabled = true\n[b]\nenabled = true\n", "flags.toml").unwrap();
    /// let snapshot = Snapshot::compile(&set, Mode::Strict, "flags.toml").unwrap();
    /// let id = snapshot.lookup("b").unwrap();
    /// assert!(id.index() < snapshot.len());
    /// assert_eq!(snapshot.name(id), Some("b"));
    /// ```
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// The id as a number, to store it where a `FlagId` cannot go (an
    /// atomic, beside a [`Decision::to_bits`](crate::engine::Decision::to_bits)).
    ///
    /// ```
    /// use flags_core::{format::toml, engine::{FlagId, Mode}, Snapshot};
    ///
    /// let set = toml::parse("[a]\nenabled = true\n", "flags.toml").unwrap();
    /// let snapshot = Snapshot::compile(&set, Mode::Strict, "flags.toml").unwrap();
    /// let id = snapshot.lookup("a").unwrap();
    /// assert_eq!(FlagId::from_bits(id.to_bits()), id);
    /// ```
    pub fn to_bits(self) -> u32 {
        self.0
    }

    /// The id [`FlagId::to_bits`] gave. Any number makes an id: one that
    /// names no flag of a snapshot is unknown to it (decided off, no name).
    ///
    /// ```
    /// # use flags_core::{engine::FlagId, Context, Snapshot};
    /// let empty = Snapshot::default();
    /// assert_eq!(empty.name(FlagId::from_bits(7)), None);
    /// assert!(!empty.decide(Some(FlagId::from_bits(7)), &Context::new()).enabled);
    /// ```
    pub fn from_bits(bits: u32) -> FlagId {
        FlagId(bits)
    }
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot {
            version: 0,
            index: Index::default(),
            flags: Vec::new(),
            segments: Arc::default(),
            hostname: hostname().into(),
        }
    }
}

impl Snapshot {
    /// Compiles a whole flag set. `source` names it in errors.
    ///
    /// ```
    /// use flags_core::{engine::Mode, model::FlagSet, Context, Snapshot};
    ///
    /// let set = FlagSet::from_unleash_json(r#"{"features": [{"name": "a", "enabled": true,
    ///     "strategies": [{"name": "flexibleRollout", "parameters": {"rollout": "150"}}]}]}"#).unwrap();
    /// // Strict (files you write): every problem, by flag and field.
    /// let err = Snapshot::compile(&set, Mode::Strict, "flags.json").unwrap_err();
    /// assert_eq!(err.errors()[0].flag.as_deref(), Some("a"));
    /// assert_eq!(err.errors()[0].field.as_deref(), Some("strategies[0].parameters.rollout"));
    /// // Lenient (flags another system manages): loads, and the bad rule never matches.
    /// let lenient = Snapshot::compile(&set, Mode::Lenient, "flags.json").unwrap();
    /// assert!(!lenient.is_enabled("a", &Context::new().user_id("u1")));
    /// ```
    ///
    /// # Errors
    /// Every problem found, when `mode` is [`Mode::Strict`]; a lenient load
    /// fails only on duplicate flag names, or on a flag with more than
    /// 65,534 strategies or variants in one list.
    pub fn compile(set: &FlagSet, mode: Mode, source: &str) -> Result<Snapshot, LoadErrors> {
        let host = hostname();
        let mut c = Compiler {
            source,
            mode,
            hostname: &host,
            errors: Vec::new(),
            packer: Default::default(),
        };
        let segments = c.segments(&set.segments);
        let mut index = Index::with_capacity(set.features.len());
        let mut flags = Vec::with_capacity(set.features.len());
        for def in &set.features {
            flags.push(Arc::new(c.flag(def, &segments)));
            if !index.insert(&def.name, flags.len() as u32 - 1, &flags) {
                c.errors.push(
                    LoadError::new(source, "flag is defined twice")
                        .flag(&def.name)
                        .field("name"),
                );
            }
        }
        let snap = Snapshot {
            version: 0,
            index,
            flags,
            segments: Arc::new(segments),
            hostname: host.as_str().into(),
        };
        if mode == Mode::Strict {
            // A flag without parents has nothing to check (and no cycle
            // runs through it): most flags, so they are left out up front.
            let with_parents: Vec<_> = snap
                .flags
                .iter()
                .filter(|f| !f.deps.is_empty())
                .map(|f| (f.name(), &*f.deps))
                .collect();
            c.errors
                .extend(snap.check_dependencies(&with_parents, source));
        }
        if c.errors.is_empty() {
            Ok(snap)
        } else {
            Err(LoadErrors::from(c.errors))
        }
    }

    /// A new snapshot with `changes` applied, recompiling only what they touch
    /// (a segment change recompiles the flags that use the segment).
    ///
    /// ```
    /// use flags_core::{engine::{Change, Mode}, format::toml, model::Feature, Context, Snapshot};
    ///
    /// let set = toml::parse("[a]\n[b]\n", "flags.toml").unwrap();
    /// let old = Snapshot::compile(&set, Mode::Strict, "flags.toml").unwrap();
    /// let off = Change::Upsert(Feature { enabled: false, ..old.feature("a").unwrap() });
    /// let new = old.apply(&[off, Change::Remove("b".into())], Mode::Strict, "admin").unwrap();
    /// assert!(!new.is_enabled("a", &Context::new()));
    /// assert_eq!(new.len(), 1);
    /// // The old snapshot answers as before: requests that pinned it are undisturbed.
    /// assert!(old.is_enabled("a", &Context::new()) && old.len() == 2);
    /// ```
    ///
    /// # Errors
    /// Every problem found; `self` is unchanged either way.
    pub fn apply(
        &self,
        changes: &[Change],
        mode: Mode,
        source: &str,
    ) -> Result<Snapshot, LoadErrors> {
        let mut c = Compiler {
            source,
            mode,
            hostname: &self.hostname,
            errors: Vec::new(),
            packer: Default::default(),
        };
        let mut next = self.clone();
        let mut touched_segments = Vec::new();
        let mut touched: Vec<String> = Vec::new();
        let mut removed: Vec<String> = Vec::new();
        for change in changes {
            match change {
                Change::UpsertSegment(s) => {
                    let mut one = c.segments(std::slice::from_ref(s));
                    if let Some(entry) = one.remove(&s.id) {
                        Arc::make_mut(&mut next.segments).insert(s.id, entry);
                    }
                    touched_segments.push(s.id);
                }
                Change::RemoveSegment(id) => {
                    Arc::make_mut(&mut next.segments).remove(id);
                    touched_segments.push(*id);
                }
                Change::Upsert(def) => {
                    let compiled = Arc::new(c.flag(def, &next.segments));
                    match next.index.get(&def.name, &next.flags) {
                        Some(i) => next.flags[i as usize] = compiled,
                        None => {
                            next.flags.push(compiled);
                            let pos = next.flags.len() as u32 - 1;
                            next.index.insert(&def.name, pos, &next.flags);
                        }
                    }
                    touched.push(def.name.clone());
                }
                Change::Remove(name) => {
                    if next.remove(name) {
                        removed.push(name.clone());
                    } else if mode == Mode::Strict {
                        c.errors
                            .push(LoadError::new(source, "no such flag").flag(name.as_str()));
                    }
                }
            }
        }
        if !touched_segments.is_empty() {
            for i in 0..next.flags.len() {
                if !next.flags[i].uses_segments {
                    continue;
                }
                let def = next.flags[i].feature();
                let uses = def
                    .strategies
                    .iter()
                    .any(|s| s.segments.iter().any(|id| touched_segments.contains(id)));
                if uses {
                    next.flags[i] = Arc::new(c.flag(&def, &next.segments));
                    touched.push(def.name);
                }
            }
        }
        if mode == Mode::Strict {
            let touched: Vec<_> = touched
                .iter()
                .filter_map(|name| next.flag_by_name(name))
                .map(|f| (f.name(), &*f.deps))
                .collect();
            c.errors.extend(next.check_dependencies(&touched, source));
            if !removed.is_empty() {
                for f in &next.flags {
                    for d in &f.deps {
                        if removed.iter().any(|r| **r == *d.parent) {
                            c.errors.push(
                                LoadError::new(
                                    source,
                                    format!(
                                        "cannot remove `{}`: `{}` depends on it",
                                        d.parent,
                                        f.name()
                                    ),
                                )
                                .flag(&*d.parent),
                            );
                        }
                    }
                }
            }
        }
        if c.errors.is_empty() {
            Ok(next)
        } else {
            Err(LoadErrors::from(c.errors))
        }
    }

    fn remove(&mut self, name: &str) -> bool {
        let Some(i) = self.index.get(name, &self.flags) else {
            return false;
        };
        let index = &mut self.index;
        index.remove(name, &self.flags);
        let last = self.flags.len() as u32 - 1;
        self.flags.swap_remove(i as usize);
        if let Some(moved) = self.flags.get(i as usize) {
            index.moved(moved.name(), last, i);
        }
        true
    }

    /// The dependency checks for `flags`, against this snapshot.
    fn check_dependencies(&self, flags: &[(&str, &[CompiledDep])], source: &str) -> Vec<LoadError> {
        dependencies::check(
            flags,
            |name| self.flag_by_name(name).map(|f| &*f.deps),
            source,
        )
    }

    #[inline]
    fn flag_by_name(&self, name: &str) -> Option<&Arc<CompiledFlag>> {
        self.index.flag(name, &self.flags)
    }

    /// Whether `name` is on for `ctx`. Unknown flags are off.
    ///
    /// ```
    /// use flags_core::{engine::Mode, format::toml, Context, Snapshot};
    ///
    /// let set = toml::parse("[beta]\nwhen = { plan = \"pro\" }\n", "flags.toml").unwrap();
    /// let snapshot = Snapshot::compile(&set, Mode::Strict, "flags.toml").unwrap();
    /// assert!(snapshot.is_enabled("beta", &Context::new().property("plan", "pro")));
    /// assert!(!snapshot.is_enabled("beta", &Context::new().property("plan", "free")));
    /// assert!(!snapshot.is_enabled("no_such_flag", &Context::new()));
    /// ```
    #[inline]
    pub fn is_enabled(&self, name: &str, ctx: &Context) -> bool {
        match self.flag_by_name(name) {
            Some(f) => self.decide_flag(f, ctx, false).enabled,
            None => false,
        }
    }

    /// The variant of `name` for `ctx` (`disabled` when none).
    ///
    /// ```
    /// use flags_core::{engine::Mode, format::toml, Context, Snapshot};
    ///
    /// let set = toml::parse("[exp]\nvariants = { blue = 50, green = 50 }\n", "flags.toml").unwrap();
    /// let snapshot = Snapshot::compile(&set, Mode::Strict, "flags.toml").unwrap();
    /// let ann = Context::new().user_id("ann");
    /// let arm = snapshot.variant("exp", &ann).name;
    /// // Sticky by user id: the same arm from another session, another device.
    /// let elsewhere = Context::new().user_id("ann").session_id("s-2").property("device", "phone");
    /// assert_eq!(snapshot.variant("exp", &elsewhere).name, arm);
    /// assert_eq!(snapshot.variant("no_such_flag", &ann).name, "disabled");
    /// ```
    #[inline]
    pub fn variant<'a>(&'a self, name: &str, ctx: &Context) -> Variant<'a> {
        match self.flag_by_name(name) {
            Some(f) => {
                let d = self.decide_flag(f, ctx, true);
                self.variant_of(f, &d)
            }
            None => Variant::none(false),
        }
    }

    /// Everything about one evaluation: value, variant, reason, version.
    ///
    /// ```
    /// use flags_core::engine::{ErrorCode, Mode};
    /// use flags_core::{format::toml, Context, Reason, Snapshot};
    ///
    /// let set = toml::parse("[a]\nusers = [\"ann\"]\n", "flags.toml").unwrap();
    /// let snapshot = Snapshot::compile(&set, Mode::Strict, "flags.toml").unwrap();
    /// let ann = snapshot.evaluate("a", &Context::new().user_id("ann"));
    /// assert!(ann.enabled);
    /// assert_eq!(ann.reason, Reason::TargetingMatch);
    /// let typo = snapshot.evaluate("b", &Context::new());
    /// assert_eq!((typo.enabled, typo.error), (false, Some(ErrorCode::FlagNotFound)));
    /// ```
    pub fn evaluate<'a>(&'a self, name: &'a str, ctx: &Context) -> Evaluation<'a> {
        let id = self.lookup(name);
        self.evaluation(name, id, &self.decide(id, ctx))
    }

    /// Evaluates every flag for `ctx` (variants included), in no particular order.
    ///
    /// ```
    /// use flags_core::{engine::Mode, format::toml, Context, Snapshot};
    ///
    /// let text = "[a]\nusers = [\"ann\"]\n[b]\nenabled = false\n[c]\n";
    /// let snapshot = Snapshot::compile(&toml::parse(text, "flags.toml").unwrap(), Mode::Strict, "x").unwrap();
    /// let ctx = Context::new().user_id("ann");
    /// let mut on: Vec<&str> = snapshot.evaluate_all(&ctx).filter(|e| e.enabled).map(|e| e.key).collect();
    /// on.sort();
    /// assert_eq!(on, ["a", "c"]);
    /// ```
    pub fn evaluate_all<'a>(
        &'a self,
        ctx: &'a Context,
    ) -> impl Iterator<Item = Evaluation<'a>> + 'a {
        self.flags.iter().map(move |f| {
            let d = self.decide_flag(f, ctx, true);
            Evaluation {
                key: f.name(),
                enabled: d.enabled,
                variant: self.variant_of(f, &d),
                reason: d.reason,
                error: d.error,
                random: d.random,
                version: self.version,
            }
        })
    }

    fn variant_of<'a>(&'a self, f: &'a CompiledFlag, d: &Decision) -> Variant<'a> {
        let Some(pick) = d.variant else {
            return Variant::none(d.enabled);
        };
        let set = if pick.owner == u16::MAX {
            f.variants.as_deref()
        } else {
            f.strategies
                .get(pick.owner as usize)
                .and_then(|s| s.variants.as_deref())
        };
        match set.and_then(|s| s.arm(pick.index)) {
            Some(arm) => arm_variant(arm),
            None => Variant::none(d.enabled),
        }
    }

    fn decide_flag(&self, f: &CompiledFlag, ctx: &Context, with_variant: bool) -> Decision {
        let off = |reason| Decision {
            enabled: false,
            reason,
            error: None,
            random: false,
            variant: None,
        };
        if !f.enabled {
            return off(Reason::Disabled);
        }
        let mut parents_random = false;
        if !f.deps.is_empty() {
            let (met, random) = self.dependencies_met(f, ctx);
            if !met {
                return Decision {
                    random,
                    ..off(Reason::Default)
                };
            }
            parents_random = random;
        }
        let (reason, random, owner) = if f.strategies.is_empty() {
            (Reason::Static, false, None)
        } else {
            let mut found = None;
            let (mut rolled, mut split) = (false, false);
            for (i, s) in f.strategies.iter().enumerate() {
                let hit = s.evaluate(ctx);
                if !hit.matched {
                    rolled |= hit.random;
                    split |= hit.split;
                    continue;
                }
                let reason = if hit.split {
                    Reason::Split
                } else if s.targeted {
                    Reason::TargetingMatch
                } else {
                    Reason::Static
                };
                found = Some((reason, hit.random, Some(i)));
                break;
            }
            match found {
                Some(found) => found,
                // Off by a percentage: the split decided, as it does for
                // those it lets in. Off by a random roll is not "off for
                // this caller": say so.
                None => {
                    let reason = if split {
                        Reason::Split
                    } else {
                        Reason::Default
                    };
                    return Decision {
                        random: rolled,
                        ..off(reason)
                    };
                }
            }
        };
        let mut d = Decision {
            enabled: true,
            reason,
            error: None,
            random: random || parents_random,
            variant: None,
        };
        if with_variant {
            let (owner, set) =
                match owner.and_then(|i| f.strategies[i].variants.as_ref().map(|v| (i, v))) {
                    Some((i, v)) => (i as u16, Some(v)),
                    None => (u16::MAX, f.variants.as_ref()),
                };
            if let Some(set) = set {
                pick_variant(&mut d, owner, set, ctx);
            }
        }
        d
    }

    /// Whether every dependency of `f` holds for `ctx`, and whether a
    /// parent's answer came from a random roll (then so does the child's).
    fn dependencies_met(&self, f: &CompiledFlag, ctx: &Context) -> (bool, bool) {
        let mut random = false;
        for dep in f.deps.iter() {
            let Some(parent) = self.flag_by_name(&dep.parent) else {
                return (false, random);
            };
            // Unleash evaluates one level of dependencies only.
            if !parent.deps.is_empty() {
                return (false, random);
            }
            let pd = self.decide_flag(parent, ctx, !dep.variants.is_empty());
            random |= pd.random;
            let met = if !dep.enabled {
                !pd.enabled
            } else {
                pd.enabled && {
                    dep.variants.is_empty() || {
                        let name = self.variant_of(parent, &pd).name;
                        dep.variants.iter().any(|v| &**v == name)
                    }
                }
            };
            if !met {
                return (false, random);
            }
        }
        (true, random)
    }
}

fn arm_variant(arm: &Arm) -> Variant<'_> {
    Variant {
        name: &arm.name,
        enabled: true,
        feature_enabled: true,
        payload: arm.payload.as_deref(),
    }
}

fn pick_variant(d: &mut Decision, owner: u16, set: &VariantSet, ctx: &Context) {
    match set.pick(ctx) {
        Some(Pick::Override(index)) => {
            d.variant = Some(VariantPick { owner, index });
            d.reason = Reason::TargetingMatch;
        }
        Some(Pick::Weighted { index, random }) => {
            d.variant = Some(VariantPick { owner, index });
            if set.len() > 1 && d.reason != Reason::TargetingMatch {
                d.reason = Reason::Split;
            }
            d.random |= random;
        }
        None => {}
    }
}
