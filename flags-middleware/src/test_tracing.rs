//! For unit tests that install a thread-local subscriber while other tests
//! run beside them.

use std::sync::OnceLock;

use tracing::subscriber::NoSubscriber;
use tracing::Dispatch;

/// Makes tracing-core ask every live dispatcher when a callsite is first
/// hit, and asks again for those already hit. While only one dispatcher is
/// alive it asks just the current thread's: a test beside this one, without
/// a subscriber, would cache "never" for an event this test waits for. A
/// second dispatcher that lives forever prevents it.
pub(crate) fn ask_every_dispatcher() {
    static SECOND: OnceLock<Dispatch> = OnceLock::new();
    SECOND.get_or_init(|| Dispatch::new(NoSubscriber::default()));
    tracing::callsite::rebuild_interest_cache();
}
