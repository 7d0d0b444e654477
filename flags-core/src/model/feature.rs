//! One flag and its parts, in Unleash's client-API vocabulary.

use serde::{Deserialize, Serialize};

use super::guard::{GuardSpec, PlanSpec};
use super::params::{null_as_default, opt_scalar, Parameters};
use super::strategy_kind::StrategyKind;

/// A feature flag.
///
/// ```
/// use flags_core::format::toml;
///
/// let set = toml::parse("[legacy_api]\ndescription = \"old API\"\nenabled = false\n", "flags.toml").unwrap();
/// let flag = set.feature("legacy_api").unwrap();
/// assert_eq!(flag.name, "legacy_api");
/// assert_eq!(flag.description.as_deref(), Some("old API"));
/// assert!(!flag.enabled);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Feature {
    /// Unique name; any UTF-8 in a lenient load, while strict sources (the
    /// TOML file, the admin API) apply [`crate::name`]'s rule.
    pub name: String,
    /// What the flag is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The kill switch: `false` turns the flag off for everyone.
    #[serde(default)]
    pub enabled: bool,
    /// Who gets the flag: any strategy that matches turns it on. None means everyone.
    #[serde(default, deserialize_with = "null_as_default")]
    pub strategies: Vec<Strategy>,
    /// Feature-level variants, used when no matching strategy has its own.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub variants: Vec<VariantDef>,
    /// Parent flags this one needs.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub dependencies: Vec<Dependency>,
    /// Unleash's impression-data switch; kept so a round trip is lossless.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub impression_data: bool,
    /// Unleash's project; informational.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Unleash's flag type (release, experiment, kill-switch...); informational.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Unleash's stale marker; informational.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stale: bool,
    /// The rollout guard watches this flag with these settings (an
    /// extension to Unleash's shape; Unleash servers never send it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard: Option<Box<GuardSpec>>,
    /// The guard walks this progressive rollout plan (an extension too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Box<PlanSpec>>,
}

/// An activation strategy: constraints and segments narrow it, then its own
/// rule (a user list, a percentage...) decides.
///
/// ```
/// use flags_core::format::toml;
/// use flags_core::model::StrategyKind;
///
/// let set = toml::parse("[new_checkout_flow]\nrollout = 20\nwhen = { country = [\"NO\", \"SE\"] }\n", "flags.toml").unwrap();
/// let s = &set.features[0].strategies[0];
/// assert_eq!(s.kind(), StrategyKind::FlexibleRollout);
/// assert_eq!(s.parameters.get("rollout").map(String::as_str), Some("20"));
/// assert_eq!(s.constraints[0].context_name, "country");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Strategy {
    /// `default`, `userWithId`, `flexibleRollout`, `gradualRolloutUserId`,
    /// `gradualRolloutSessionId`, `gradualRolloutRandom`, `remoteAddress`,
    /// `applicationHostname`; any other name evaluates to off. See
    /// [`Strategy::kind`].
    pub name: String,
    /// Strategy parameters (`rollout`, `stickiness`, `groupId`, `userIds`, `IPs`...).
    #[serde(default, skip_serializing_if = "Parameters::is_empty")]
    pub parameters: Parameters,
    /// All must hold for the strategy to apply.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub constraints: Vec<Constraint>,
    /// Segment ids whose constraints must all hold too.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub segments: Vec<u32>,
    /// Variants handed out when this strategy is the one that matched.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub variants: Vec<VariantDef>,
    /// Unleash's disabled-strategy marker: a disabled strategy never matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
}

impl Feature {
    /// The flag's percentage: the one percentage its percentage strategies
    /// (`flexibleRollout`, the gradual rollouts) agree on. `None` when it
    /// has none, when they disagree, or when one is not a whole number.
    ///
    /// ```
    /// use flags_core::format::toml;
    ///
    /// let set = toml::parse("[a]\nrollout = 20\n[b]\n", "flags.toml").unwrap();
    /// assert_eq!(set.features[0].rollout_percent(), Some(20));
    /// assert_eq!(set.features[1].rollout_percent(), None); // on for everyone
    /// ```
    pub fn rollout_percent(&self) -> Option<u32> {
        let mut found = None;
        for s in &self.strategies {
            let Some(param) = s.kind().percentage_param() else {
                continue;
            };
            let p = s.parameters.get(param)?.trim().parse::<u32>().ok()?;
            if found.is_some_and(|f| f != p) {
                return None;
            }
            found = Some(p);
        }
        found
    }
}

