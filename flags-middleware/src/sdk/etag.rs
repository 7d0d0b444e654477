//! ETags of SDK responses: a hash of the definitions served, so two instances serving the
//! same flags give the same tag, and a restart does not make every SDK
//! download again.

use std::hash::Hasher;

use http::HeaderMap;
use siphasher::sip128::{Hasher128, SipHasher13};

/// A weak ETag (as Unleash's Express server sends) for `body`.
pub(crate) fn weak(body: &[u8]) -> String {
    let mut h = SipHasher13::new_with_keys(0x0066_6c61_6773, 0x0073_646b);
    h.write(body);
    format!("W/\"{:x}-{:032x}\"", body.len(), h.finish128().as_u128())
}

/// Whether `If-None-Match` names `etag` (weak comparison: `W/` ignored on
/// both sides, `*` matches anything).
pub(crate) fn matches(headers: &HeaderMap, etag: &str) -> bool {
    let strip = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    let ours = strip(etag);
    headers
        .get_all(http::header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == "*" || strip(t) == ours)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_follow_the_body_and_match_weakly() {
        let a = weak(b"{\"toggles\":[]}");
        assert_eq!(a, weak(b"{\"toggles\":[]}"));
        assert_ne!(a, weak(b"{\"toggles\":[1]}"));
        let mut h = HeaderMap::new();
        h.insert("if-none-match", a.parse().unwrap());
        assert!(matches(&h, &a));
        h.insert("if-none-match", a.trim_start_matches("W/").parse().unwrap());
        assert!(matches(&h, &a));
        h.insert("if-none-match", "\"other\", W/\"x\"".parse().unwrap());
        assert!(!matches(&h, &a));
    }
}
