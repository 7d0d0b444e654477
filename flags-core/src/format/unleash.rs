//! Unleash's client-API JSON, written: what `GET /api/client/features`
//! answers, for Unleash's server SDKs in any language.
//!
//! The reader is [`FlagSet::from_unleash_json`]; this is the other half.
//! Every field an SDK reads is present (empty lists included, parameters as
//! strings), and what only this project knows (the rollout guard's `guard`
//! and `plan`) is left out: an SDK has no use for it.
//!
//! ```
//! use flags_core::format::{toml, unleash::{self, Segments}};
//! use flags_core::model::FlagSet;
//!
//! let set = toml::parse("[new_checkout_flow]\nrollout = 20\nguard = true\n", "flags.toml").unwrap();
//! let json = unleash::to_client_json(&set, Segments::Separate);
//! assert_eq!(json["version"], 2);
//! assert!(json["features"][0].get("guard").is_none());
//!
//! let back = FlagSet::from_unleash_json(&json.to_string()).unwrap();
//! assert_eq!(back.features[0].rollout_percent(), Some(20));
//! ```

use serde_json::{json, Map, Value};

use crate::model::{Constraint, Feature, FlagSet, Segment, Strategy, VariantDef};

/// How strategies refer to segments in the written JSON.
///
/// ```
/// use flags_core::format::{toml, unleash::{to_client_json, Segments}};
///
/// let set = toml::parse(
///     "[segments.beta]\nwhen = { plan = \"pro\" }\n\n[a]\nsegments = [\"beta\"]\n",
///     "flags.toml",
/// ).unwrap();
/// let separate = to_client_json(&set, Segments::Separate);
/// assert_eq!(separate["segments"].as_array().unwrap().len(), 1);
/// let inlined = to_client_json(&set, Segments::Inlined);
/// assert!(inlined.get("segments").is_none());
/// let constraint = &inlined["features"][0]["strategies"][0]["constraints"][0];
/// assert_eq!(constraint["contextName"], "plan");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segments {
    /// A top-level `segments` list, referred to by id from each strategy
    /// (SDKs that send `Unleash-Client-Spec` 4.2.0 or newer).
    Separate,
    /// Each segment's constraints copied into the strategies that use it,
    /// and no `segments` list (older SDKs).
    Inlined,
}

/// The client-API body for `set`: `{"version": 2, "features": [...]}`, plus
/// `"segments"` when `segments` is [`Segments::Separate`]. Flags keep the
/// set's order.
///
/// ```
/// use flags_core::format::{toml, unleash::{to_client_json, Segments}};
///
/// let set = toml::parse("[a]\nrollout = 20\n", "flags.toml").unwrap();
/// let body = to_client_json(&set, Segments::Separate);
/// assert_eq!(body["version"], 2);
/// assert_eq!(body["features"][0]["strategies"][0]["name"], "flexibleRollout");
/// assert_eq!(body["features"][0]["strategies"][0]["parameters"]["rollout"], "20");
/// ```
pub fn to_client_json(set: &FlagSet, segments: Segments) -> Value {
    let features: Vec<Value> = set
        .features
        .iter()
        .map(|f| feature(f, &set.segments, segments))
        .collect();
    let mut body = Map::new();
    body.insert("version".into(), json!(2));
    body.insert("features".into(), Value::Array(features));
    if segments == Segments::Separate {
        let list = set.segments.iter().map(segment).collect();
        body.insert("segments".into(), Value::Array(list));
    }
    Value::Object(body)
}

/// One flag as the client API shows it (no `guard`, no `plan`).
///
/// ```
/// use flags_core::format::{toml, unleash::{feature, Segments}};
///
/// let set = toml::parse("[a]\nrollout = 5\nplan = \"gradual\"\n", "flags.toml").unwrap();
/// let json = feature(&set.features[0], &set.segments, Segments::Inlined);
/// assert_eq!((json["name"].as_str(), json["type"].as_str()), (Some("a"), Some("release")));
/// assert!(json.get("plan").is_none());
/// ```
pub fn feature(f: &Feature, all_segments: &[Segment], segments: Segments) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), json!(f.name));
    out.insert("type".into(), json!(f.kind.as_deref().unwrap_or("release")));
    if let Some(d) = &f.description {
        out.insert("description".into(), json!(d));
    }
    out.insert("enabled".into(), json!(f.enabled));
    out.insert("stale".into(), json!(f.stale));
    out.insert("impressionData".into(), json!(f.impression_data));
    out.insert(
        "project".into(),
        json!(f.project.as_deref().unwrap_or("default")),
    );
    let strategies: Vec<Value> = f
        .strategies
        .iter()
        .map(|s| strategy(s, all_segments, segments))
        .collect();
    out.insert("strategies".into(), Value::Array(strategies));
    out.insert("variants".into(), variants(&f.variants));
    if !f.dependencies.is_empty() {
        out.insert("dependencies".into(), json!(f.dependencies));
    }
    Value::Object(out)
}

