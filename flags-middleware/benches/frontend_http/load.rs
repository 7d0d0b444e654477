//! The one load generator both servers get: keep-alive HTTP/1.1 connections
//! on a current-thread runtime, each sending the next request as soon as
//! the previous answer's body is read.

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use http::Request;

/// What every request of a measurement asks.
#[derive(Clone)]
pub(crate) enum Case {
    /// A new user per request (`userId=c<conn>_<n>`, every other one with
    /// `properties[plan]=pro`): all flags evaluated, a body written.
    DistinctUsers,
    /// The same user every time, with the `If-None-Match` of a first answer.
    Unchanged { etag: String },
}

/// The query of a distinct-user request: the same users go to both servers.
pub(crate) fn distinct_query(conn: usize, n: u64) -> String {
    let plan = if n % 2 == 0 {
        "&properties%5Bplan%5D=pro"
    } else {
        ""
    };
    format!("userId=c{conn}_{n}&sessionId={n}{plan}")
}

/// The user of the unchanged case.
pub(crate) const UNCHANGED_QUERY: &str = "userId=user_7&sessionId=7";

/// One measurement of one server.
#[derive(Clone, Copy, Default)]
pub(crate) struct Rate {
    pub(crate) per_sec: f64,
    /// The server process's CPU time per answered request.
    pub(crate) cpu_us_per_request: f64,
    /// Share of its one core the server used (near 1: saturated).
    pub(crate) busy: f64,
    /// Share of its core the load generator (this process) used: near 1,
    /// the load, not the server, set the rate.
    pub(crate) load_busy: f64,
    /// Share of the answers that were 304 Not Modified.
    pub(crate) not_modified: f64,
}

/// Requests per second `conns` connections get from the server at `addr`
/// (process `pid`) over `secs`, after a warm-up of a quarter of that.
pub(crate) async fn measure(
    addr: SocketAddr,
    pid: u32,
    token: &'static str,
    case: Case,
    conns: usize,
    secs: f64,
) -> Rate {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let not_modified = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for conn in 0..conns {
        let (stop, done, not_modified, case) = (
            Arc::clone(&stop),
            Arc::clone(&done),
            Arc::clone(&not_modified),
            case.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
            stream.set_nodelay(true).expect("nodelay");
            let (mut send, connection) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                    .await
                    .expect("handshake");
            tokio::spawn(connection);
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let b = Request::builder()
                    .header("host", "bench")
                    .header("authorization", token);
                let b = match &case {
                    Case::DistinctUsers => {
                        b.uri(format!("/api/frontend?{}", distinct_query(conn, n)))
                    }
                    Case::Unchanged { etag } => b
                        .uri(format!("/api/frontend?{UNCHANGED_QUERY}"))
                        .header("if-none-match", etag.as_str()),
                };
                let req = b
                    .body(http_body_util::Empty::<Bytes>::new())
                    .expect("request");
                send.ready().await.expect("ready");
                let res = send.send_request(req).await.expect("response");
                let status = res.status().as_u16();
                assert!(
                    status == 200 || status == 304,
                    "{addr} answered {status} under load"
                );
                let body = http_body_util::BodyExt::collect(res.into_body())
                    .await
                    .expect("body");
                black_box(body);
                if status == 304 {
                    not_modified.fetch_add(1, Ordering::Relaxed);
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // Warm up (connections, allocator, caches), then measure.
    tokio::time::sleep(Duration::from_secs_f64(secs / 4.0)).await;
    let me = std::process::id();
    let (n0, m0, cpu0, load0, t0) = (
        done.load(Ordering::Relaxed),
        not_modified.load(Ordering::Relaxed),
        crate::pinned::cpu_seconds(pid),
        crate::pinned::cpu_seconds(me),
        Instant::now(),
    );
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    let (n1, m1, cpu1, load1, elapsed) = (
        done.load(Ordering::Relaxed),
        not_modified.load(Ordering::Relaxed),
        crate::pinned::cpu_seconds(pid),
        crate::pinned::cpu_seconds(me),
        t0.elapsed().as_secs_f64(),
    );
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.expect("a connection's task");
    }
    let n = (n1 - n0).max(1) as f64;
    Rate {
        per_sec: n / elapsed,
        cpu_us_per_request: (cpu1 - cpu0) * 1e6 / n,
        busy: (cpu1 - cpu0) / elapsed,
        load_busy: (load1 - load0) / elapsed,
        not_modified: (m1 - m0) as f64 / n,
    }
}

/// One request on a fresh connection: status, `ETag`, body.
pub(crate) async fn get(
    addr: SocketAddr,
    token: &str,
    query: &str,
    etag: Option<&str>,
) -> (u16, Option<String>, Bytes) {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut send, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("handshake");
    tokio::spawn(connection);
    let mut b = Request::get(format!("/api/frontend?{query}"))
        .header("host", "bench")
        .header("authorization", token);
    if let Some(e) = etag {
        b = b.header("if-none-match", e);
    }
    let res = send
        .send_request(
            b.body(http_body_util::Empty::<Bytes>::new())
                .expect("request"),
        )
        .await
        .expect("response");
    let status = res.status().as_u16();
    let tag = res
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .expect("body")
        .to_bytes();
    (status, tag, body)
}
