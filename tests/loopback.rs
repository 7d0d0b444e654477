//! An app served on a free loopback port as `axum::serve` serves it (with
//! the peer's address), and a client sending it real HTTP requests. Shared
//! by the walk-through, the web page's and the SDKs' tests; each uses what
//! it needs.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::http::{Method, Request, Response, StatusCode};
use axum::Router;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Serves `router` on a free loopback port; the server lives as long as
/// the test's runtime.
pub async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

/// An HTTP/1.1 client for one served app.
pub struct HttpClient {
    addr: SocketAddr,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl HttpClient {
    pub fn new(addr: SocketAddr) -> HttpClient {
        HttpClient {
            addr,
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// The response itself, for its headers.
    pub async fn send_raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Response<Incoming> {
        let mut req = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(format!("http://{}{path}", self.addr));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.client
            .request(req.body(Full::new(Bytes::from(body.to_owned()))).unwrap())
            .await
            .unwrap()
    }

    /// The status and the body, as text.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (StatusCode, String) {
        let resp = self.send_raw(method, path, headers, body).await;
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }
}
