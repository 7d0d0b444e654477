//! Unleash's delta API (`/api/client/delta`): a stream of events that patch a
//! flag set instead of resending it whole.

use serde::{Deserialize, Serialize};

use super::{Feature, Segment};

/// One event of Unleash's delta API.
///
/// ```
/// use flags_core::model::{DeltaEvent, FlagSet};
///
/// let mut set = FlagSet::from_unleash_json(r#"{"features": [{"name": "a", "enabled": true}]}"#).unwrap();
/// let event: DeltaEvent = serde_json::from_str(
///     r#"{"type": "feature-removed", "eventId": 7, "featureName": "a"}"#).unwrap();
/// set.apply_delta(event);
/// assert!(set.feature("a").is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
#[allow(missing_docs)] // the variants are Unleash's, named as Unleash names them
pub enum DeltaEvent {
    /// Replaces the whole set.
    Hydration {
        #[serde(rename = "eventId", default)]
        event_id: u64,
        #[serde(default)]
        features: Vec<Feature>,
        #[serde(default)]
        segments: Vec<Segment>,
    },
    /// Creates or replaces one flag.
    FeatureUpdated {
        #[serde(rename = "eventId", default)]
        event_id: u64,
        feature: Feature,
    },
    /// Removes one flag.
    FeatureRemoved {
        #[serde(rename = "eventId", default)]
        event_id: u64,
        #[serde(rename = "featureName")]
        feature_name: String,
    },
    /// Creates or replaces one segment.
    SegmentUpdated {
        #[serde(rename = "eventId", default)]
        event_id: u64,
        segment: Segment,
    },
    /// Removes one segment.
    SegmentRemoved {
        #[serde(rename = "eventId", default)]
        event_id: u64,
        #[serde(rename = "segmentId")]
        segment_id: u32,
    },
}
