//! The listening connection: `LISTEN` on a dedicated connection, wake the
//! flags on every change another instance commits, and survive the
//! database going away.
//!
//! tokio-postgres hands notifications out of `Connection::poll_message`, so
//! this task drives its connection itself (a stream over `poll_message`)
//! instead of spawning it. When the connection drops, or the heartbeat
//! query gets no answer, it reconnects with backoff; after each
//! (re)connect it asks for a full resync, *after* `LISTEN` is active, so a
//! change committed while it was away is read by the resync and a change
//! committed after is announced: none is missed.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_postgres::AsyncMessage;

use super::sql::{Notice, CHANNEL};
use super::Inner;
use crate::store::Wake;

/// How soon a wake-up that has not been answered yet (the refresh failed)
/// is first repeated; it then backs off, up to the store's back-off cap.
const RETRY_WAKE: Duration = Duration::from_millis(200);

/// Keeps listening, reconnecting, until aborted.
pub(super) async fn run(inner: Arc<Inner>, wake: Wake) {
    let mut backoff = Backoff::new(inner.config.backoff_min, inner.config.backoff_max);
    loop {
        let lost = listen(&inner, &wake, &mut backoff).await;
        let was_listening = inner.listening.swap(false, Ordering::Relaxed);
        let wait = backoff.next_wait();
        if was_listening {
            tracing::warn!(
                target: "flags::postgres",
                database = %inner.config.target(),
                error = %lost,
                "lost the database connection; serving the last good flags and reconnecting"
            );
        } else {
            tracing::debug!(
                target: "flags::postgres",
                database = %inner.config.target(),
                error = %lost,
                retry_in_ms = wait.as_millis() as u64,
                "cannot listen for flag changes yet"
            );
        }
        tokio::time::sleep(wait).await;
    }
}

/// One connection's life; returns why it ended.
async fn listen(inner: &Arc<Inner>, wake: &Wake, backoff: &mut Backoff) -> String {
    let config = &inner.config;
    let (client, mut connection) = match super::connect::open(config, "listen").await {
        Ok(pair) => pair,
        Err(e) => return e.to_string(),
    };
    let (tx, mut rx) = mpsc::unbounded_channel::<Result<String, String>>();
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if tx.send(Ok(n.payload().to_owned())).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    let _ = tx.send(Err(super::sql::db_error(e).to_string()));
                    return;
                }
            }
        }
        let _ = tx.send(Err("the server closed the connection".to_owned()));
    });
    let _driver = AbortOnDrop(driver.abort_handle());

    let listening = tokio::time::timeout(
        config.query_timeout,
        client.batch_execute(&format!("LISTEN {CHANNEL}")),
    )
    .await;
    match listening {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return super::sql::db_error(e).to_string(),
        Err(_) => return "LISTEN got no answer".to_owned(),
    }
    inner.listening.store(true, Ordering::Relaxed);
    backoff.reset();
    tracing::info!(target: "flags::postgres", database = %config.target(), "listening for flag changes");
    // Whatever changed while we were not listening.
    inner.ask(wake);

    let mut next_beat = after(config.heartbeat);
    let mut retry = Retry::new(config.backoff_max);
    loop {
        let retry_at = retry.next(inner.pending());
        let tick = retry_at
            .map_or(next_beat, |at| at.min(next_beat))
            .saturating_duration_since(Instant::now());
        tokio::select! {
            message = rx.recv() => match message {
                Some(Ok(payload)) => on_notice(inner, wake, &payload),
                Some(Err(e)) => return e,
                None => return "the connection ended".to_owned(),
            },
            () = tokio::time::sleep(tick) => {
                if retry_at.is_some_and(|at| Instant::now() >= at) {
                    retry.fired();
                    if inner.pending() {
                        wake();
                    }
                }
                if Instant::now() >= next_beat {
                    let beat = tokio::time::timeout(config.heartbeat, client.simple_query("SELECT 1")).await;
                    match beat {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => return super::sql::db_error(e).to_string(),
                        Err(_) => return "the heartbeat query got no answer".to_owned(),
                    }
                    next_beat = after(config.heartbeat);
                }
            }
        }
    }
}

