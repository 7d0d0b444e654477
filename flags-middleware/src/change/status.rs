//! What the change path reports: where the flags come from and how the last
//! reload went ([`Control`](super::control::Control) keeps the latter).

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::LoadError;
use crate::store::RemoteStatus;

/// Where the flags come from and how the last reload went (the admin API's
/// `GET /_status`; [`Flags::status`](crate::Flags::status)).
///
/// ```
/// use flags_middleware::Flags;
///
/// let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
/// let status = flags.status();
/// assert_eq!(status.version, flags.version());
/// assert!(status.last_error.is_none(), "nothing refused");
/// ```
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SourceStatus {
    /// The store: `file /srv/flags.toml`, `memory`.
    pub source: String,
    /// How outside changes are noticed: `inotify`, `polling`, `none`.
    pub watching: &'static str,
    /// The live version.
    pub version: u64,
    /// When the store was last read successfully.
    pub last_reload: Option<DateTime<Utc>>,
    /// The last outside edit that was rejected, until a good one replaces it.
    pub last_error: Option<ReloadError>,
    /// The audit log file, if there is one.
    pub audit_log: Option<PathBuf>,
    /// For a store that polls a server (Unleash): when it last answered,
    /// why it last failed, whether it is still asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote: Option<RemoteStatus>,
}

/// An outside edit that was rejected; the previous flags kept serving.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ReloadError {
    /// When it was seen.
    pub at: DateTime<Utc>,
    /// Every problem in it.
    pub errors: Vec<LoadError>,
}
