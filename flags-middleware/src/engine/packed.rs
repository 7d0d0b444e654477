//! A flag's definition kept compactly next to its compiled form.
//!
//! A snapshot must give every definition back exactly (admin API, stores,
//! the TOML writer), but evaluation never reads it, so it is stored as its
//! compact JSON with the most common fragments of Unleash's vocabulary
//! (`,"enabled":true,"strategies":[`, `{"name":"flexibleRollout",`...) and
//! the flag's own quoted name each replaced by one control byte, and decoded
//! on demand.
//!
//! Why this is lossless whatever the model grows into: compact JSON never
//! contains a raw control byte (serde_json escapes U+0000..U+001F inside
//! strings and writes no whitespace), so each control byte in the packed
//! text can only be a code, and decoding is the exact byte-for-byte inverse
//! of encoding. New fields of [`Feature`] simply travel as plain JSON.
//! Control bytes are valid UTF-8, so the packed text is a `str` and shares
//! one allocation with the flag's name.

use crate::model::Feature;

/// Code for the flag's own name as a JSON string (with its quotes).
const NAME: u8 = 0;

/// The fragments, by code (index + 1). serde_json writes fields in
/// declaration order and parameters sorted by key; the fragments follow.
/// At most 31 entries: codes are the control bytes 1..=31.
const FRAGMENTS: [&str; 31] = [
    r#"{"name":"#,
    r#","enabled":true,"strategies":["#,
    r#","enabled":false,"strategies":["#,
    r#"{"name":"default"}"#,
    r#"{"name":"flexibleRollout","parameters":{"#,
    r#"{"name":"userWithId","parameters":{"userIds":""#,
    r#"{"name":"gradualRollout"#,
    r#"{"name":"remoteAddress","parameters":{"IPs":""#,
    r#"{"name":"applicationHostname","parameters":{"hostNames":""#,
    r#""groupId":"#,
    r#","rollout":""#,
    r#","percentage":""#,
    r#"","stickiness":"default"}"#,
    r#","stickiness":""#,
    r#","constraints":[{"contextName":""#,
    r#"},{"contextName":""#,
    r#"","operator":""#,
    r#"","values":[""#,
    r#","value":""#,
    r#","inverted":true"#,
    r#","caseInsensitive":true"#,
    r#","segments":["#,
    r#","variants":[{"name":""#,
    r#"","weight":"#,
    r#"},{"name":""#,
    r#","weightType":""#,
    r#","payload":{"type":""#,
    r#","overrides":[{"contextName":""#,
    r#","dependencies":[{"feature":"#,
    r#","description":""#,
    r#"environment"#,
];

/// Packs `feature` into `out`, which is cleared first.
pub(crate) fn pack(feature: &Feature, out: &mut String) {
    out.clear();
    let Ok(json) = serde_json::to_string(feature) else {
        return;
    };
    if json.bytes().any(|b| b < 0x20) {
        // Cannot happen with serde_json; stay lossless anyway.
        *out = json;
        out.insert(0, '\u{7f}');
        return;
    }
    let name = serde_json::to_string(&feature.name).unwrap_or_default();
    let bytes = json.as_bytes();
    let mut literal = 0;
    let mut i = 0;
    while i < bytes.len() {
        let (code, len) = longest_match(&bytes[i..], name.as_bytes());
        if len == 0 {
            i += 1;
            continue;
        }
        // Every fragment starts and ends with ASCII, so `literal..i` and the
        // match fall on character boundaries.
        out.push_str(&json[literal..i]);
        out.push(char::from(code));
        i += len;
        literal = i;
    }
    out.push_str(&json[literal..]);
}

fn longest_match(at: &[u8], name: &[u8]) -> (u8, usize) {
    let mut best = (0, 0);
    // Every fragment, and the quoted name, starts with one of these.
    if !matches!(at.first(), Some(b'{' | b',' | b'"' | b'}' | b'e')) {
        return best;
    }
    if at.starts_with(name) && name.len() > 2 {
        best = (NAME, name.len());
    }
    for (i, f) in FRAGMENTS.iter().enumerate() {
        if f.len() > best.1 && at.starts_with(f.as_bytes()) {
            best = (i as u8 + 1, f.len());
        }
    }
    best
}

/// Decodes what [`pack`] made for the flag `name`.
pub(crate) fn unpack(packed: &str, name: &str) -> Option<Feature> {
    if let Some(json) = packed.strip_prefix('\u{7f}') {
        return serde_json::from_str(json).ok();
    }
    let quoted = serde_json::to_string(name).ok()?;
    let mut json = String::with_capacity(packed.len() * 3);
    let mut literal = 0;
    for (i, b) in packed.bytes().enumerate() {
        if b >= 0x20 {
            continue;
        }
        json.push_str(&packed[literal..i]);
        json.push_str(match b {
            NAME => &quoted,
            code => FRAGMENTS[usize::from(code) - 1],
        });
        literal = i + 1;
    }
    json.push_str(&packed[literal..]);
    serde_json::from_str(&json).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_are_distinct_and_codes_fit() {
        assert!(FRAGMENTS.len() < 0x20);
        for (i, f) in FRAGMENTS.iter().enumerate() {
            assert!(f.len() > 1, "{f}");
            assert!(f.is_ascii(), "{f}");
            assert!(!FRAGMENTS[..i].contains(f), "{f} twice");
        }
    }

    #[test]
    fn round_trips_and_shrinks() {
        let f: Feature = serde_json::from_str(
            r#"{"name": "flag-3", "enabled": true, "strategies": [
                {"name": "flexibleRollout", "parameters": {"rollout": "50", "stickiness": "default", "groupId": "flag-3"},
                 "constraints": [{"contextName": "environment", "operator": "IN", "values": ["production"]}]}]}"#,
        )
        .unwrap();
        let mut packed = String::new();
        pack(&f, &mut packed);
        let json = serde_json::to_string(&f).unwrap();
        assert!(
            packed.len() * 4 < json.len(),
            "{} of {}",
            packed.len(),
            json.len()
        );
        assert_eq!(unpack(&packed, "flag-3"), Some(f));
    }

    #[test]
    fn names_that_are_short_or_odd_round_trip() {
        for name in ["", "a", "\"", "{\"name\":", "naïve\n\u{1}", "default"] {
            let f = Feature {
                name: name.into(),
                description: Some(format!("{name}{name}\u{2}")),
                enabled: true,
                ..Default::default()
            };
            let mut packed = String::new();
            pack(&f, &mut packed);
            assert_eq!(unpack(&packed, name).as_ref(), Some(&f), "{name:?}");
        }
    }
}
