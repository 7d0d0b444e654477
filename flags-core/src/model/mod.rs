//! The flag model: plain serde types, shaped like Unleash's client API.
//!
//! Every source (the native TOML format, Unleash's client-API JSON and delta
//! events, PostgreSQL rows, admin API bodies) produces a [`FlagSet`]; the
//! [engine](crate::engine) compiles it into an immutable snapshot.
//!
//! The serde representation *is* Unleash's client-API JSON, so a
//! `/api/client/features` response loads as it is:
//!
//! ```
//! use flags_core::model::FlagSet;
//!
//! let set = FlagSet::from_unleash_json(r#"{
//!     "version": 2,
//!     "features": [
//!         { "name": "new_checkout_flow", "enabled": true,
//!           "strategies": [{ "name": "flexibleRollout",
//!                            "parameters": { "rollout": "20", "stickiness": "default" } }] }
//!     ]
//! }"#).unwrap();
//! assert_eq!(set.features[0].name, "new_checkout_flow");
//! ```

mod delta;
mod feature;
mod guard;
mod params;
mod strategy_kind;

pub use delta::DeltaEvent;
pub use feature::{
    Constraint, Dependency, Feature, Override, Payload, Segment, Strategy, VariantDef, OPERATORS,
};
pub use guard::{GuardSpec, LatencySpec, PlanSpec, PlanStep};
pub use params::Parameters;
pub use strategy_kind::StrategyKind;

use serde::{Deserialize, Serialize};

use crate::error::{LoadError, LoadErrors};

/// A whole set of flags and the segments they refer to.
///
/// ```
/// use flags_core::model::FlagSet;
///
/// let set = FlagSet::from_unleash_json(r#"{"features": [
///   {"name": "new_checkout_flow", "enabled": true,
///    "strategies": [{"name": "flexibleRollout", "parameters": {"rollout": "20"}}]}
/// ]}"#).unwrap();
/// assert_eq!(set.features.len(), 1);
/// assert!(set.feature("new_checkout_flow").unwrap().enabled);
/// // And back to Unleash's JSON.
/// assert!(set.to_unleash_json().contains("flexibleRollout"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlagSet {
    /// Unleash's format version; informational.
    #[serde(default = "default_format_version")]
    pub version: u32,
    /// The flags, in the order they were defined.
    #[serde(default)]
    pub features: Vec<Feature>,
    /// Reusable groups of constraints, referred to by id from strategies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<Segment>,
}

fn default_format_version() -> u32 {
    2
}

