//! Client-side exposures: what Unleash SDKs (the browser's
//! `unleash-proxy-client`, server SDKs of other services) report they
//! answered, per flag: how often on (`yes`), off (`no`), and per variant.
//!
//! Kept apart from the request counters ([`Metrics`](super::Metrics)):
//! these have no status or latency, and they arrive in batches from
//! `POST /client/metrics` of the [Frontend API](crate::frontend) and the
//! [client API](crate::client_api).

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use serde::Serialize;

/// The most flags tracked; reports about more are counted in
/// [`ExposuresSnapshot::dropped`]. SDKs report any name they were asked
/// about, so the table must not grow without bound.
const MAX_FLAGS: usize = 4096;
/// The most variants tracked per flag.
const MAX_VARIANTS: usize = 64;

/// Cumulative client-side exposure counts per flag.
///
/// ```
/// use flags_middleware::metrics::ClientExposures;
///
/// let exposures = ClientExposures::default();
/// exposures.add("new_checkout_flow", 3, 1, [("blue", 2)]);
/// let flag = exposures.snapshot().flag("new_checkout_flow").cloned().unwrap();
/// assert_eq!((flag.yes, flag.no, flag.variants["blue"]), (3, 1, 2));
/// ```
#[derive(Debug, Default)]
pub struct ClientExposures {
    table: Mutex<ExposuresSnapshot>,
}

/// A copy of the client-side exposure counts.
///
/// ```
/// use axum::{body::Body, http::Request, Router};
/// use flags_middleware::{client_api::ClientApiConfig, Flags};
/// use tower::ServiceExt as _;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
/// let api: Router = flags.client_router(ClientApiConfig::new(["a-client-token"]));
/// // Another service's Unleash SDK reports what it answered.
/// let report = r#"{"bucket": {"toggles": {"new_checkout_flow": {"yes": 3, "no": 1}}}}"#;
/// let request = Request::post("/metrics").header("authorization", "a-client-token");
/// let response = api.oneshot(request.body(Body::from(report)).unwrap()).await.unwrap();
/// assert_eq!(response.status(), 202);
///
/// let exposures = flags.client_exposures().snapshot();
/// assert_eq!(exposures.flag("new_checkout_flow").map(|f| (f.yes, f.no)), Some((3, 1)));
/// assert_eq!(exposures.dropped, 0);
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ExposuresSnapshot {
    /// Per flag name.
    pub flags: BTreeMap<String, FlagExposures>,
    /// Reports not counted because the table was full.
    pub dropped: u64,
}

/// One flag's client-side exposures.
///
/// ```
/// use flags_middleware::Flags;
///
/// let flags = Flags::from_toml_str("[button_color]\nvariants = [\"blue\", \"green\"]\n", "flags.toml").unwrap();
/// // Two reports from SDKs (as `POST /client/metrics` adds them): they add up.
/// flags.client_exposures().add("button_color", 2, 1, [("blue", 2), ("disabled", 1)]);
/// flags.client_exposures().add("button_color", 1, 0, [("green", 1)]);
/// let snapshot = flags.client_exposures().snapshot();
/// let color = &snapshot.flags["button_color"];
/// assert_eq!((color.yes, color.no), (3, 1));
/// let variants: Vec<(&str, u64)> = color.variants.iter().map(|(v, n)| (v.as_str(), *n)).collect();
/// assert_eq!(variants, [("blue", 2), ("disabled", 1), ("green", 1)]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct FlagExposures {
    /// Times an SDK answered "on".
    pub yes: u64,
    /// Times an SDK answered "off".
    pub no: u64,
    /// Times an SDK handed out each variant (`disabled` included, as SDKs report it).
    pub variants: BTreeMap<String, u64>,
}

impl ClientExposures {
    /// Adds one report for `flag`.
    ///
    /// ```
    /// use flags_middleware::metrics::ClientExposures;
    ///
    /// let exposures = ClientExposures::default();
    /// exposures.add("button_color", 5, 0, [("blue", 3), ("green", 2)]);
    /// exposures.add("button_color", 1, 4, [("blue", 1), ("disabled", 4)]);
    /// let color = exposures.snapshot().flag("button_color").cloned().unwrap();
    /// assert_eq!((color.yes, color.no, color.variants["blue"]), (6, 4, 4));
    /// ```
    pub fn add<'a>(
        &self,
        flag: &str,
        yes: u64,
        no: u64,
        variants: impl IntoIterator<Item = (&'a str, u64)>,
    ) {
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        if !table.flags.contains_key(flag) && table.flags.len() >= MAX_FLAGS {
            table.dropped += 1;
            return;
        }
        let entry = table.flags.entry(flag.to_owned()).or_default();
        entry.yes = entry.yes.saturating_add(yes);
        entry.no = entry.no.saturating_add(no);
        let mut dropped = 0;
        for (name, n) in variants {
            if !entry.variants.contains_key(name) && entry.variants.len() >= MAX_VARIANTS {
                dropped += 1;
                continue;
            }
            let slot = entry.variants.entry(name.to_owned()).or_default();
            *slot = slot.saturating_add(n);
        }
        table.dropped += dropped;
    }

    /// A copy of every count.
    ///
    /// ```
    /// use flags_middleware::metrics::ClientExposures;
    ///
    /// let exposures = ClientExposures::default();
    /// exposures.add("f", 1, 0, []);
    /// let before = exposures.snapshot();
    /// exposures.add("f", 1, 0, []);
    /// assert_eq!(before.flag("f").unwrap().yes, 1); // a copy
    /// assert_eq!(exposures.snapshot().flag("f").unwrap().yes, 2);
    /// ```
    pub fn snapshot(&self) -> ExposuresSnapshot {
        self.table
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl ExposuresSnapshot {
    /// The counts of `flag`, if any SDK reported it.
    ///
    /// ```
    /// use flags_middleware::Flags;
    ///
    /// let flags = Flags::from_toml_str("[f]\n[g]\n", "flags.toml").unwrap();
    /// flags.client_exposures().add("f", 0, 2, []);
    /// let snapshot = flags.client_exposures().snapshot();
    /// assert_eq!(snapshot.flag("f").map(|f| f.no), Some(2));
    /// assert!(snapshot.flag("g").is_none()); // defined, never reported
    /// ```
    pub fn flag(&self, flag: &str) -> Option<&FlagExposures> {
        self.flags.get(flag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_add_up_and_the_table_is_bounded() {
        let e = ClientExposures::default();
        e.add("a", 1, 2, [("x", 1)]);
        e.add("a", 1, 0, [("x", 2), ("y", 1)]);
        let s = e.snapshot();
        let a = s.flag("a").unwrap();
        assert_eq!(
            (a.yes, a.no, a.variants["x"], a.variants["y"]),
            (2, 2, 3, 1)
        );
        for i in 0..MAX_FLAGS + 3 {
            e.add(&format!("f{i}"), 1, 0, []);
        }
        let s = e.snapshot();
        assert_eq!(s.flags.len(), MAX_FLAGS);
        assert_eq!(s.dropped, 4);
    }
}
