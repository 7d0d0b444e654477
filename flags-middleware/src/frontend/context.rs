//! Who is asking the Frontend API: what the client says (the query string
//! of a `GET`, the `context` of a `POST`), narrowed to the fields it may
//! supply, under what the app's own [`FlagsLayer`](crate::FlagsLayer)
//! resolved, which wins.

use std::net::IpAddr;

use serde_json::Value;

use super::config::{is_standard, ClientFields};
use crate::{Context, FlagContext};

/// What the client claims: `(name, value, is a property)`.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Claims(Vec<(String, String, bool)>);

impl Claims {
    /// From a form-encoded query, as the browser SDK sends it:
    /// `userId=u1&properties%5Bplan%5D=pro`. Unknown top-level keys become
    /// properties, as Unleash does.
    pub(crate) fn from_query(query: &str) -> Claims {
        let mut out = Vec::new();
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            match k
                .strip_prefix("properties[")
                .and_then(|r| r.strip_suffix(']'))
            {
                Some(name) => out.push((name.to_owned(), v.into_owned(), true)),
                None if is_standard(&k) => out.push((k.into_owned(), v.into_owned(), false)),
                None => out.push((k.into_owned(), v.into_owned(), true)),
            }
        }
        Claims(out)
    }

    /// From a `POST` body's `context` object; numbers and booleans are
    /// taken as their text, anything else nested is ignored.
    pub(crate) fn from_json(context: &Value) -> Claims {
        let mut out = Vec::new();
        let Some(map) = context.as_object() else {
            return Claims(out);
        };
        for (k, v) in map {
            if k == "properties" {
                for (pk, pv) in v.as_object().into_iter().flatten() {
                    if let Some(text) = scalar(pv) {
                        out.push((pk.clone(), text, true));
                    }
                }
            } else if let Some(text) = scalar(v) {
                out.push((k.clone(), text, !is_standard(k)));
            }
        }
        Claims(out)
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The context the flags are evaluated for.
///
/// 1. What the client claims, narrowed to `allowed`.
/// 2. Behind the layer: every field and property the layer resolved
///    replaces the client's (the user id and properties from the app's own
///    resolver, the remote address, the environment); its session id too,
///    unless the layer had just made it up while the client has its own.
/// 3. Without the layer: the remote address is the connection's peer,
///    unless the client may supply it and did.
pub(crate) fn effective(
    claims: &Claims,
    allowed: &ClientFields,
    layer: Option<&FlagContext>,
    peer: Option<IpAddr>,
) -> Context {
    let mut ctx = Context::new();
    for (name, value, is_property) in &claims.0 {
        let ok = if *is_property {
            allowed.property(name)
        } else {
            allowed.field(name)
        };
        if ok {
            ctx.set(name.as_str(), value.as_str());
        }
    }
    match layer {
        Some(layer) => {
            let server = layer.context();
            for field in [
                "userId",
                "remoteAddress",
                "environment",
                "appName",
                "currentTime",
            ] {
                if let Some(v) = server.get(field) {
                    ctx.set(field, v);
                }
            }
            if let Some(session) = server.get_session_id() {
                if !layer.session_is_new() || ctx.get_session_id().is_none() {
                    ctx.set("sessionId", session);
                }
            }
            for (k, v) in server.properties() {
                ctx.set(k, v);
            }
        }
        None => {
            if ctx.get_remote_address().is_none() {
                if let Some(ip) = peer {
                    ctx.set("remoteAddress", ip.to_string());
                }
            }
        }
    }
    ctx
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::FrontendConfig;

    #[test]
    fn the_query_is_read_as_the_sdk_writes_it() {
        let c = Claims::from_query(
            "sessionId=737632957&appName=t&environment=default&userId=u1\
             &properties%5Bplan%5D=pro&properties%5Ba+b%5D=c%26d&country=NO",
        );
        let want = |k: &str, v: &str, p: bool| (k.to_owned(), v.to_owned(), p);
        assert_eq!(
            c.0,
            vec![
                want("sessionId", "737632957", false),
                want("appName", "t", false),
                want("environment", "default", false),
                want("userId", "u1", false),
                want("plan", "pro", true),
                want("a b", "c&d", true),
                want("country", "NO", true),
            ]
        );
    }

    #[test]
    fn only_allowed_fields_pass_and_the_peer_is_the_remote_address() {
        let claims = Claims::from_query(
            "userId=u1&sessionId=s1&environment=prod&remoteAddress=10.0.0.1\
             &properties%5Bbeta%5D=true&properties%5Bplan%5D=pro",
        );
        let fields = FrontendConfig::new(["t"])
            .client_fields(["userId", "plan"])
            .fields;
        let ctx = effective(&claims, &fields, None, "192.0.2.7".parse().ok());
        assert_eq!(ctx.get_user_id(), Some("u1"));
        assert_eq!(ctx.get_session_id(), None);
        assert_eq!(ctx.get("environment"), None);
        assert_eq!(ctx.get("beta"), None);
        assert_eq!(ctx.get("plan"), Some("pro"));
        assert_eq!(ctx.get_remote_address(), Some("192.0.2.7"));
    }

    #[test]
    fn the_layers_user_and_properties_win() {
        let flags = crate::Flags::from_unleash_json(r#"{"features": []}"#).unwrap();
        let server = Context::new()
            .user_id("ann")
            .property("beta", "false")
            .remote_address("198.51.100.1");
        let layer = FlagContext::for_test(&flags, server);
        let claims = Claims::from_query("userId=mallory&properties%5Bbeta%5D=true&plan=pro");
        let fields = FrontendConfig::new(["t"])
            .client_fields(["userId", "*"])
            .fields;
        let ctx = effective(&claims, &fields, Some(&layer), None);
        assert_eq!(ctx.get_user_id(), Some("ann"));
        assert_eq!(ctx.get("beta"), Some("false"));
        assert_eq!(ctx.get("plan"), Some("pro"));
        assert_eq!(ctx.get_remote_address(), Some("198.51.100.1"));
    }

    #[test]
    fn a_post_context_is_read_with_scalars_as_text() {
        let c = Claims::from_json(&serde_json::json!({
            "userId": "u1", "properties": {"beta": true, "n": 3, "deep": {"x": 1}}, "tenant": "acme"
        }));
        assert!(c.0.contains(&("beta".into(), "true".into(), true)));
        assert!(c.0.contains(&("n".into(), "3".into(), true)));
        assert!(c.0.contains(&("tenant".into(), "acme".into(), true)));
        assert!(!c.0.iter().any(|(k, _, _)| k == "deep"));
    }
}
