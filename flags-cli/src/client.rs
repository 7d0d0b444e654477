//! Sends one admin API call with a plain blocking client (ureq): no async
//! runtime for a program that makes one request and exits.

use std::time::Duration;

use serde_json::Value;

use crate::admin_call::AdminCall;

/// The admin API's answer: any status, with its body as JSON (or as a
/// JSON string if it is not JSON, such as a proxy's error page).
#[derive(Debug)]
pub(crate) struct Answer {
    /// The HTTP status.
    pub(crate) status: u16,
    /// The body.
    pub(crate) body: Value,
}

/// Long enough for a server across the world, short enough that a
/// black-holed address does not hang a script.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends `call` to the admin API at `base` (see [`crate::base_url`]), with
/// `token` as a bearer token unless it is empty.
///
/// # Errors
/// A bad URL, or a server that cannot be reached or answers garbage.
pub(crate) fn send(base: &str, token: &str, call: &AdminCall) -> Result<Answer, String> {
    let url = format!("{base}{}", call.path);
    let mut request = ureq::http::Request::builder().method(call.method).uri(&url);
    if !token.is_empty() {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let body = match &call.body {
        Some(json) => {
            request = request.header("content-type", "application/json");
            json.to_string().into_bytes()
        }
        None => Vec::new(),
    };
    let request = request
        .body(body)
        .map_err(|e| format!("bad URL `{url}`: {e}"))?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        // A 4xx or 5xx is an answer to report, with the server's reason.
        .http_status_as_error(false)
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .build()
        .into();
    let mut response = agent.run(request).map_err(|e| match e {
        ureq::Error::BadUri(_) | ureq::Error::Http(_) => format!("bad URL `{url}`: {e}"),
        e => format!("cannot reach {url}: {e}"),
    })?;
    let status = response.status().as_u16();
    let bytes = response
        .body_mut()
        .read_to_vec()
        .map_err(|e| format!("reading the answer from {url}: {e}"))?;
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Ok(Answer { status, body })
}
