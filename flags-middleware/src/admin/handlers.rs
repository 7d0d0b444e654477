//! The admin API's handlers.

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use http::{header, HeaderValue};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Caller;
use super::error::AdminError;
use crate::edit::{Commit, Edit};
use crate::error::LoadErrors;
use crate::format::toml as toml_format;
use crate::metrics::{ExposuresSnapshot, MetricsSnapshot, LATENCY_BUCKETS_MS};
use crate::model::{Feature, Segment};
use crate::store::StoreError;
use crate::{Flags, Snapshot};

/// One flag as the API shows it.
fn view(segments: &[Segment], f: &Feature, stats: Option<&MetricsSnapshot>) -> Value {
    json!({
        "name": f.name,
        "enabled": f.enabled,
        "description": f.description,
        "definition": toml_format::feature_to_json(f, segments).unwrap_or(Value::Null),
        "unleash": f,
        "counters": stats.map(|s| counters(s, &f.name)).unwrap_or_else(|| json!({})),
    })
}

/// The flag as it would be written in a flags file (`[name]` and its
/// keys), for people who read TOML; `None` if the format cannot express it.
fn toml_text(f: &Feature, segments: &[Segment]) -> Option<String> {
    let table = toml_format::write_feature_table(f, segments).ok()?;
    let mut doc = toml_edit::DocumentMut::new();
    doc.insert(&f.name, toml_edit::Item::Table(table));
    Some(doc.to_string())
}

