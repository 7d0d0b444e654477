//! The Frontend API's answer: every flag that is on for the caller, with
//! its variant, shaped as Unleash's `{"toggles": [...]}`.

use std::hash::Hasher;
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;
use siphasher::sip128::{Hasher128, SipHasher13};

use crate::engine::{Evaluation, FlagId, Snapshot};
use crate::model::Payload;
use crate::Context;

/// What the answer needs about each flag that the engine does not keep
/// at hand (impression data lives in the definition): worked out once per
/// snapshot.
#[derive(Debug)]
pub(crate) struct Catalog {
    /// Sorted by name, so the body (and its ETag) is the same on every
    /// instance serving the same flags.
    entries: Vec<(FlagId, bool)>,
    /// A hash of every definition: with the decisions, it fixes the body,
    /// so an ETag can be had without writing the body.
    content: u128,
}

impl Catalog {
    fn build(snapshot: &Snapshot) -> Catalog {
        let mut features: Vec<_> = snapshot.features().collect();
        features.sort_by(|a, b| a.name.cmp(&b.name));
        let mut content = hasher();
        let mut entries = Vec::with_capacity(features.len());
        for f in &features {
            content.write(&serde_json::to_vec(f).unwrap_or_default());
            if let Some(id) = snapshot.lookup(&f.name) {
                entries.push((id, f.impression_data));
            }
        }
        Catalog {
            entries,
            content: content.finish128().as_u128(),
        }
    }
}

/// The catalog of the last snapshot seen; rebuilt when the flags change.
#[derive(Debug, Default)]
pub(crate) struct CatalogCache {
    last: Mutex<Option<(Arc<Snapshot>, Arc<Catalog>)>>,
}

impl CatalogCache {
    pub(crate) fn get(&self, snapshot: &Arc<Snapshot>) -> Arc<Catalog> {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((snap, catalog)) = &*last {
            if Arc::ptr_eq(snap, snapshot) {
                return Arc::clone(catalog);
            }
        }
        let catalog = Arc::new(Catalog::build(snapshot));
        *last = Some((Arc::clone(snapshot), Arc::clone(&catalog)));
        catalog
    }
}

#[derive(Serialize)]
struct Body<'a> {
    toggles: Vec<Toggle<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Toggle<'a> {
    name: &'a str,
    enabled: bool,
    variant: VariantJson<'a>,
    impression_data: bool,
}

#[derive(Serialize)]
struct VariantJson<'a> {
    name: &'a str,
    enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<&'a Payload>,
    feature_enabled: bool,
    #[serde(rename = "featureEnabled")]
    feature_enabled_camel: bool,
}

fn hasher() -> SipHasher13 {
    SipHasher13::new_with_keys(0x0066_726f_6e74, 0x0065_6e64)
}

/// The flags that are on for one caller, with the answer's ETag; the body
/// is written only when it is sent (a 304 needs just the tag).
pub(crate) struct Answer<'a> {
    toggles: Vec<Toggle<'a>>,
    etag: String,
}

/// Evaluates every flag for `ctx`, calling `each` with every evaluation
/// (for the decision events).
pub(crate) fn answer<'a>(
    snapshot: &'a Snapshot,
    catalog: &Catalog,
    ctx: &Context,
    mut each: impl FnMut(&Evaluation<'a>),
) -> Answer<'a> {
    let mut toggles = Vec::new();
    let mut tag = hasher();
    tag.write_u128(catalog.content);
    for (i, &(id, impression_data)) in catalog.entries.iter().enumerate() {
        let Some(name) = snapshot.name(id) else {
            continue;
        };
        let decision = snapshot.decide(Some(id), ctx);
        let eval = snapshot.evaluation(name, Some(id), &decision);
        each(&eval);
        if !eval.enabled {
            continue;
        }
        // What this toggle adds to the body, given the definitions.
        tag.write_usize(i);
        tag.write_u8(u8::from(eval.variant.enabled));
        tag.write(eval.variant.name.as_bytes());
        tag.write_u8(0xff);
        if let Some(p) = eval.variant.payload {
            tag.write(p.kind.as_bytes());
            tag.write_u8(0xff);
            tag.write(p.value.as_bytes());
        }
        tag.write_u8(0xfe);
        toggles.push(Toggle {
            name,
            enabled: true,
            variant: VariantJson {
                name: eval.variant.name,
                enabled: eval.variant.enabled,
                payload: eval.variant.payload,
                feature_enabled: true,
                feature_enabled_camel: true,
            },
            impression_data,
        });
    }
    let etag = format!("W/\"{:032x}\"", tag.finish128().as_u128());
    Answer { toggles, etag }
}