fn strategy(s: &Strategy, all_segments: &[Segment], segments: Segments) -> Value {
    let mut constraints: Vec<Value> = s.constraints.iter().map(constraint).collect();
    let mut ids: Vec<u32> = s.segments.clone();
    if segments == Segments::Inlined {
        for id in ids.drain(..) {
            match all_segments.iter().find(|seg| seg.id == id) {
                Some(seg) => constraints.extend(seg.constraints.iter().map(constraint)),
                // A strategy naming a segment that does not exist never
                // matches; say so with a constraint nothing satisfies.
                None => constraints.push(json!({
                    "contextName": "userId", "operator": "IN", "values": [],
                    "inverted": false, "caseInsensitive": false
                })),
            }
        }
    }
    let mut out = Map::new();
    out.insert("name".into(), json!(s.name));
    out.insert("constraints".into(), Value::Array(constraints));
    out.insert("parameters".into(), json!(s.parameters));
    out.insert("segments".into(), json!(ids));
    out.insert("variants".into(), variants(&s.variants));
    if let Some(disabled) = s.disabled {
        out.insert("disabled".into(), json!(disabled));
    }
    Value::Object(out)
}

fn constraint(c: &Constraint) -> Value {
    let mut out = Map::new();
    out.insert("contextName".into(), json!(c.context_name));
    out.insert("operator".into(), json!(c.operator));
    out.insert("values".into(), json!(c.values));
    if let Some(v) = &c.value {
        out.insert("value".into(), json!(v));
    }
    out.insert("inverted".into(), json!(c.inverted));
    out.insert("caseInsensitive".into(), json!(c.case_insensitive));
    Value::Object(out)
}

fn variants(list: &[VariantDef]) -> Value {
    Value::Array(
        list.iter()
            .map(|v| {
                let mut out = Map::new();
                out.insert("name".into(), json!(v.name));
                out.insert("weight".into(), json!(v.weight));
                out.insert(
                    "weightType".into(),
                    json!(v.weight_type.as_deref().unwrap_or("variable")),
                );
                out.insert(
                    "stickiness".into(),
                    json!(v.stickiness.as_deref().unwrap_or("default")),
                );
                if let Some(p) = &v.payload {
                    out.insert("payload".into(), json!(p));
                }
                out.insert("overrides".into(), json!(v.overrides));
                Value::Object(out)
            })
            .collect(),
    )
}

fn segment(s: &Segment) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(s.id));
    if let Some(name) = &s.name {
        out.insert("name".into(), json!(name));
    }
    out.insert(
        "constraints".into(),
        Value::Array(s.constraints.iter().map(constraint).collect()),
    );
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Mode;
    use crate::{Context, Snapshot};

    const FLAGS: &str = r#"
[segments.internal]
when = { email = { op = "ends_with", values = ["@acme.com"] } }

[new_checkout_flow]
description = "New checkout"
rollout = 20
guard = true

[beta_search]
when = { beta = true }

[legacy_api]
enabled = false

[checkout_experiment]
rollout = { percent = 50, stickiness = "sessionId", group = "exp" }
variants = { blue = 50, green = 50 }
segments = ["internal"]
requires = ["beta_search"]
"#;

    fn set() -> FlagSet {
        crate::format::toml::parse(FLAGS, "flags.toml").unwrap()
    }

    /// The set without what the client API leaves out, for comparison.
    fn without_local_fields(mut set: FlagSet) -> FlagSet {
        for f in &mut set.features {
            f.guard = None;
            f.plan = None;
        }
        set
    }

    #[test]
    fn separate_segments_round_trip_to_the_same_model() {
        let set = set();
        let json = to_client_json(&set, Segments::Separate);
        assert!(json["features"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f.get("guard").is_none()));
        let back = FlagSet::from_unleash_json(&json.to_string()).unwrap();
        let mut expected = without_local_fields(set);
        // What the writer fills in for SDKs that expect every field.
        for f in &mut expected.features {
            f.kind.get_or_insert_with(|| "release".into());
            f.project.get_or_insert_with(|| "default".into());
            for v in f
                .variants
                .iter_mut()
                .chain(f.strategies.iter_mut().flat_map(|s| s.variants.iter_mut()))
            {
                v.weight_type.get_or_insert_with(|| "variable".into());
                v.stickiness.get_or_insert_with(|| "default".into());
            }
        }
        assert_eq!(back, expected);
    }

    #[test]
    fn inlined_segments_evaluate_the_same() {
        let set = set();
        let json = to_client_json(&set, Segments::Inlined);
        assert!(json.get("segments").is_none());
        let back = FlagSet::from_unleash_json(&json.to_string()).unwrap();
        assert!(back.segments.is_empty());
        assert!(back
            .features
            .iter()
            .all(|f| f.strategies.iter().all(|s| s.segments.is_empty())));
        let a = Snapshot::compile(&set, Mode::Strict, "a").unwrap();
        let b = Snapshot::compile(&back, Mode::Strict, "b").unwrap();
        for i in 0..500 {
            let email = if i % 3 == 0 {
                "x@acme.com"
            } else {
                "x@other.org"
            };
            let ctx = Context::new()
                .user_id(format!("u{i}"))
                .session_id(format!("s{i}"))
                .property("email", email)
                .property("beta", if i % 2 == 0 { "true" } else { "false" });
            for name in a.names() {
                assert_eq!(a.evaluate(name, &ctx), b.evaluate(name, &ctx), "{name} {i}");
            }
        }
    }
}
