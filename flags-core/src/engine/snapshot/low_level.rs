//! The low-level evaluation API: [`Snapshot`]'s methods for integrations
//! that memoize decisions, kept apart from the everyday ones.

use super::{arm_variant, FlagId, Snapshot};
use crate::engine::evaluation::{Decision, Evaluation, Variant};
use crate::Context;

/// # Low-level evaluation API
///
/// For framework integrations that answer many questions about one request
/// from one snapshot, as `flags-middleware`'s layer does. Most code wants
/// [`Snapshot::is_enabled`], [`Snapshot::variant`] and
/// [`Snapshot::evaluate`] instead.
///
/// The steps an integration takes, each cheap on its own:
///
/// 1. [`lookup`](Snapshot::lookup) a flag's name once into a [`FlagId`]
///    (its position in this snapshot, `Copy`);
/// 2. [`decide`](Snapshot::decide) it for a caller into a [`Decision`]: a
///    small `Copy` record (on/off, reason, which variant) to memoize, so a
///    flag asked twice in a request answers the same even when it was
///    bucketed at random;
/// 3. expand the decision into an [`Evaluation`] (variant name, payload,
///    version) with [`evaluation`](Snapshot::evaluation) only when someone
///    wants the details, and get a memoized flag's name back with
///    [`name`](Snapshot::name);
/// 4. [`defined_variant`](Snapshot::defined_variant) gives a variant as
///    defined, payload included, for an integration that forces one.
///
/// A `FlagId` and a `Decision` belong to the snapshot that made them: given
/// to another snapshot, they may name another flag.
///
/// ```
/// use flags_core::{format::toml, engine::Mode, Context, Snapshot};
///
/// let set = toml::parse("[checkout]\nrollout = 50\n", "flags.toml").unwrap();
/// let snapshot = Snapshot::compile(&set, Mode::Strict, "flags.toml").unwrap();
/// let ctx = Context::new().user_id("ann");
///
/// let id = snapshot.lookup("checkout");
/// let decision = snapshot.decide(id, &ctx); // memoize this
/// assert_eq!(decision.enabled, snapshot.is_enabled("checkout", &ctx));
/// let name = snapshot.name(id.unwrap()).unwrap();
/// assert_eq!(snapshot.evaluation(name, id, &decision), snapshot.evaluate("checkout", &ctx));
/// ```
impl Snapshot {
    /// The position of `name`, for callers that memoize decisions.
    ///
    /// ```
    /// # use flags_core::{engine::Mode, format::toml, Snapshot};
    /// let set = toml::parse("[a]\n[b]\n", "flags.toml").unwrap();
    /// let snapshot = Snapshot::compile(&set, Mode::Strict, "flags.toml").unwrap();
    /// let (a, b) = (snapshot.lookup("a").unwrap(), snapshot.lookup("b").unwrap());
    /// assert_ne!(a, b);
    /// assert_eq!(snapshot.name(b), Some("b"));
    /// assert_eq!(snapshot.lookup("c"), None);
    /// ```
    #[inline]
    pub fn lookup(&self, name: &str) -> Option<FlagId> {
        self.index.get(name, &self.flags).map(FlagId)
    }

    /// The name of flag `id` (from [`Snapshot::lookup`]).
    ///
    /// ```
    /// # use flags_core::{engine::{FlagId, Mode}, format::toml, Snapshot};
    /// # let set = toml::parse("[a]\n[b]\n", "flags.toml").unwrap();
    /// # let snapshot = Snapshot::compile(&set, Mode::Strict, "flags.toml").unwrap();
    /// // A memo keeps ids as bits; the name comes back when it is logged.
    /// let kept: u32 = snapshot.lookup("b").unwrap().to_bits();
    /// assert_eq!(snapshot.name(FlagId::from_bits(kept)), Some("b"));
    /// // An id that is no flag's names none.
    /// assert_eq!(snapshot.name(FlagId::from_bits(u32::MAX)), None);
    /// ```
    #[inline]
    pub fn name(&self, id: FlagId) -> Option<&str> {
        self.flags.get(id.0 as usize).map(|f| f.name())
    }