impl Strategy {
    /// Which built-in rule this strategy is, from its `name`.
    ///
    /// ```
    /// use flags_core::format::toml;
    /// use flags_core::model::StrategyKind;
    ///
    /// let set = toml::parse("[a]\nusers = [\"alice\"]\n", "flags.toml").unwrap();
    /// assert_eq!(set.features[0].strategies[0].kind(), StrategyKind::UserWithId);
    /// ```
    pub fn kind(&self) -> StrategyKind {
        StrategyKind::from_name(&self.name)
    }
}

/// Every constraint operator the engine evaluates, as written in
/// [`Constraint::operator`]: Unleash's, and `SEMVER_GTE`, `SEMVER_LTE` and
/// `IN_CIDR` in the same style. A constraint with any other operator never
/// matches, and a strict load (TOML, the admin API) refuses it.
///
/// ```
/// use flags_core::model::{FlagSet, OPERATORS};
/// use flags_core::{engine::Mode, Context, Snapshot};
///
/// assert!(OPERATORS.contains(&"STR_ENDS_WITH"));
/// let with = |op: &str| FlagSet::from_unleash_json(&format!(r#"{{"features": [{{"name": "f",
///     "enabled": true, "strategies": [{{"name": "default", "constraints": [
///     {{"contextName": "plan", "operator": "{op}", "values": ["pro"]}}]}}]}}]}}"#)).unwrap();
/// let pro = Context::new().property("plan", "pro");
/// let known = Snapshot::compile(&with("IN"), Mode::Strict, "x").unwrap();
/// assert!(known.is_enabled("f", &pro));
/// assert!(Snapshot::compile(&with("IS"), Mode::Strict, "x").is_err());
/// let lenient = Snapshot::compile(&with("IS"), Mode::Lenient, "x").unwrap();
/// assert!(!lenient.is_enabled("f", &pro));
/// ```
pub const OPERATORS: &[&str] = &[
    "IN",
    "NOT_IN",
    "STR_CONTAINS",
    "STR_STARTS_WITH",
    "STR_ENDS_WITH",
    "NUM_EQ",
    "NUM_GT",
    "NUM_GTE",
    "NUM_LT",
    "NUM_LTE",
    "DATE_AFTER",
    "DATE_BEFORE",
    "SEMVER_EQ",
    "SEMVER_GT",
    "SEMVER_GTE",
    "SEMVER_LT",
    "SEMVER_LTE",
    "REGEX",
    "IN_CIDR",
];

/// A condition on one context field.
///
/// ```
/// use flags_core::format::toml;
///
/// let set = toml::parse("[a]\nwhen = { plan = [\"pro\", \"team\"] }\n", "flags.toml").unwrap();
/// let c = &set.features[0].strategies[0].constraints[0];
/// assert_eq!((c.context_name.as_str(), c.operator.as_str()), ("plan", "IN"));
/// assert_eq!(c.values, ["pro", "team"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Constraint {
    /// `userId`, `sessionId`, `remoteAddress`, `environment`, `appName`,
    /// `currentTime`, or any custom property.
    pub context_name: String,
    /// `IN`, `NOT_IN`, `STR_CONTAINS`, `NUM_GT`, `SEMVER_LT`, `DATE_AFTER`, `REGEX`...
    pub operator: String,
    /// The operand list (set operators and string operators).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub values: Vec<String>,
    /// The single operand (number, date, semver and regex operators).
    #[serde(
        default,
        deserialize_with = "opt_scalar",
        skip_serializing_if = "Option::is_none"
    )]
    pub value: Option<String>,
    /// Negates the result.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inverted: bool,
    /// Compares strings without regard to case, for `STR_CONTAINS`,
    /// `STR_STARTS_WITH`, `STR_ENDS_WITH` and `REGEX`; `IN` and `NOT_IN`
    /// always compare exactly, as in Unleash.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub case_insensitive: bool,
}

