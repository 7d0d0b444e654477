//! The guard drills' app and load generator: tests/guard_drill.rs on one
//! instance, the PostgreSQL fleet drill on many.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use flags_middleware::FlagContext;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::{connect::HttpConnector, Client};

pub(crate) const FLAG: &str = "new_checkout_flow";
/// Requests a second, each from a new user.
pub(crate) const RATE: u32 = 200;
/// The flag's rollout.
pub(crate) const SHARE: f64 = 0.05;
pub(crate) const LEGACY_ERRORS: f64 = 0.005;
pub(crate) const BROKEN_ERRORS: f64 = 0.30;
pub(crate) const WARM_UP: Duration = Duration::from_secs(10);

/// The app: one route, the new handler for the flag's 5%, the legacy one
/// for the rest; each fails at its own rate.
pub(crate) struct App {
    pub(crate) broken: AtomicBool,
    pub(crate) new_errors_when_broken: f64,
    pub(crate) rng: Mutex<fastrand::Rng>,
}

impl App {
    fn fails(&self, rate: f64) -> bool {
        self.rng.lock().unwrap().f64() < rate
    }
}

/// The route's handler; says which arm answered in `x-arm`.
pub(crate) async fn product(flags: FlagContext, State(app): State<Arc<App>>) -> Response {
    let (arm, rate) = if flags.is_enabled(FLAG) {
        let rate = if app.broken.load(Ordering::Relaxed) {
            app.new_errors_when_broken
        } else {
            LEGACY_ERRORS
        };
        ("new", rate)
    } else {
        ("legacy", LEGACY_ERRORS)
    };
    let status = if app.fails(rate) {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    (status, [("x-arm", arm)], "{\"product\": {}}").into_response()
}

/// One response, as the client saw it.
#[derive(Clone, Copy)]
pub(crate) struct Sample {
    /// When the request was sent.
    pub(crate) sent: SystemTime,
    /// Whether the new arm answered (the app's `x-arm: new`).
    pub(crate) new_arm: bool,
    pub(crate) failed: bool,
}

/// `GET url` as `user`, read to the end.
pub(crate) async fn send(
    client: &Client<HttpConnector, Empty<Bytes>>,
    url: String,
    user: String,
) -> Sample {
    let req = Request::builder()
        .uri(url)
        .header("x-user-id", user)
        .body(Empty::new())
        .unwrap();
    let sent = SystemTime::now();
    let res = client.request(req).await.unwrap();
    let new_arm = res.headers()["x-arm"] == "new";
    let failed = res.status().is_server_error();
    res.into_body().collect().await.unwrap();
    Sample {
        sent,
        new_arm,
        failed,
    }
}
