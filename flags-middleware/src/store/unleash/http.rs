//! The few HTTP calls made to Unleash: one hyper client (http or https,
//! see [`tls`](super::tls)), the headers Unleash's own server SDKs send, a
//! timeout on every call.

use std::time::Duration;

use http::{header, HeaderMap, HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;

use super::config::UnleashConfig;
use super::tls;

/// The client-spec version sent: ≥ 4.2.0 makes the server send segments by
/// reference instead of inlining their constraints.
const CLIENT_SPEC: &str = "5.2.0";

/// What one call got back.
#[derive(Debug)]
pub(super) enum Reply {
    /// An HTTP answer.
    Answer {
        status: StatusCode,
        etag: Option<String>,
        body: Bytes,
    },
    /// No answer: the connection failed or the timeout passed.
    NoAnswer(String),
}

/// Calls Unleash on behalf of one store.
#[derive(Debug, Clone)]
pub(super) struct Http {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    headers: HeaderMap,
    timeout: Duration,
}

impl Http {
    /// # Errors
    /// When the TLS client cannot be set up (see [`tls::connector`]).
    pub(super) fn new(config: &UnleashConfig, connection_id: &str) -> Result<Http, String> {
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(tls::connector(config)?);
        let mut headers = HeaderMap::new();
        let mut put = |name: &'static str, value: &str| {
            // A value that is not a valid header (a control character in an
            // app name) is left out rather than failing every call.
            if let Ok(v) = HeaderValue::from_str(value) {
                headers.insert(name, v);
            }
        };
        put("authorization", &config.token);
        put("unleash-appname", &config.app_name);
        put("unleash-instanceid", &config.instance_id);
        put("unleash-connection-id", connection_id);
        put("unleash-sdk", &sdk_version());
        put("unleash-client-spec", CLIENT_SPEC);
        put(
            "user-agent",
            &format!("{} ({})", sdk_version(), config.app_name),
        );
        put(
            "unleash-interval",
            &config.refresh_interval.as_millis().to_string(),
        );
        Ok(Http {
            client,
            headers,
            timeout: config.timeout,
        })
    }

    /// `GET url`, with `If-None-Match: etag` when one is known.
    pub(super) async fn get(&self, url: &str, etag: Option<&str>) -> Reply {
        let mut extra = HeaderMap::new();
        if let Some(v) = etag.and_then(|e| HeaderValue::from_str(e).ok()) {
            extra.insert(header::IF_NONE_MATCH, v);
        }
        self.call(Method::GET, url, extra, Bytes::new()).await
    }

    /// `POST url` with a JSON body; `authorization` replaced by `token` when given.
    pub(super) async fn post_json(
        &self,
        url: &str,
        body: &serde_json::Value,
        token: Option<&str>,
    ) -> Reply {
        let mut extra = HeaderMap::new();
        extra.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(v) = token.and_then(|t| HeaderValue::from_str(t).ok()) {
            extra.insert(header::AUTHORIZATION, v);
        }
        let bytes = Bytes::from(serde_json::to_vec(body).unwrap_or_default());
        self.call(Method::POST, url, extra, bytes).await
    }

    async fn call(&self, method: Method, url: &str, extra: HeaderMap, body: Bytes) -> Reply {
        let mut request = match Request::builder()
            .method(method)
            .uri(url)
            .body(Full::new(body))
        {
            Ok(r) => r,
            Err(e) => return Reply::NoAnswer(format!("bad request to {url}: {e}")),
        };
        let headers = request.headers_mut();
        headers.extend(self.headers.clone());
        headers.extend(extra);
        let call = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| describe(&e))?;
            let status = response.status();
            let etag = response
                .headers()
                .get(header::ETAG)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| format!("reading the answer: {e}"))?
                .to_bytes();
            Ok::<_, String>(Reply::Answer { status, etag, body })
        };
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) => Reply::NoAnswer(e),
            Err(_) => Reply::NoAnswer(format!("no answer within {:?}", self.timeout)),
        }
    }
}

/// `flags-rust:<version>`, the `unleash-sdk` header.
pub(super) fn sdk_version() -> String {
    format!("flags-rust:{}", env!("CARGO_PKG_VERSION"))
}

/// A client error with its cause chain (hyper's own message is terse:
/// "client error (Connect)"); a failed TLS handshake as such.
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    if let Some(tls) = crate::store::tls::rustls_error(e) {
        return tls::explain(tls);
    }
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
