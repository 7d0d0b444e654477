//! Who is asking: turning a request into an evaluation [`Context`].
//!
//! Resolution is lazy: it runs the first time a handler (or an extractor
//! below the layer) asks for the [`FlagContext`](crate::FlagContext), with the
//! request parts as they are *then*. So an auth middleware placed inside the
//! flags layer has already put its user in the extensions, and a request that
//! never looks at a flag never pays for a lookup.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::ConnectInfo;
use http::request::Parts;
use ipnet::IpNet;

use super::config::Config;
use super::error::LayerConfigError;
use super::force::ForceFlags;
use super::resolver::{cookie, Resolver};
use crate::Context;

/// The outcome of resolution, fixed for the rest of the request.
#[derive(Debug, Default)]
pub(crate) struct Resolved {
    pub(crate) context: Context,
    /// A session id made up for this request; the response sets the cookie.
    pub(crate) new_session: Option<Arc<str>>,
    /// Flags forced for this request (only when the layer allows it).
    pub(crate) forced: Option<ForceFlags>,
}

/// Resolves without waiting when no asynchronous resolver needs to run
/// (the usual case: an extension, a header or a cookie); `None` when one
/// does, and [`resolve`] must.
#[inline(always)]
pub(crate) fn resolve_now(config: &Config, parts: &Parts) -> Option<Resolved> {
    let mut found = None;
    for resolver in &config.resolvers {
        found = match resolver {
            Resolver::Sync(f) => f(parts),
            Resolver::Async(_) => return None,
        };
        if found.is_some() {
            break;
        }
    }
    Some(complete(config, parts, found))
}

/// Runs the resolvers over `parts`, then fills in what they left out: remote
/// address, environment, app name, and the anonymous session id.
pub(crate) async fn resolve(config: &Config, parts: &Parts) -> Resolved {
    let mut found = None;
    for resolver in &config.resolvers {
        found = match resolver {
            Resolver::Sync(f) => f(parts),
            Resolver::Async(f) => f(parts).await,
        };
        if found.is_some() {
            break;
        }
    }
    complete(config, parts, found)
}

/// Fills in what the resolvers left out of `found`.
#[inline(always)]
fn complete(config: &Config, parts: &Parts, found: Option<Context>) -> Resolved {
    let mut context = found.unwrap_or_default();
    if context.remote_ip().is_none() && context.get_remote_address().is_none() {
        if let Some(ip) = remote_ip(parts, &config.trusted_proxies) {
            context = context.remote_address_ip(ip);
        }
    }
    if let Some(env) = &config.environment {
        if context.get("environment").is_none() {
            context = context.environment(Arc::clone(env));
        }
    }
    if let Some(app) = &config.app_name {
        if context.get("appName").is_none() {
            context = context.app_name(Arc::clone(app));
        }
    }
    let mut new_session = None;
    if context.get_user_id().is_none() && context.get_session_id().is_none() {
        if let Some(session) = &config.session {
            match cookie(parts, &session.name).filter(|v| super::session::is_valid_id(v)) {
                Some(id) => context = context.session_id(id),
                None => {
                    let id: Arc<str> = super::session::new_id().into();
                    context = context.session_id(Arc::clone(&id));
                    new_session = Some(id);
                }
            }
        }
    }
    let forced = if config.allow_overrides {
        ForceFlags::from_request(parts)
    } else {
        None
    };
    Resolved {
        context,
        new_session,
        forced,
    }
}

