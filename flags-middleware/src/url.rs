//! Putting names into URLs: a flag, project or environment name may hold
//! any letter (`Hellø`), and a URL's path only some bytes.

/// `text` as one path segment: everything but RFC 3986's unreserved
/// characters percent-encoded (UTF-8 byte by byte).
pub(crate) fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(super::path_segment("a b/ü.x-y_z~"), "a%20b%2F%C3%BC.x-y_z~");
    }
}
