//! SDK tokens: the secret an Unleash SDK sends in `authorization`, raw
//! (as the SDKs send it) or after `Bearer `.

use std::fmt;

use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{HeaderMap, StatusCode};
use serde_json::json;
use subtle::ConstantTimeEq;

/// The tokens one API accepts, and those of other kinds it recognises
/// (to answer 403, as Unleash does, rather than 401).
#[derive(Clone, Default)]
pub(crate) struct Tokens {
    pub(crate) accepted: Vec<String>,
    pub(crate) other_kinds: Vec<String>,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("accepted", &self.accepted.len())
            .field("other_kinds", &self.other_kinds.len())
            .finish()
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No token, or one nobody knows: 401.
    Unauthorized,
    /// A token of another kind (an admin or client token on the Frontend
    /// API...): 403.
    WrongKind(&'static str),
}

impl Tokens {
    /// Accepts `tokens`; blank ones are dropped.
    pub(crate) fn accepting<I, S>(tokens: I) -> Tokens
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Tokens {
            accepted: nonempty(tokens),
            other_kinds: Vec::new(),
        }
    }

    /// Recognises `tokens` as another kind's, to answer them 403; blank
    /// ones are dropped.
    pub(crate) fn add_other_kinds<I, S>(&mut self, tokens: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.other_kinds.extend(nonempty(tokens));
    }

    /// Checks the request's token; every comparison takes the same time
    /// whatever the secret.
    pub(crate) fn check(&self, headers: &HeaderMap, kind: &'static str) -> Result<(), Refusal> {
        let Some(token) = token(headers) else {
            return Err(Refusal::Unauthorized);
        };
        if any_equal(&self.accepted, token) {
            return Ok(());
        }
        if any_equal(&self.other_kinds, token) {
            return Err(Refusal::WrongKind(kind));
        }
        Err(Refusal::Unauthorized)
    }
}

/// `items` as strings, blank ones left out (a blank token or field name
/// would match what nobody meant).
pub(crate) fn nonempty<I, S>(items: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    items
        .into_iter()
        .map(Into::into)
        .filter(|s| !s.trim().is_empty())
        .collect()
}

/// The token in `authorization`: raw, or after a `Bearer ` scheme (any case).
pub(crate) fn token(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let token = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => value,
    };
    (!token.is_empty()).then_some(token)
}

fn any_equal(list: &[String], token: &str) -> bool {
    // No early exit: which entry matched does not show in the timing.
    list.iter().fold(false, |found, t| {
        found | bool::from(t.as_bytes().ct_eq(token.as_bytes()))
    })
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                Json(json!({
                    "message": "You must provide a valid token in the `authorization` header"
                })),
            )
                .into_response(),
            Refusal::WrongKind(kind) => (
                StatusCode::FORBIDDEN,
                Json(json!({
                    "message": format!("This endpoint needs a {kind} token; the token given is of another kind")
                })),
            )
                .into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("authorization", value.parse().unwrap());
        h
    }

    #[test]
    fn raw_and_bearer_tokens_are_read_and_kinds_told_apart() {
        let t = Tokens {
            accepted: vec!["front".into()],
            other_kinds: vec!["admin".into()],
        };
        assert_eq!(t.check(&headers("front"), "frontend"), Ok(()));
        assert_eq!(t.check(&headers("Bearer front"), "frontend"), Ok(()));
        assert_eq!(t.check(&headers("bearer  front "), "frontend"), Ok(()));
        assert_eq!(
            t.check(&headers("admin"), "frontend"),
            Err(Refusal::WrongKind("frontend"))
        );
        assert_eq!(
            t.check(&headers("nope"), "frontend"),
            Err(Refusal::Unauthorized)
        );
        assert_eq!(
            t.check(&HeaderMap::new(), "frontend"),
            Err(Refusal::Unauthorized)
        );
    }
}