    /// Decides flag `id` (from [`Snapshot::lookup`]) for `ctx`, variant
    /// included. An unknown flag (`None`) decides off, with
    /// [`ErrorCode::FlagNotFound`](crate::engine::ErrorCode::FlagNotFound).
    ///
    /// ```
    /// # use flags_core::{engine::{ErrorCode, Mode}, format::toml, Context, Reason, Snapshot};
    /// let set = toml::parse("[beta]\nusers = [\"ann\"]\n", "flags.toml").unwrap();
    /// let snapshot = Snapshot::compile(&set, Mode::Strict, "flags.toml").unwrap();
    /// let ann = Context::new().user_id("ann");
    /// let decision = snapshot.decide(snapshot.lookup("beta"), &ann);
    /// assert!(decision.enabled);
    /// assert_eq!(decision.reason, Reason::TargetingMatch);
    /// let missing = snapshot.decide(snapshot.lookup("gamma"), &ann);
    /// assert!(!missing.enabled);
    /// assert_eq!(missing.error, Some(ErrorCode::FlagNotFound));
    /// ```
    pub fn decide(&self, id: Option<FlagId>, ctx: &Context) -> Decision {
        match id.and_then(|FlagId(i)| self.flags.get(i as usize)) {
            Some(f) => self.decide_flag(f, ctx, true),
            None => Decision::NOT_FOUND,
        }
    }

    /// Expands a [`Decision`] made by this snapshot for flag `id` into an
    /// [`Evaluation`] reported under `key`.
    ///
    /// ```
    /// # use flags_core::{engine::{Decision, Mode}, format::toml, Context, Snapshot};
    /// let set = toml::parse(r#"
    /// [button]
    /// variants = ["blue", "green"]
    /// "#, "flags.toml").unwrap();
    /// let snapshot = Snapshot::compile(&set, Mode::Strict, "flags.toml").unwrap();
    /// let ctx = Context::new().user_id("ann");
    /// let id = snapshot.lookup("button");
    /// let memo = snapshot.decide(id, &ctx).to_bits(); // kept for the request
    /// let e = snapshot.evaluation("button", id, &Decision::from_bits(memo));
    /// assert_eq!(e, snapshot.evaluate("button", &ctx));
    /// assert!(e.variant.enabled && ["blue", "green"].contains(&e.variant.name));
    /// ```
    pub fn evaluation<'a>(
        &'a self,
        key: &'a str,
        id: Option<FlagId>,
        d: &Decision,
    ) -> Evaluation<'a> {
        let variant = match id.and_then(|FlagId(i)| self.flags.get(i as usize)) {
            Some(f) => self.variant_of(f, d),
            None => Variant::none(false),
        };
        Evaluation {
            key,
            enabled: d.enabled,
            variant,
            reason: d.reason,
            error: d.error,
            random: d.random,
            version: self.version,
        }
    }

    /// Variant `variant` of flag `flag` as defined (feature variants first,
    /// then strategy variants), whether or not anyone gets it.
    ///
    /// ```
    /// # use flags_core::{engine::Mode, format::toml, Context, Snapshot};
    /// let set = toml::parse(r#"
    /// [[button.variants]]
    /// name = "blue"
    /// [[button.variants]]
    /// name = "green"
    /// weight = 0
    /// payload = { type = "string", value = "Pay now" }
    /// "#, "flags.toml").unwrap();
    /// let snapshot = Snapshot::compile(&set, Mode::Strict, "flags.toml").unwrap();
    /// assert_eq!(snapshot.variant("button", &Context::new().user_id("ann")).name, "blue");
    /// let green = snapshot.defined_variant("button", "green").unwrap(); // though nobody gets it
    /// assert_eq!(green.payload.map(|p| p.value.as_str()), Some("Pay now"));
    /// assert!(snapshot.defined_variant("button", "red").is_none());
    /// ```
    pub fn defined_variant(&self, flag: &str, variant: &str) -> Option<Variant<'_>> {
        let f = self.flag_by_name(flag)?;
        f.variants
            .iter()
            .chain(f.strategies.iter().filter_map(|s| s.variants.as_ref()))
            .flat_map(|set| set.arms())
            .find(|arm| &*arm.name == variant)
            .map(arm_variant)
    }
}
