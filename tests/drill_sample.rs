//! What the guard drills' load generators send, and what they keep of
//! each answer (tests/guard_drill.rs on one instance, the PostgreSQL
//! fleet drill on many).

use std::time::SystemTime;

use axum::body::Bytes;
use axum::http::Request;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::{connect::HttpConnector, Client};

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