impl Answer<'_> {
    /// The weak ETag: changes whenever the body would.
    pub(crate) fn etag(&self) -> &str {
        &self.etag
    }

    /// The body: `{"toggles": [...]}`.
    pub(crate) fn body(self) -> Vec<u8> {
        serde_json::to_vec(&Body {
            toggles: self.toggles,
        })
        .unwrap_or_else(|_| b"{\"toggles\":[]}".to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Flags;

    #[test]
    fn only_enabled_flags_with_unleash_variant_shape() {
        let flags = Flags::from_unleash_json(
            r#"{"features": [
              {"name": "b_off", "enabled": false, "strategies": [{"name": "default"}]},
              {"name": "a_on", "enabled": true, "impressionData": true, "strategies": [{"name": "default"}]},
              {"name": "c_exp", "enabled": true, "strategies": [{"name": "default"}],
               "variants": [{"name": "blue", "weight": 1000, "payload": {"type": "string", "value": "b"}}]}
            ]}"#,
        )
        .unwrap();
        let snap = flags.snapshot();
        let catalog = CatalogCache::default().get(&snap);
        let mut seen = 0;
        let answer = answer(&snap, &catalog, &Context::new().user_id("u"), |_| seen += 1);
        assert_eq!(seen, 3);
        let body = answer.body();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"toggles": [
                {"name": "a_on", "enabled": true, "impressionData": true,
                 "variant": {"name": "disabled", "enabled": false, "feature_enabled": true, "featureEnabled": true}},
                {"name": "c_exp", "enabled": true, "impressionData": false,
                 "variant": {"name": "blue", "enabled": true, "payload": {"type": "string", "value": "b"},
                             "feature_enabled": true, "featureEnabled": true}}
            ]})
        );
    }
}

#[cfg(test)]
mod etag_tests {
    use super::*;
    use crate::Flags;

    fn tag(flags: &Flags, user: &str) -> String {
        let snap = flags.snapshot();
        let catalog = CatalogCache::default().get(&snap);
        answer(&snap, &catalog, &Context::new().user_id(user), |_| {})
            .etag()
            .to_owned()
    }

    #[test]
    fn the_tag_follows_the_answer_and_the_definitions() {
        let json = |payload: &str| {
            format!(
                r#"{{"features": [
                  {{"name": "half", "enabled": true, "strategies": [{{"name": "flexibleRollout",
                    "parameters": {{"rollout": "50", "stickiness": "default", "groupId": "g"}}}}]}},
                  {{"name": "exp", "enabled": true, "strategies": [{{"name": "default"}}],
                   "variants": [{{"name": "a", "weight": 1000, "payload": {{"type": "string", "value": "{payload}"}}}}]}}
                ]}}"#
            )
        };
        let flags = Flags::from_unleash_json(&json("x")).unwrap();
        let snap = flags.snapshot();
        let on = |u: &str| snap.is_enabled("half", &Context::new().user_id(u));
        let (a, b) = (0..100)
            .map(|i| format!("u{i}"))
            .fold((None, None), |(on_u, off_u), u| {
                if on(&u) {
                    (on_u.or(Some(u)), off_u)
                } else {
                    (on_u, off_u.or(Some(u)))
                }
            });
        let (a, b) = (a.unwrap(), b.unwrap());
        // Same answer, same tag (even for another user); another answer, another tag.
        assert_eq!(tag(&flags, &a), tag(&flags, &a));
        let a2 = (0..1000).map(|i| format!("v{i}")).find(|u| on(u)).unwrap();
        assert_eq!(tag(&flags, &a), tag(&flags, &a2));
        assert_ne!(tag(&flags, &a), tag(&flags, &b));
        // Same decisions, another payload: another tag.
        let other = Flags::from_unleash_json(&json("y")).unwrap();
        assert_ne!(tag(&flags, &a), tag(&other, &a));
    }
}
