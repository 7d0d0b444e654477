//! `GET /features`: the app's flags as Unleash's client-API JSON,
//! serialized once per flag-set version and segment style.

use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::json;

use super::ClientApi;
use crate::format::unleash::{to_client_json, Segments};
use crate::sdk::etag;
use crate::Snapshot;

/// The first client spec that understands a top-level `segments` list.
const SEGMENTS_SPEC: semver::Version = semver::Version::new(4, 2, 0);

/// One serialized answer and its ETag.
#[derive(Debug)]
pub(super) struct Served {
    body: Vec<u8>,
    etag: String,
}

/// The answers for one snapshot: separate segments, inlined.
type PerStyle = [Option<Arc<Served>>; 2];

/// The answers for the last snapshot seen, per segment style.
#[derive(Debug, Default)]
pub(super) struct BodyCache {
    last: Mutex<Option<(Arc<Snapshot>, PerStyle)>>,
}

impl BodyCache {
    fn get(&self, snapshot: &Arc<Snapshot>, segments: Segments) -> Arc<Served> {
        let slot = usize::from(segments == Segments::Inlined);
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        match &mut *last {
            Some((snap, served)) if Arc::ptr_eq(snap, snapshot) => {
                if let Some(s) = &served[slot] {
                    return Arc::clone(s);
                }
                let s = Arc::new(serve(snapshot, segments));
                served[slot] = Some(Arc::clone(&s));
                s
            }
            _ => {
                let s = Arc::new(serve(snapshot, segments));
                let mut served = [None, None];
                served[slot] = Some(Arc::clone(&s));
                *last = Some((Arc::clone(snapshot), served));
                s
            }
        }
    }
}

fn serve(snapshot: &Snapshot, segments: Segments) -> Served {
    let set = snapshot.to_flag_set();
    let mut body = to_client_json(&set, segments);
    // The tag covers the definitions only, so it is the same on every
    // instance serving the same flags, whatever their version numbers.
    let etag = etag::weak(body.to_string().as_bytes());
    body["query"] = json!({ "inlineSegmentConstraints": segments == Segments::Inlined });
    body["meta"] = json!({ "revisionId": snapshot.version(), "etag": etag, "queryHash": "" });
    Served {
        body: serde_json::to_vec(&body).unwrap_or_default(),
        etag,
    }
}

/// The segment style an SDK understands, from `Unleash-Client-Spec`.
fn segments_for(headers: &HeaderMap) -> Segments {
    let spec = headers
        .get("unleash-client-spec")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| semver::Version::parse(v.trim()).ok());
    match spec {
        Some(v) if v >= SEGMENTS_SPEC => Segments::Separate,
        _ => Segments::Inlined,
    }
}

pub(super) async fn features(State(s): State<ClientApi>, headers: HeaderMap) -> Response {
    let snapshot = s.flags.snapshot();
    let served = s.bodies.get(&snapshot, segments_for(&headers));
    let tag = HeaderValue::from_str(&served.etag).unwrap_or(HeaderValue::from_static("W/\"0\""));
    if etag::matches(&headers, &served.etag) {
        return (StatusCode::NOT_MODIFIED, [(ETAG, tag)]).into_response();
    }
    (
        StatusCode::OK,
        [
            (CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (ETAG, tag),
            (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        served.body.clone(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_header_picks_the_segment_style() {
        let mut h = HeaderMap::new();
        assert_eq!(segments_for(&h), Segments::Inlined);
        h.insert("unleash-client-spec", "4.1.9".parse().unwrap());
        assert_eq!(segments_for(&h), Segments::Inlined);
        h.insert("unleash-client-spec", "4.2.0".parse().unwrap());
        assert_eq!(segments_for(&h), Segments::Separate);
        h.insert("unleash-client-spec", "5.2.0".parse().unwrap());
        assert_eq!(segments_for(&h), Segments::Separate);
    }
}