/// Live counters per arm (`on`, `off` or a variant name), from the layer's
/// in-process metrics: requests, 5xx responses, error rate, p95 latency,
/// and the latency histogram's counts (one per bound in
/// `latency_bounds_ms`, then the overflow).
fn counters(stats: &MetricsSnapshot, flag: &str) -> Value {
    let Some(flag) = stats.flag(flag) else {
        return json!({});
    };
    flag.arms
        .iter()
        .map(|a| {
            (
                a.arm.clone(),
                json!({
                    "requests": a.requests,
                    "errors": a.errors,
                    "error_rate": a.error_rate(),
                    "p95_ms": a.latency_quantile_ms(0.95),
                    // Cumulative like the rest, so a client takes the
                    // difference of two reads for the latency in between.
                    "latency_buckets": (0..=LATENCY_BUCKETS_MS.len())
                        .map(|bin| a.latency.get(bin))
                        .collect::<Vec<_>>(),
                    "latency_bounds_ms": LATENCY_BUCKETS_MS,
                }),
            )
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Adds what Unleash SDKs reported they answered for the flag
/// (`client_exposures`: `yes`, `no`, `variants`), from the Frontend and
/// client APIs.
fn with_exposures(mut view: Value, exposures: &ExposuresSnapshot, flag: &str) -> Value {
    let counts = exposures
        .flag(flag)
        .map_or_else(|| json!({"yes": 0, "no": 0, "variants": {}}), |e| json!(e));
    view["client_exposures"] = counts;
    view
}

pub(super) fn segments(snap: &Snapshot) -> Vec<Segment> {
    snap.segments().cloned().collect()
}

pub(super) fn with_etag(version: u64, body: Value) -> Response {
    let mut resp = Json(body).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{version}\"")) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

/// `If-Match: "7"` (also `W/"7"`, `7`; `*` matches any version).
pub(super) fn if_match(headers: &HeaderMap) -> Result<Option<u64>, AdminError> {
    let Some(raw) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = raw
        .to_str()
        .map_err(|_| AdminError::BadRequest("If-Match is not text".into()))?
        .trim();
    if text == "*" {
        return Ok(None);
    }
    let bare = text.trim_start_matches("W/").trim_matches('"');
    bare.parse::<u64>().map(Some).map_err(|_| {
        AdminError::BadRequest(format!(
            "If-Match must be a version from an ETag (\"7\"), got `{text}`"
        ))
    })
}

/// `GET /`: every flag, with the version they are at.
pub(crate) async fn list(State(flags): State<Flags>) -> Response {
    let snap = flags.snapshot();
    let segs = segments(&snap);
    let mut features: Vec<Feature> = snap.features().collect();
    features.sort_by(|a, b| a.name.cmp(&b.name));
    let stats = flags.metrics().snapshot();
    let exposures = flags.client_exposures().snapshot();
    let list: Vec<Value> = features
        .iter()
        .map(|f| with_exposures(view(&segs, f, Some(&stats)), &exposures, &f.name))
        .collect();
    with_etag(
        snap.version(),
        json!({ "version": snap.version(), "flags": list }),
    )
}

/// `GET /{name}`.
pub(crate) async fn get_one(
    State(flags): State<Flags>,
    Path(name): Path<String>,
) -> Result<Response, AdminError> {
    let snap = flags.snapshot();
    let f = snap
        .feature(&name)
        .ok_or_else(|| AdminError::NotFound(name.clone()))?;
    let stats = flags.metrics().snapshot();
    let exposures = flags.client_exposures().snapshot();
    let segs = segments(&snap);
    let mut flag = with_exposures(view(&segs, &f, Some(&stats)), &exposures, &f.name);
    flag["toml"] = toml_text(&f, &segs).map_or(Value::Null, Value::String);
    let body = json!({ "version": snap.version(), "flag": flag });
    Ok(with_etag(snap.version(), body))
}

/// Commits `edit` as the caller, against the version in `If-Match` when
/// there is one (else against the newest flags: the edit is applied to the
/// live definition while other commits wait, so concurrent writes to the
/// same flag all land); answers with the flag as it now is.
pub(super) async fn commit(
    flags: &Flags,
    caller: &Caller,
    headers: &HeaderMap,
    edit: Edit,
) -> Result<Response, AdminError> {
    let mut commit = Commit::from(edit);
    commit.expected_version = if_match(headers)?;
    let name = commit.edit.flag().to_owned();
    let done = flags.writer(caller.actor()).commit(commit).await?;
    let snap = &done.snapshot;
    // `null` once deleted.
    let flag = snap.feature(&name).map(|f| view(&segments(snap), &f, None));
    Ok(with_etag(
        done.version,
        json!({ "version": done.version, "changed": done.changed, "flag": flag }),
    ))
}

/// `POST /{name}/kill`: off for everyone, now.
pub(crate) async fn kill(
    State(flags): State<Flags>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AdminError> {
    commit(&flags, &caller, &headers, Edit::kill(name)).await
}

/// `POST /{name}/enable`: on again, for whoever its strategies pick.
pub(crate) async fn enable(
    State(flags): State<Flags>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AdminError> {
    commit(&flags, &caller, &headers, Edit::enable(name)).await
}

pub(super) fn json_body(body: &Bytes) -> Result<Value, AdminError> {
    serde_json::from_slice(body).map_err(|e| AdminError::BadRequest(format!("invalid JSON: {e}")))
}

/// `PUT /{name}/rollout` with `{"percent": 25}`.
pub(crate) async fn rollout(
    State(flags): State<Flags>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AdminError> {
    let body = json_body(&body)?;
    let raw = body.get("percent").unwrap_or(&body);
    let percent = match raw.as_u64() {
        Some(p) if p <= 100 => p as u32,
        Some(p) => {
            return Err(AdminError::field(
                &name,
                "percent",
                format!("a percentage must be between 0 and 100, got {p}"),
            ))
        }
        None => {
            return Err(AdminError::field(
                &name,
                "percent",
                format!("expected a whole percentage from 0 to 100, got {raw}"),
            ))
        }
    };
    commit(&flags, &caller, &headers, Edit::rollout(name, percent)).await
}

/// `PUT /{name}/users` with `{"users": ["user_123"]}`.
pub(crate) async fn users(
    State(flags): State<Flags>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AdminError> {
    let body = json_body(&body)?;
    let list = body
        .get("users")
        .unwrap_or(&body)
        .as_array()
        .ok_or_else(|| AdminError::field(&name, "users", "expected an array of user ids"))?;
    let mut ids = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        let id = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => {
                return Err(AdminError::field(
                    &name,
                    &format!("users[{i}]"),
                    format!("expected a user id, got {other}"),
                ))
            }
        };
        ids.push(id);
    }
    commit(&flags, &caller, &headers, Edit::users(name, ids)).await
}

/// A definition from a request body: Unleash's feature JSON (it has
/// `strategies`) or the TOML format's shape (`{"rollout": 20}`).
fn definition(name: &str, mut body: Value, snap: &Snapshot) -> Result<Definition, AdminError> {
    let Some(obj) = body.as_object_mut() else {
        return Err(AdminError::BadRequest(
            "expected a JSON object: a flag definition".into(),
        ));
    };
    if let Some(given) = obj.get("name") {
        if given.as_str() != Some(name) {
            return Err(AdminError::field(
                name,
                "name",
                format!("the body names flag {given}, the path `{name}`"),
            ));
        }
    }
    if obj.contains_key("strategies") {
        // Unleash's own JSON always says; a body that does not (left out,
        // or misspelt) would otherwise make a flag that is off for everyone.
        if !obj.contains_key("enabled") {
            return Err(AdminError::field(
                name,
                "enabled",
                "an Unleash feature says whether it is enabled: add `\"enabled\": true` (or false)",
            ));
        }
        obj.insert("name".into(), Value::String(name.to_owned()));
        return serde_json::from_value::<Feature>(body)
            .map(|feature| Definition {
                feature,
                spans: None,
            })
            .map_err(|e| AdminError::field(name, "", format!("not an Unleash feature: {e}")));
    }
    obj.remove("name");
    let (feature, spans) =
        toml_format::feature_from_json_spans(name, &body.to_string(), &segments(snap), "admin api")
            .map_err(AdminError::Invalid)?;
    Ok(Definition {
        feature,
        spans: Some(spans),
    })
}

/// A definition from a body, and (for the TOML shape) where each model
/// field came from, so engine errors name the field the caller wrote.
struct Definition {
    feature: Feature,
    spans: Option<toml_format::SpanMap>,
}

impl Definition {
    fn explain(&self, e: AdminError) -> AdminError {
        let (AdminError::Invalid(errors), Some(spans)) = (&e, &self.spans) else {
            return e;
        };
        let mapped = errors
            .iter()
            .cloned()
            .map(|mut err| {
                if let (Some(flag), Some(field)) = (&err.flag, &err.field) {
                    if let Some((path, _)) = spans.locate(flag, field) {
                        if !path.is_empty() {
                            err.field = Some(path.clone());
                        }
                    }
                }
                err
            })
            .collect::<LoadErrors>();
        AdminError::Invalid(mapped)
    }
}

/// `PUT /{name}`: replaces a definition.
pub(crate) async fn replace(
    State(flags): State<Flags>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AdminError> {
    let snap = flags.snapshot();
    if snap.feature(&name).is_none() {
        return Err(AdminError::NotFound(name));
    }
    let def = definition(&name, json_body(&body)?, &snap)?;
    commit(
        &flags,
        &caller,
        &headers,
        Edit::replace(def.feature.clone()),
    )
    .await
    .map_err(|e| def.explain(e))
}

/// `POST /` with a definition that has a `name`: creates a flag.
pub(crate) async fn create(
    State(flags): State<Flags>,
    Extension(caller): Extension<Caller>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AdminError> {
    let body = json_body(&body)?;
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| AdminError::BadRequest("a new flag needs a `name`".into()))?
        .to_owned();
    let snap = flags.snapshot();
    if snap.feature(&name).is_some() {
        return Err(AdminError::Exists(name));
    }
    let def = definition(&name, body, &snap)?;
    let resp = commit(&flags, &caller, &headers, Edit::create(def.feature.clone()))
        .await
        .map_err(|e| def.explain(e))?;
    // Where the new flag is, as the caller reached this router (nested or
    // not); a name may hold any letter, so it is percent-encoded.
    let at = format!(
        "{}/{}",
        uri.path().trim_end_matches('/'),
        crate::url::path_segment(&name)
    );
    let mut resp = (http::StatusCode::CREATED, resp).into_response();
    if let Ok(location) = HeaderValue::from_str(&at) {
        resp.headers_mut().insert(header::LOCATION, location);
    }
    Ok(resp)
}

/// `DELETE /{name}`.
pub(crate) async fn delete(
    State(flags): State<Flags>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AdminError> {
    commit(&flags, &caller, &headers, Edit::delete(name)).await
}

/// `GET /_status`: source, version, last reload error.
pub(crate) async fn status(State(flags): State<Flags>) -> Response {
    let status = flags.status();
    with_etag(status.version, json!(status))
}

/// Paging for `GET /_audit`, and the flag to keep entries of.
#[derive(Debug, Deserialize)]
pub(crate) struct Page {
    #[serde(default)]
    offset: usize,
    #[serde(default = "default_limit")]
    limit: usize,
    /// Only the entries about this flag.
    flag: Option<String>,
}

fn default_limit() -> usize {
    50
}

/// `GET /_audit?limit=50&offset=0[&flag=name]`: newest first.
pub(crate) async fn audit(
    State(flags): State<Flags>,
    Query(page): Query<Page>,
) -> Result<Response, AdminError> {
    let limit = page.limit.min(1000);
    let entries = match &page.flag {
        Some(flag) => flags.audit_page_of(flag, page.offset, limit).await,
        None => flags.audit_page(page.offset, limit).await,
    }
    .map_err(|e| match e {
        StoreError::Unavailable(m) => AdminError::Unavailable(m),
        other => AdminError::Internal(other.to_string()),
    })?;
    let mut body = json!({ "offset": page.offset, "limit": limit, "entries": entries });
    if let Some(flag) = page.flag {
        body["flag"] = json!(flag);
    }
    Ok(Json(body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_reads_etags() {
        let mut h = HeaderMap::new();
        assert_eq!(if_match(&h).unwrap(), None);
        h.insert(header::IF_MATCH, HeaderValue::from_static("\"7\""));
        assert_eq!(if_match(&h).unwrap(), Some(7));
        h.insert(header::IF_MATCH, HeaderValue::from_static("W/\"8\""));
        assert_eq!(if_match(&h).unwrap(), Some(8));
        h.insert(header::IF_MATCH, HeaderValue::from_static("*"));
        assert_eq!(if_match(&h).unwrap(), None);
        h.insert(header::IF_MATCH, HeaderValue::from_static("abc"));
        assert!(if_match(&h).is_err());
    }
}
