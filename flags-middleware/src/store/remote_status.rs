//! [`RemoteStatus`]: how a store that polls a server (Unleash) is doing,
//! for [`Flags::status`](crate::Flags::status) and the admin API's `_status`.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// How a polled source is doing: when it last answered, why it last failed,
/// whether it is still being asked. Part of
/// [`SourceStatus`](crate::change::SourceStatus) for such stores.
///
/// ```
/// # #[cfg(not(feature = "unleash"))] fn main() {}
/// # #[cfg(feature = "unleash")]
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::time::Duration;
/// use flags_middleware::{store::UnleashConfig, Flags};
///
/// // Nothing listens on port 1: the first fetch fails, so no flags yet.
/// let config = UnleashConfig::new("http://127.0.0.1:1/api", "default:development.secret")
///     .unwrap()
///     .timeout(Duration::from_secs(1));
/// let flags = Flags::from_unleash(config).await.unwrap();
/// let remote = flags.status().remote.unwrap();
/// assert_eq!(remote.url, "http://127.0.0.1:1/api/client/features");
/// assert_eq!((remote.polling, remote.ready, remote.serving), (true, false, "empty"));
/// assert!(remote.last_success.is_none() && remote.last_failure.is_some());
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RemoteStatus {
    /// What is asked: `http://unleash:4242/api/client/features`.
    pub url: String,
    /// Whether it is still being asked (`false` once it refused the token).
    pub polling: bool,
    /// Whether a fetch has succeeded since this process started.
    pub ready: bool,
    /// Where the flags served come from: `unleash`, `last-known-good`,
    /// `bootstrap` or `empty` (nothing yet).
    pub serving: &'static str,
    /// When the server last answered 200 or 304.
    pub last_success: Option<DateTime<Utc>>,
    /// The last failed call, until a call succeeds again.
    pub last_failure: Option<RemoteFailure>,
    /// Failures counted by the back-off (0..=10): the next call waits
    /// `interval × (1 + failures)`.
    pub failures: u32,
    /// Answers with new flags (200) since start.
    pub fetched: u64,
    /// Answers "nothing changed" (304) since start.
    pub unchanged: u64,
    /// Metrics buckets the server accepted since start.
    pub metrics_sent: u64,
    /// Why the last metrics post failed, until one succeeds.
    pub metrics_error: Option<String>,
}

/// A failed call to the polled source.
///
/// ```
/// # #[cfg(not(feature = "unleash"))] fn main() {}
/// # #[cfg(feature = "unleash")]
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::time::Duration;
/// use flags_middleware::{store::UnleashConfig, Flags};
///
/// // Nothing listens on port 1: the connection is refused.
/// let config = UnleashConfig::new("http://127.0.0.1:1/api", "default:development.secret")
///     .unwrap()
///     .timeout(Duration::from_secs(1));
/// let flags = Flags::from_unleash(config).await.unwrap();
/// let failure = flags.status().remote.unwrap().last_failure.unwrap();
/// assert_eq!(failure.status, None, "no HTTP answer at all");
/// assert!(failure.reason.starts_with("cannot reach Unleash: "), "{}", failure.reason);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RemoteFailure {
    /// When.
    pub at: DateTime<Utc>,
    /// The HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// What went wrong, in words.
    pub reason: String,
}
