//! Anonymous session ids: made up when absent, checked when read back.

/// A fresh random session id: 128 bits as 32 lowercase hex digits.
///
/// `fastrand` is not a cryptographic generator; that is fine because the id is
/// only a bucketing key (it grants nothing), and it needs to be unique, not
/// unguessable.
pub(crate) fn new_id() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

/// Whether a session id read from a cookie is one we accept: 1 to 128
/// characters of `[A-Za-z0-9_-]`. Anything else is replaced, so a forged or
/// mangled cookie cannot inject text into logs.
pub(crate) fn is_valid_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_valid_and_distinct() {
        let a = new_id();
        let b = new_id();
        assert_eq!(a.len(), 32);
        assert!(is_valid_id(&a));
        assert_ne!(a, b);
    }

    #[test]
    fn foreign_ids_are_checked() {
        assert!(is_valid_id("abc-DEF_123"));
        for bad in ["", "a b", "x\ny", "ünï", &"a".repeat(129)] {
            assert!(!is_valid_id(bad), "{bad:?}");
        }
    }
}