/// Wakes the flags for a change this instance has not synced yet.
fn on_notice(inner: &Inner, wake: &Wake, payload: &str) {
    match serde_json::from_str::<Notice>(payload) {
        Ok(n) if n.namespace != inner.config.namespace => {}
        Ok(n) if n.version <= inner.synced_version() => {}
        Ok(n) => {
            tracing::debug!(target: "flags::postgres", version = n.version, by = %n.instance, "flags changed");
            inner.ask(wake);
        }
        // Not ours to read (another version of this crate?): look anyway.
        Err(_) => inner.ask(wake),
    }
}

/// Aborts a task when dropped.
#[derive(Debug)]
pub(super) struct AbortOnDrop(pub(super) tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Exponential backoff with jitter.
#[derive(Debug)]
struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    fn new(min: Duration, max: Duration) -> Self {
        Backoff {
            min,
            max,
            next: min,
        }
    }

    fn reset(&mut self) {
        self.next = self.min;
    }

    /// The next wait: the current step with ±20% jitter (so instances that
    /// lost the database together do not all come back at once); doubles
    /// the step.
    fn next_wait(&mut self) -> Duration {
        let step = self.next;
        self.next = step.saturating_mul(2).min(self.max);
        let jittered = step.as_secs_f64() * (0.8 + fastrand::f64() * 0.4);
        Duration::try_from_secs_f64(jittered).unwrap_or(step)
    }
}

/// When to repeat a wake-up the refresh has not answered: soon at first,
/// then backing off, so a database that keeps failing the refresh (no
/// connection slots left, a migration lock held) is not asked again five
/// times a second by every instance.
struct Retry {
    backoff: Backoff,
    at: Option<Instant>,
}

impl Retry {
    fn new(max: Duration) -> Retry {
        Retry {
            backoff: Backoff::new(RETRY_WAKE, max.max(RETRY_WAKE)),
            at: None,
        }
    }

    /// The next retry's time while a wake-up is `pending`; none, and the
    /// back-off reset, once it was answered.
    fn next(&mut self, pending: bool) -> Option<Instant> {
        if !pending {
            self.backoff.reset();
            self.at = None;
            return None;
        }
        let backoff = &mut self.backoff;
        Some(*self.at.get_or_insert_with(|| after(backoff.next_wait())))
    }

    /// The retry's time came: the next one is a longer wait away.
    fn fired(&mut self) {
        self.at = None;
    }
}

/// `wait` from now; a wait too long for the clock (`Duration::MAX`, say)
/// is a year, which is never in practice.
fn after(wait: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(wait)
        .or_else(|| now.checked_add(Duration::from_secs(365 * 24 * 3600)))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(800));
        let waits: Vec<Duration> = (0..6).map(|_| b.next_wait()).collect();
        let steps = [100u64, 200, 400, 800, 800, 800];
        for (w, s) in waits.iter().zip(steps) {
            let s = Duration::from_millis(s);
            assert!(
                *w >= s.mul_f64(0.8) && *w <= s.mul_f64(1.2),
                "{w:?} vs {s:?}"
            );
        }
        b.reset();
        assert!(b.next_wait() <= Duration::from_millis(120));
    }

    #[test]
    fn an_unanswered_wake_up_is_retried_ever_less_often_until_answered() {
        let mut retry = Retry::new(Duration::from_secs(5));
        assert_eq!(retry.next(false), None);
        // Each retry waits longer than the last (doubling beats the
        // jitter), up to the cap; asking again before it fires keeps it.
        let mut waits = Vec::new();
        for _ in 0..8 {
            let start = Instant::now();
            let at = retry.next(true).unwrap();
            assert_eq!(retry.next(true), Some(at));
            waits.push(at - start);
            retry.fired();
        }
        assert!(waits[..5].windows(2).all(|w| w[0] < w[1]), "{waits:?}");
        assert!(waits[0] <= Duration::from_millis(250), "{waits:?}");
        assert!(waits[7] >= Duration::from_secs(4), "{waits:?}");
        // Answered: the next failure starts soon again.
        assert_eq!(retry.next(false), None);
        let at = retry.next(true).unwrap();
        assert!(at - Instant::now() <= Duration::from_millis(250));
    }

    #[test]
    fn waits_too_long_for_the_clock_do_not_panic() {
        let mut b = Backoff::new(Duration::MAX, Duration::MAX);
        assert!(b.next_wait() >= Duration::MAX.mul_f64(0.7));
        assert!(b.next_wait() >= Duration::MAX.mul_f64(0.7));
        assert!(after(Duration::MAX) > Instant::now());
    }
}
