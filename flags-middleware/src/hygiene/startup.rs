//! At startup: one WARN per flag the code refers to that the served flags
//! do not define (a typo, or a flag deleted while code still asks for it).

use crate::engine::Snapshot;

/// The target of the hygiene warnings.
///
/// ```
/// use flags_middleware::{hygiene::HYGIENE_TARGET, Context, Flags};
/// use tracing_subscriber::EnvFilter;
///
/// # let log = tempfile::NamedTempFile::new().unwrap();
/// // The hygiene warnings only, say to a log of their own.
/// let filter = EnvFilter::new(format!("{HYGIENE_TARGET}=warn"));
/// let subscriber = tracing_subscriber::fmt().with_env_filter(filter).with_writer(log.reopen().unwrap()).with_ansi(false).finish();
/// tracing::subscriber::with_default(subscriber, || {
///     let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
///     assert!(!flags.is_enabled("new_chekout_flow", &Context::new())); // a typo, warned of
///     tracing::warn!("the app's own warning");
/// });
/// let logged = std::fs::read_to_string(log.path()).unwrap();
/// assert!(logged.contains("new_chekout_flow") && !logged.contains("the app's own warning"));
/// ```
pub const HYGIENE_TARGET: &str = "flags::hygiene";

/// Warns once per flag in the registry that `snapshot` does not define;
/// returns how many.
pub(crate) fn warn_undefined(snapshot: &Snapshot) -> usize {
    let undefined = super::undefined_flags(snapshot.names());
    for flag in &undefined {
        let sites: Vec<String> = flag.uses.iter().map(|u| u.to_string()).collect();
        tracing::warn!(
            target: HYGIENE_TARGET,
            flag = flag.name,
            did_you_mean = flag.did_you_mean.as_deref(),
            call_sites = sites.join(", "),
            "flag used in code is not defined: it is off for everyone"
        );
    }
    undefined.len()
}