impl FlagSet {
    /// Parses Unleash's client-API JSON (`GET /api/client/features`), or a
    /// delta-API body (`{"events": [...]}`), which is replayed onto an empty set.
    ///
    /// # Errors
    /// A [`LoadErrors`] naming the JSON line and column when the text does not
    /// fit the client-API schema.
    ///
    /// ```
    /// # use flags_core::model::FlagSet;
    /// let set = FlagSet::from_unleash_json(r#"{"events": [
    ///   {"eventId": 1, "type": "feature-updated",
    ///    "feature": {"name": "a", "enabled": true, "strategies": [{"name": "default"}]}}
    /// ]}"#).unwrap();
    /// assert_eq!(set.features.len(), 1);
    /// ```
    pub fn from_unleash_json(text: &str) -> Result<FlagSet, LoadErrors> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Body {
            Delta { events: Vec<DeltaEvent> },
            Full(FlagSet),
        }
        let error = |err: serde_json::Error| {
            let mut e = LoadError::new("unleash json", err.to_string());
            e.line = Some(err.line());
            e.column = Some(err.column());
            LoadErrors::from(e)
        };
        // The common case, a client-API body, parsed straight into the set:
        // the untagged enum below buffers the whole document first, which
        // costs several times the parse itself on a 1,000-flag poll. Only a
        // body that may be a delta takes that way. (A straight parse also
        // names the field that is wrong, not "no variant matched".)
        if !text.contains("\"events\"") {
            return serde_json::from_str(text).map_err(error);
        }
        let body: Body = serde_json::from_str(text).map_err(error)?;
        Ok(match body {
            Body::Full(set) => set,
            Body::Delta { events } => {
                let mut set = FlagSet::default();
                for event in events {
                    set.apply_delta(event);
                }
                set
            }
        })
    }

    /// Applies one delta-API event to this set (hydration replaces it whole).
    ///
    /// ```
    /// use flags_core::model::{DeltaEvent, FlagSet};
    ///
    /// let mut set = FlagSet::default();
    /// let event: DeltaEvent = serde_json::from_str(r#"{"type": "feature-updated", "eventId": 3,
    ///     "feature": {"name": "a", "enabled": true}}"#).unwrap();
    /// set.apply_delta(event);
    /// assert!(set.feature("a").unwrap().enabled);
    /// ```
    pub fn apply_delta(&mut self, event: DeltaEvent) {
        match event {
            DeltaEvent::Hydration {
                features, segments, ..
            } => {
                self.features = features;
                self.segments = segments;
            }
            DeltaEvent::FeatureUpdated { feature, .. } => self.upsert(feature),
            DeltaEvent::FeatureRemoved { feature_name, .. } => {
                self.features.retain(|f| f.name != feature_name);
            }
            DeltaEvent::SegmentUpdated { segment, .. } => {
                match self.segments.iter_mut().find(|s| s.id == segment.id) {
                    Some(slot) => *slot = segment,
                    None => self.segments.push(segment),
                }
            }
            DeltaEvent::SegmentRemoved { segment_id, .. } => {
                self.segments.retain(|s| s.id != segment_id);
            }
        }
    }

    /// The flag named `name`, if any.
    ///
    /// ```
    /// use flags_core::format::toml;
    ///
    /// let set = toml::parse("[a]\nrollout = 20\n", "flags.toml").unwrap();
    /// assert_eq!(set.feature("a").unwrap().rollout_percent(), Some(20));
    /// assert!(set.feature("b").is_none());
    /// ```
    pub fn feature(&self, name: &str) -> Option<&Feature> {
        self.features.iter().find(|f| f.name == name)
    }

    /// The flag named `name`, mutably.
    ///
    /// ```
    /// use flags_core::format::toml;
    ///
    /// let mut set = toml::parse("[a]\nrollout = 20\n", "flags.toml").unwrap();
    /// set.feature_mut("a").unwrap().enabled = false;
    /// assert!(!set.feature("a").unwrap().enabled);
    /// ```
    pub fn feature_mut(&mut self, name: &str) -> Option<&mut Feature> {
        self.features.iter_mut().find(|f| f.name == name)
    }

    /// Inserts `feature`, replacing a flag of the same name in place.
    ///
    /// ```
    /// use flags_core::model::{Feature, FlagSet};
    ///
    /// let mut set = FlagSet::default();
    /// set.upsert(Feature { name: "a".into(), ..Feature::default() });
    /// set.upsert(Feature { name: "a".into(), enabled: true, ..Feature::default() });
    /// assert_eq!(set.features.len(), 1);
    /// assert!(set.features[0].enabled);
    /// ```
    pub fn upsert(&mut self, feature: Feature) {
        match self.feature_mut(&feature.name) {
            Some(slot) => *slot = feature,
            None => self.features.push(feature),
        }
    }

    /// Serializes to Unleash's client-API JSON.
    ///
    /// ```
    /// use flags_core::{format::toml, model::FlagSet};
    ///
    /// let set = toml::parse("[a]\nrollout = 20\n", "flags.toml").unwrap();
    /// let json = set.to_unleash_json();
    /// assert!(json.contains("\"flexibleRollout\""));
    /// assert_eq!(FlagSet::from_unleash_json(&json).unwrap(), set);
    /// ```
    pub fn to_unleash_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}