/// A named, reusable list of constraints.
///
/// ```
/// use flags_core::model::FlagSet;
///
/// let set = FlagSet::from_unleash_json(r#"{
///   "features": [{"name": "beta", "enabled": true, "strategies": [{"name": "default", "segments": [1]}]}],
///   "segments": [{"id": 1, "name": "nordics", "constraints": [
///     {"contextName": "country", "operator": "IN", "values": ["NO", "SE"]}]}]
/// }"#).unwrap();
/// assert_eq!(set.segments[0].constraints.len(), 1);
/// assert_eq!(set.features[0].strategies[0].segments, [1]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Segment {
    /// The id strategies refer to.
    pub id: u32,
    /// A human name (the TOML format refers to segments by it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// All must hold.
    #[serde(default, deserialize_with = "null_as_default")]
    pub constraints: Vec<Constraint>,
}

/// One arm of an A/B test.
///
/// ```
/// use flags_core::format::toml;
///
/// let set = toml::parse("[checkout_button]\nvariants = { blue = 50, green = 30, control = 20 }\n", "flags.toml").unwrap();
/// let arms = &set.features[0].variants;
/// let weights: Vec<(&str, u32)> = arms.iter().map(|v| (v.name.as_str(), v.weight)).collect();
/// // Unleash's weights are per mille.
/// assert_eq!(weights, [("blue", 500), ("green", 300), ("control", 200)]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantDef {
    /// The arm's name.
    pub name: String,
    /// Relative weight (Unleash uses a total of 1000).
    #[serde(default)]
    pub weight: u32,
    /// `fix` or `variable`; informational here, weights arrive computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_type: Option<String>,
    /// The context field that keeps a user on one arm (`default`: user id,
    /// then session id, then random, as Unleash's engine (Yggdrasil) does;
    /// Unleash's Node SDK also tries the remote address before random).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stickiness: Option<String>,
    /// Data handed to the caller with the arm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Payload>,
    /// Context values that force this arm.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub overrides: Vec<Override>,
}

/// A variant's payload.
///
/// ```
/// use flags_core::engine::Snapshot;
/// use flags_core::format::toml;
/// use flags_core::Context;
///
/// let set = toml::parse(r#"
/// [checkout_button]
/// variants = [{ name = "blue", weight = 100, payload = { type = "string", value = "Pay now" } }]
/// "#, "flags.toml").unwrap();
/// let snapshot = Snapshot::compile(&set, Default::default(), "flags.toml").unwrap();
/// let v = snapshot.variant("checkout_button", &Context::new().user_id("u1"));
/// let payload = v.payload.unwrap();
/// assert_eq!((payload.kind.as_str(), payload.value.as_str()), ("string", "Pay now"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    /// `string`, `json`, `csv` or `number`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The payload text.
    pub value: String,
}

/// Forces a variant for some context values.
///
/// ```
/// use flags_core::format::toml;
/// use flags_core::{Context, Snapshot};
///
/// let set = toml::parse(
///     "[exp]\n[[exp.variants]]\nname = \"blue\"\noverrides = { userId = [\"ann\"] }\n[[exp.variants]]\nname = \"green\"\n",
///     "flags.toml",
/// ).unwrap();
/// let blue = &set.features[0].variants[0];
/// assert_eq!(blue.overrides[0].context_name, "userId");
/// let snapshot = Snapshot::compile(&set, Default::default(), "flags.toml").unwrap();
/// assert_eq!(snapshot.variant("exp", &Context::new().user_id("ann")).name, "blue");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Override {
    /// The context field to look at.
    pub context_name: String,
    /// The values that select the variant.
    #[serde(default)]
    pub values: Vec<String>,
}

/// A parent flag this flag requires.
///
/// ```
/// use flags_core::format::toml;
/// use flags_core::{Context, Snapshot};
///
/// let text = "[parent]\nenabled = false\n\n[child]\nrequires = \"parent\"\n";
/// let set = toml::parse(text, "flags.toml").unwrap();
/// let child = set.features.iter().find(|f| f.name == "child").unwrap();
/// assert_eq!(child.dependencies[0].feature, "parent");
/// let snapshot = Snapshot::compile(&set, Default::default(), "flags.toml").unwrap();
/// assert!(!snapshot.is_enabled("child", &Context::new())); // its parent is off
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dependency {
    /// The parent's name.
    pub feature: String,
    /// Whether the parent must be on (default) or off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// If set, the parent must be on with one of these variants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variants: Option<Vec<String>>,
}
