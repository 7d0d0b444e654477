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
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use flags_middleware::{edit::Edit, Flags};
///
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("flags.toml");
/// std::fs::write(&path, "[new_checkout_flow]\nrollout = 20\n").unwrap();
/// let flags = Flags::from_file(&path).unwrap();
/// std::fs::write(&path, "[new_checkout_flow]\nrollout = 150\n").unwrap(); // a bad hand edit
/// // A change finds the edit not loaded, reads it, and is refused with it.
/// assert!(flags.writer("ops").commit(Edit::kill("new_checkout_flow")).await.is_err());
///
/// let rejected = flags.status().last_error.unwrap();
/// assert_eq!(rejected.errors[0].field.as_deref(), Some("rollout"));
/// assert_eq!((rejected.errors[0].line, flags.version()), (Some(2), 1)); // version 1 still serves
/// # }
/// ```
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ReloadError {
    /// When it was seen.
    pub at: DateTime<Utc>,
    /// Every problem in it.
    pub errors: Vec<LoadError>,
}
