//! "Never allocates on the common path": counted with a global allocator.
//!
//! Lives in the tests crate because a `GlobalAlloc` needs `unsafe impl`, which
//! the library crates forbid.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use flags_middleware::{Context, Flags};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_in(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

const FLAGS: &str = r#"{"features": [
  {"name": "on", "enabled": true, "strategies": [{"name": "default"}]},
  {"name": "off", "enabled": false, "strategies": [{"name": "default"}]},
  {"name": "rollout", "enabled": true, "strategies": [
    {"name": "flexibleRollout", "parameters": {"rollout": "20", "stickiness": "default", "groupId": "rollout"}}]},
  {"name": "users", "enabled": true, "strategies": [
    {"name": "userWithId", "parameters": {"userIds": "a,b,c,d,e,f,g,h,i,j,k,user-7"}}]},
  {"name": "constrained", "enabled": true, "strategies": [
    {"name": "flexibleRollout", "parameters": {"rollout": "50", "stickiness": "default"},
     "constraints": [
       {"contextName": "environment", "operator": "IN", "values": ["production", "staging"]},
       {"contextName": "appVersion", "operator": "SEMVER_GTE", "value": "2.0.0"},
       {"contextName": "age", "operator": "NUM_GT", "value": "18"},
       {"contextName": "email", "operator": "STR_ENDS_WITH", "values": ["@example.com"]},
       {"contextName": "currentTime", "operator": "DATE_AFTER", "value": "2020-01-01T00:00:00Z"}
     ]}]},
  {"name": "variants", "enabled": true, "strategies": [{"name": "default"}],
   "variants": [
     {"name": "a", "weight": 334, "payload": {"type": "string", "value": "A"}},
     {"name": "b", "weight": 333},
     {"name": "c", "weight": 333}]},
  {"name": "strategy-variants", "enabled": true, "strategies": [
    {"name": "flexibleRollout", "parameters": {"rollout": "100", "stickiness": "default", "groupId": "sv"},
     "variants": [{"name": "x", "weight": 500}, {"name": "y", "weight": 500}]}]}
]}"#;

#[test]
fn evaluation_does_not_allocate() {
    let flags = Flags::from_unleash_json(FLAGS).unwrap();
    let snap = flags.snapshot();
    let ctx = Context::new()
        .user_id("user-7")
        .session_id("s-1")
        .environment("production")
        .property("appVersion", "2.3.1")
        .property("age", "42")
        .property("email", "ann@example.com");
    let names = [
        "on",
        "off",
        "rollout",
        "users",
        "constrained",
        "variants",
        "strategy-variants",
        "unknown",
    ];
    // Warm up lazily initialized state (thread-local RNG, clocks).
    // The handle counts an unknown name once per name (its counter is
    // made on the first ask; later asks add to it without allocating).
    for n in names {
        let _ = snap.evaluate(n, &ctx);
        let _ = flags.is_enabled(n, &ctx);
    }
    let count = allocations_in(|| {
        for _ in 0..1_000 {
            for n in names {
                std::hint::black_box(snap.is_enabled(n, &ctx));
                std::hint::black_box(snap.variant(n, &ctx));
                std::hint::black_box(snap.evaluate(n, &ctx));
            }
        }
    });
    assert_eq!(count, 0, "evaluation allocated {count} times");
    // The handle's read path (an arc-swap guard) does not allocate either.
    let count = allocations_in(|| {
        for n in names {
            std::hint::black_box(flags.is_enabled(n, &ctx));
        }
    });
    assert_eq!(count, 0);
}

/// Polls `fut` once on this thread (the routers below answer at once).
fn poll_once<F: std::future::Future>(fut: F) -> F::Output {
    struct Noop;
    impl std::task::Wake for Noop {
        fn wake(self: std::sync::Arc<Self>) {}
    }
    let waker = std::task::Waker::from(std::sync::Arc::new(Noop));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    match fut.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(out) => out,
        std::task::Poll::Pending => panic!("answered in one poll"),
    }
}

#[test]
fn the_layer_allocates_nothing_until_a_flag_is_asked() {
    use axum::body::Body;
    use axum::routing::get;
    use axum::Router;
    use flags_middleware::{FlagContext, FlagsLayer};
    use tower::{Layer, ServiceExt};

    async fn three(flags: FlagContext) -> &'static str {
        let on = flags.is_enabled("on") && flags.is_enabled("rollout") && flags.is_enabled("users");
        if on {
            "on"
        } else {
            "off"
        }
    }
    let routes = || {
        Router::new()
            .route("/quiet", get(|| async { "no flags" }))
            .route("/three", get(three))
    };
    let flags = Flags::from_unleash_json(FLAGS).unwrap();
    let bare = routes();
    let layered = FlagsLayer::new(flags)
        .user_header("x-user-id")
        .unwrap()
        .layer(routes());
    let request = |path: &str| {
        axum::http::Request::builder()
            .uri(path)
            .header("x-user-id", "user-7")
            .body(Body::empty())
            .unwrap()
    };
    let bare_once = |path: &str| {
        let req = request(path);
        allocations_in(|| drop(poll_once(bare.clone().oneshot(req)).unwrap()))
    };
    let layered_once = |path: &str| {
        let req = request(path);
        allocations_in(|| drop(poll_once(layered.clone().oneshot(req)).unwrap()))
    };
    // Warm up (thread-locals, the counters' first sight of each arm).
    for _ in 0..3 {
        bare_once("/quiet");
        layered_once("/quiet");
        layered_once("/three");
    }
    assert_eq!(
        layered_once("/quiet"),
        bare_once("/quiet"),
        "a request that asks no flag allocates nothing more than without the layer"
    );
    // Asking: the request's state, and the caller's id copied into its
    // context. Nothing per flag.
    let extra = layered_once("/three") - layered_once("/quiet");
    assert!(extra <= 2, "asking 3 flags allocated {extra} times");
}

#[test]
fn the_counter_counts() {
    // Guards the test above against a counter that never moves.
    let n = allocations_in(|| {
        std::hint::black_box(vec![1u8; 64]);
    });
    assert!(n >= 1);
}