/// The client's address: the peer from `ConnectInfo`, or, when the peer is a
/// trusted proxy, the rightmost `X-Forwarded-For` entry that is not one.
pub(crate) fn remote_ip(parts: &Parts, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| canonical(addr.ip()))?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    // Entries are appended left to right by each hop, so walk from the right
    // and stop at the first hop we do not trust: everything left of it could
    // have been written by the client.
    let mut client = peer;
    let mut hops = Vec::new();
    for value in parts.headers.get_all("x-forwarded-for") {
        match value.to_str() {
            Ok(text) => hops.extend(text.split(',')),
            // Not text: unreadable, so we cannot see past this proxy.
            Err(_) => return Some(client),
        }
    }
    for hop in hops.iter().rev() {
        match hop_address(hop.trim_ascii()) {
            Some(ip) => {
                client = canonical(ip);
                if !is_trusted(&client) {
                    break;
                }
            }
            // A malformed entry: we cannot see past it.
            None => break,
        }
    }
    Some(client)
}

/// An `X-Forwarded-For` entry's address: bare (`1.2.3.4`, `2001:db8::1`),
/// or as some proxies write it, with a port (`1.2.3.4:5678`,
/// `[2001:db8::1]:443`) or in brackets (`[2001:db8::1]`).
fn hop_address(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|a| a.ip()))
        .ok()
        .or_else(|| hop.strip_prefix('[')?.strip_suffix(']')?.parse().ok())
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) as plain IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Parses proxy addresses or networks (`10.0.0.0/8`, `127.0.0.1`, `::1`).
pub(crate) fn parse_nets<I, S>(items: I) -> Result<Vec<IpNet>, LayerConfigError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    items
        .into_iter()
        .map(|s| {
            let s = s.as_ref().trim();
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    LayerConfigError::new(format!(
                        "trusted proxy `{s}` is neither an IP address nor a network (`10.0.0.0/8`)"
                    ))
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(peer: &str, headers: &[(&str, &str)]) -> Parts {
        let mut req = http::Request::builder();
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let (mut parts, ()) = req.body(()).unwrap().into_parts();
        if !peer.is_empty() {
            parts
                .extensions
                .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        }
        parts
    }

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let trusted = parse_nets(["10.0.0.0/8", "127.0.0.1"]).unwrap();
        let xff = [("x-forwarded-for", "6.6.6.6, 1.2.3.4, 10.0.0.7")];
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], Option<&'a str>);
        let cases: &[Case<'_>] = &[
            ("", &[], None),
            ("9.9.9.9:1", &xff, Some("9.9.9.9")),
            ("127.0.0.1:1", &xff, Some("1.2.3.4")),
            ("10.1.1.1:1", &[], Some("10.1.1.1")),
            (
                "10.1.1.1:1",
                &[("x-forwarded-for", "10.0.0.2")],
                Some("10.0.0.2"),
            ),
            (
                "10.1.1.1:1",
                &[("x-forwarded-for", "junk, 10.0.0.2")],
                Some("10.0.0.2"),
            ),
            (
                "10.1.1.1:1",
                &[
                    ("x-forwarded-for", "5.5.5.5"),
                    ("x-forwarded-for", "10.0.0.3"),
                ],
                Some("5.5.5.5"),
            ),
            ("[::ffff:127.0.0.1]:1", &xff, Some("1.2.3.4")),
            // Entries with a port, or an IPv6 one in brackets.
            (
                "10.1.1.1:1",
                &[("x-forwarded-for", "5.6.7.8:5678, 10.0.0.2:443")],
                Some("5.6.7.8"),
            ),
            (
                "10.1.1.1:1",
                &[("x-forwarded-for", "[2001:db8::1]:443")],
                Some("2001:db8::1"),
            ),
            (
                "10.1.1.1:1",
                &[("x-forwarded-for", "[2001:db8::2]")],
                Some("2001:db8::2"),
            ),
        ];
        for (peer, headers, want) in cases {
            let got = remote_ip(&parts(peer, headers), &trusted);
            assert_eq!(
                got.map(|ip| ip.to_string()).as_deref(),
                *want,
                "{peer} {headers:?}"
            );
        }
    }

    #[test]
    fn bad_proxy_is_a_config_error() {
        let err = parse_nets(["10.0.0.0/8", "localhost"]).unwrap_err();
        assert!(err.to_string().contains("`localhost`"), "{err}");
    }
}
