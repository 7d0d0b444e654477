//! A global allocator that keeps a process-wide count of live heap bytes,
//! to measure what a loaded flag set keeps. A test or bench binary installs
//! it with
//!
//! ```ignore
//! #[global_allocator]
//! static GLOBAL: flags_tests::live_bytes::LiveBytes = flags_tests::live_bytes::LiveBytes;
//! ```
//!
//! It lives in the tests crate because a `GlobalAlloc` needs `unsafe impl`,
//! which the library crates forbid.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

/// The system allocator, counting live bytes.
#[derive(Debug)]
pub struct LiveBytes;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for LiveBytes {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        LIVE.fetch_add(n as isize - l.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}

/// Live heap bytes now (meaningful only with [`LiveBytes`] installed).
pub fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// `f`'s result, and the live heap bytes it holds (everything `f`
/// allocated and kept).
pub fn retained<T>(f: impl FnOnce() -> T) -> (T, isize) {
    let before = live();
    let value = f();
    (value, live() - before)
}
