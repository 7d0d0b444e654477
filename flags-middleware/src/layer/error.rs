//! The one error the layer's builders can fail with.

use std::fmt;

/// A builder setting that cannot be used; the message says why.
///
/// ```
/// use flags_middleware::{Flags, FlagsLayer};
///
/// let flags = Flags::from_toml_str("[a]\n", "flags.toml").unwrap();
/// let e = FlagsLayer::new(flags).user_header("not a header name").unwrap_err();
/// assert!(e.to_string().contains("not a header name"), "{e}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LayerConfigError {
    message: String,
}

impl LayerConfigError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        LayerConfigError {
            message: message.into(),
        }
    }
}

impl fmt::Display for LayerConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LayerConfigError {}
