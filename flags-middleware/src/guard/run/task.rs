//! The spawned task that checks every interval.

use super::guard::Guard;

impl Guard {
    /// Starts checking every interval on the current tokio runtime; the
    /// checks stop when the returned task is dropped.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::guard::{Guard, GuardConfig};
    /// use flags_middleware::Flags;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
    /// let guard = Guard::for_flags(&flags).watch("f", GuardConfig::new()).build();
    /// let task = guard.spawn(); // keep it: dropping it stops the checks
    /// // The first check is due at once.
    /// let first = async {
    ///     while guard.snapshot().checks == 0 {
    ///         tokio::time::sleep(Duration::from_millis(1)).await;
    ///     }
    /// };
    /// tokio::time::timeout(Duration::from_secs(10), first).await.expect("a first check");
    /// drop(task);
    /// # }
    /// ```
    pub fn spawn(&self) -> GuardTask {
        let guard = self.clone();
        let handle = tokio::spawn(async move {
            let mut every = tokio::time::interval(guard.shared.interval);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                guard.check().await;
            }
        });
        GuardTask { handle }
    }
}

/// The checks [`Guard::spawn`] started; they stop when this is dropped.
///
/// ```
/// use std::time::Duration;
/// use flags_middleware::guard::{Guard, GuardConfig};
/// use flags_middleware::Flags;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
/// let guard = Guard::for_flags(&flags)
///     .interval(Duration::from_millis(10))
///     .watch("f", GuardConfig::new())
///     .build();
/// let task = guard.spawn();
/// while guard.snapshot().checks == 0 {
///     tokio::time::sleep(Duration::from_millis(10)).await;
/// }
/// task.stop();
/// let checks = guard.snapshot().checks;
/// tokio::time::sleep(Duration::from_millis(50)).await;
/// assert_eq!(guard.snapshot().checks, checks);
/// # }
/// ```
#[derive(Debug)]
#[must_use = "the guard stops checking when its task is dropped"]
pub struct GuardTask {
    handle: tokio::task::JoinHandle<()>,
}

impl GuardTask {
    /// Stops the checks.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flags_middleware::guard::{Guard, GuardConfig};
    /// use flags_middleware::Flags;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
    /// let guard = Guard::for_flags(&flags)
    ///     .interval(Duration::from_millis(5))
    ///     .watch("f", GuardConfig::new())
    ///     .build();
    /// let task = guard.spawn();
    /// task.stop(); // as dropping it does
    /// // Ten intervals later, not one check has run.
    /// tokio::time::sleep(Duration::from_millis(50)).await;
    /// assert_eq!(guard.snapshot().checks, 0);
    /// # }
    /// ```
    pub fn stop(self) {}
}

impl Drop for GuardTask {
    fn drop(&mut self) {
        self.handle.abort();
    }
}
