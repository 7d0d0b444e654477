//! The metrics report every Unleash SDK posts to `/client/metrics`:
//! `{"appName", "instanceId", "bucket": {"start", "stop", "toggles":
//! {"flag": {"yes": n, "no": n, "variants": {"name": n}}}}}`.

use std::collections::BTreeMap;

use axum::body::Bytes;
use serde::Deserialize;

use crate::metrics::ClientExposures;

#[derive(Debug, Deserialize)]
struct Report {
    bucket: Bucket,
}

#[derive(Debug, Deserialize)]
struct Bucket {
    #[serde(default)]
    toggles: BTreeMap<String, Toggle>,
}

#[derive(Debug, Default, Deserialize)]
struct Toggle {
    #[serde(default)]
    yes: u64,
    #[serde(default)]
    no: u64,
    #[serde(default)]
    variants: BTreeMap<String, u64>,
}

/// Adds a posted report to `exposures`; the error says what is wrong with
/// the body.
pub(crate) fn count(body: &Bytes, exposures: &ClientExposures) -> Result<usize, String> {
    let report: Report = serde_json::from_slice(body).map_err(|e| {
        format!("metrics body: {e} (expected {{\"bucket\": {{\"toggles\": {{..}}}}}})")
    })?;
    let n = report.bucket.toggles.len();
    for (flag, t) in &report.bucket.toggles {
        exposures.add(
            flag,
            t.yes,
            t.no,
            t.variants.iter().map(|(k, v)| (k.as_str(), *v)),
        );
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_browser_sdk_report_is_counted() {
        let e = ClientExposures::default();
        let body = Bytes::from_static(
            br#"{"bucket":{"start":"2026-01-01T00:00:00Z","stop":"2026-01-01T00:00:30Z",
                "toggles":{"a":{"yes":2,"no":1,"variants":{"blue":2}}}},
                "appName":"web","instanceId":"browser"}"#,
        );
        assert_eq!(count(&body, &e), Ok(1));
        let s = e.snapshot();
        assert_eq!(s.flag("a").unwrap().variants["blue"], 2);
        assert!(count(&Bytes::from_static(b"{}"), &e)
            .unwrap_err()
            .contains("bucket"));
    }
}
