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

/// First four bytes of each fragment, to rule most out without a memcmp.
const HEADS: [u32; FRAGMENTS.len()] = {
    let mut heads = [0; FRAGMENTS.len()];
    let mut i = 0;
    while i < FRAGMENTS.len() {
        let b = FRAGMENTS[i].as_bytes();
        heads[i] = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        i += 1;
    }
    heads
};

/// Packs definitions; holds buffers reused from one flag to the next.
#[derive(Debug, Default)]
pub(crate) struct Packer {
    json: Vec<u8>,
    name: Vec<u8>,
    out: Vec<u8>,
}

impl Packer {
    /// The flag's name followed by its packed definition, as one string.
    pub(crate) fn pack(&mut self, feature: &Feature) -> Box<str> {
        self.json.clear();
        self.name.clear();
        self.out.clear();
        self.out.extend_from_slice(feature.name.as_bytes());
        let written = serde_json::to_writer(&mut self.json, feature).is_ok()
            && serde_json::to_writer(&mut self.name, &feature.name).is_ok();
        if !written || self.json.iter().any(|&b| b < 0x20) {
            // Cannot happen with serde_json; stay lossless anyway.
            self.out.push(0x7f);
            self.out.extend_from_slice(&self.json);
        } else {
            encode(&self.json, &self.name, &mut self.out);
        }
        // Codes are ASCII and every fragment starts and ends with ASCII, so
        // the text stays UTF-8.
        match String::from_utf8(std::mem::take(&mut self.out)) {
            Ok(text) => {
                let boxed = text.as_str().into();
                self.out = text.into_bytes();
                boxed
            }
            Err(e) => {
                self.out = e.into_bytes();
                let json = String::from_utf8_lossy(&self.json);
                format!("{}\u{7f}{json}", feature.name).into()
            }
        }
    }
}

fn encode(json: &[u8], name: &[u8], out: &mut Vec<u8>) {
    let mut literal = 0;
    let mut i = 0;
    while i < json.len() {
        let (code, len) = longest_match(&json[i..], name);
        if len == 0 {
            i += 1;
            continue;
        }
        out.extend_from_slice(&json[literal..i]);
        out.push(code);
        i += len;
        literal = i;
    }
    out.extend_from_slice(&json[literal..]);
}

#[inline]
fn longest_match(at: &[u8], name: &[u8]) -> (u8, usize) {
    let mut best = (0, 0);
    // Every fragment, and the quoted name, starts with one of these.
    if !matches!(at.first(), Some(b'{' | b',' | b'"' | b'}' | b'e')) {
        return best;
    }
    if name.len() > 2 && at.starts_with(name) {
        best = (NAME, name.len());
    }
    let Some(head) = at.first_chunk::<4>() else {
        return best;
    };
    let head = u32::from_le_bytes(*head);
    for (i, f) in FRAGMENTS.iter().enumerate() {
        if HEADS[i] == head && f.len() > best.1 && at.starts_with(f.as_bytes()) {
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
        let text = Packer::default().pack(&f);
        let packed = text.strip_prefix("flag-3").unwrap();
        let json = serde_json::to_string(&f).unwrap();
        assert!(
            packed.len() * 4 < json.len(),
            "{} of {}",
            packed.len(),
            json.len()
        );
        assert_eq!(unpack(packed, "flag-3"), Some(f));
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
            let text = Packer::default().pack(&f);
            let packed = text.strip_prefix(name).unwrap();
            assert_eq!(unpack(packed, name).as_ref(), Some(&f), "{name:?}");
        }
    }
}
