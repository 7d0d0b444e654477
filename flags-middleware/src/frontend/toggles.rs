//! The Frontend API's answer: every flag that is on for the caller, with
//! its variant, shaped as Unleash's `{"toggles": [...]}`.

use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;

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
}

impl Catalog {
    fn build(snapshot: &Snapshot) -> Catalog {
        let mut entries: Vec<(&str, FlagId, bool)> = snapshot
            .features()
            .filter_map(|f| {
                let id = snapshot.lookup(&f.name)?;
                Some((snapshot.name(id)?, id, f.impression_data))
            })
            .collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        Catalog {
            entries: entries.into_iter().map(|(_, id, imp)| (id, imp)).collect(),
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

/// Evaluates every flag for `ctx`, calls `each` with every evaluation (for
/// the decision events), and returns the body: the flags that are on.
pub(crate) fn render<'a>(
    snapshot: &'a Snapshot,
    catalog: &Catalog,
    ctx: &Context,
    mut each: impl FnMut(&Evaluation<'a>),
) -> Vec<u8> {
    let mut toggles = Vec::new();
    for &(id, impression_data) in &catalog.entries {
        let Some(name) = snapshot.name(id) else {
            continue;
        };
        let decision = snapshot.decide(Some(id), ctx);
        let eval = snapshot.evaluation(name, Some(id), &decision);
        each(&eval);
        if !eval.enabled {
            continue;
        }
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
    serde_json::to_vec(&Body { toggles }).unwrap_or_else(|_| b"{\"toggles\":[]}".to_vec())
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
        let body = render(&snap, &catalog, &Context::new().user_id("u"), |_| seen += 1);
        assert_eq!(seen, 3);
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
