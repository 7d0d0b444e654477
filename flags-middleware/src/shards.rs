//! Counters that each thread adds to without a read-modify-write.
//!
//! The layer settles every request by adding to a few counters per flag it
//! asked (metrics per arm, usage per route). With one shared atomic per
//! counter each addition is a locked instruction, and across cores every
//! worker thread fights for the same cache line. So a counter here is
//! [`Shards`]: one copy per thread that asks for a [`Local`] handle, which
//! only that thread writes (a plain load and store, no lock prefix, no
//! contention), plus a shared copy for everyone else (atomic additions).
//! Readers sum the copies; a value read while a thread adds may miss that
//! addition, as it could before.
//!
//! A [`Local`] is `!Send`: it is made for the thread that holds it (the
//! layer keeps them in a thread-local cache), which is what makes its plain
//! stores safe.

use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Threads beyond this many share the atomic copy of a counter (so a
/// program that makes threads without end does not grow every counter).
const MAX_OWNED: usize = 64;

/// Something made of counters that can be added to in both ways.
pub(crate) trait Shard: Default + Send + Sync {
    /// Calls `f` on each counter of `self` paired with the same one of
    /// `other`, for summing.
    fn zip(&self, other: &Self, f: &mut dyn FnMut(&AtomicU64, &AtomicU64));
}

impl Shard for AtomicU64 {
    fn zip(&self, other: &Self, f: &mut dyn FnMut(&AtomicU64, &AtomicU64)) {
        f(self, other);
    }
}

/// A cache line of its own, so two threads' copies never share one.
#[derive(Default)]
#[repr(align(64))]
struct Padded<S>(S);

/// A counter (or group of counters, `S`) kept per thread.
pub(crate) struct Shards<S> {
    shared: Arc<Padded<S>>,
    owned: Mutex<Vec<(u64, Arc<Padded<S>>)>>,
}

impl<S: Shard> Default for Shards<S> {
    fn default() -> Self {
        Shards {
            shared: Arc::default(),
            owned: Mutex::default(),
        }
    }
}

impl<S: Shard> std::fmt::Debug for Shards<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shards").finish_non_exhaustive()
    }
}

impl<S: Shard> Shards<S> {
    /// The copy everyone may add to, atomically (see [`add_shared`]).
    pub(crate) fn shared(&self) -> &S {
        &self.shared.0
    }

    /// This thread's handle: its own copy (made on first use), or the
    /// shared one past [`MAX_OWNED`] threads.
    pub(crate) fn local(&self) -> Local<S> {
        let me = this_thread();
        let mut owned = self.owned.lock().unwrap_or_else(PoisonError::into_inner);
        let shard = match owned.iter().find(|(id, _)| *id == me) {
            Some((_, shard)) => Some(Arc::clone(shard)),
            None if owned.len() < MAX_OWNED => {
                let shard = Arc::<Padded<S>>::default();
                owned.push((me, Arc::clone(&shard)));
                Some(shard)
            }
            None => None,
        };
        Local {
            exclusive: shard.is_some(),
            shard: shard.unwrap_or_else(|| Arc::clone(&self.shared)),
            _this_thread: PhantomData,
        }
    }

    /// The sum of every copy, as one `S`.
    pub(crate) fn sum(&self) -> S {
        let total = S::default();
        let mut add = |t: &AtomicU64, c: &AtomicU64| {
            t.store(
                t.load(Ordering::Relaxed)
                    .wrapping_add(c.load(Ordering::Relaxed)),
                Ordering::Relaxed,
            );
        };
        total.zip(&self.shared.0, &mut add);
        let owned = self.owned.lock().unwrap_or_else(PoisonError::into_inner);
        for (_, shard) in owned.iter() {
            total.zip(&shard.0, &mut add);
        }
        total
    }
}

/// This thread's number, to find its copies by: taken from a counter on
/// first use. (Not `thread::current`, which a thread whose locals are being
/// torn down may no longer have; a constant thread-local with no destructor
/// is there until the end.)
fn this_thread() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local! {
        static ME: Cell<u64> = const { Cell::new(0) };
    }
    ME.with(|me| match me.get() {
        0 => {
            let id = NEXT.fetch_add(1, Ordering::Relaxed);
            me.set(id);
            id
        }
        id => id,
    })
}

/// One thread's way of adding to a [`Shards`]; see the module docs.
pub(crate) struct Local<S> {
    shard: Arc<Padded<S>>,
    /// Whether only this thread writes `shard` (else it is the shared one).
    exclusive: bool,
    /// `!Send` and `!Sync`: the plain stores are only right on the thread
    /// the handle was made for.
    _this_thread: PhantomData<*const ()>,
}

impl<S> Local<S> {
    /// The counters, for [`Local::add`].
    pub(crate) fn get(&self) -> &S {
        &self.shard.0
    }

    /// Adds `n` to `counter`, one of [`Local::get`]'s.
    #[inline]
    pub(crate) fn add(&self, counter: &AtomicU64, n: u64) {
        if self.exclusive {
            // Only this thread writes this copy: no read-modify-write needed.
            counter.store(
                counter.load(Ordering::Relaxed).wrapping_add(n),
                Ordering::Relaxed,
            );
        } else {
            counter.fetch_add(n, Ordering::Relaxed);
        }
    }
}

/// Adds `n` to a counter of a shared copy.
#[inline]
pub(crate) fn add_shared(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_thread_and_the_shared_copy_are_summed() {
        let counter = Arc::new(Shards::<AtomicU64>::default());
        std::thread::scope(|scope| {
            for _ in 0..4 {
                let counter = Arc::clone(&counter);
                scope.spawn(move || {
                    let local = counter.local();
                    for _ in 0..1000 {
                        local.add(local.get(), 1);
                    }
                    // A second handle on the same thread is the same copy.
                    let again = counter.local();
                    again.add(again.get(), 5);
                    add_shared(counter.shared(), 1);
                });
            }
        });
        assert_eq!(counter.sum().into_inner(), 4 * 1006);
        assert_eq!(counter.owned.lock().unwrap().len(), 4);
    }

    #[test]
    fn threads_past_the_limit_share_the_atomic_copy() {
        let counter = Arc::new(Shards::<AtomicU64>::default());
        std::thread::scope(|scope| {
            for _ in 0..MAX_OWNED + 8 {
                let counter = Arc::clone(&counter);
                scope.spawn(move || {
                    let local = counter.local();
                    for _ in 0..100 {
                        local.add(local.get(), 1);
                    }
                });
            }
        });
        assert_eq!(counter.sum().into_inner(), (MAX_OWNED as u64 + 8) * 100);
        assert_eq!(counter.owned.lock().unwrap().len(), MAX_OWNED);
    }
}
