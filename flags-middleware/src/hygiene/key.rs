//! [`FlagKey`]: a flag's name declared once, with [`flag!`](crate::flag).

use std::fmt;

/// A typed key for a flag, declared once with [`flag!`](crate::flag) and
/// registered with its source location (see [`registry`](super::registry)).
/// [`FlagContext::is_enabled`](crate::FlagContext::is_enabled),
/// [`FlagContext::variant`](crate::FlagContext::variant),
/// [`Flags::is_enabled`](crate::Flags::is_enabled),
/// [`Flags::variant`](crate::Flags::variant) and
/// [`Flags::details`](crate::Flags::details) take it as it is (it is
/// `AsRef<str>`), [`FlagContext::details`](crate::FlagContext::details) by
/// reference; elsewhere, pass [`FlagKey::name`].
///
/// ```
/// use flags_middleware::{flag, Context, Flags};
///
/// flag!(LEGACY_API = "legacy_api");
///
/// let flags = Flags::from_toml_str("[legacy_api]\nenabled = false\n", "flags.toml").unwrap();
/// assert!(!flags.is_enabled(LEGACY_API, &Context::new()));
/// assert_eq!(LEGACY_API.to_string(), "legacy_api");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlagKey {
    name: &'static str,
}

impl FlagKey {
    /// What `flag!` expands to, after checking the name; not a public API
    /// (a key made otherwise is neither checked nor registered).
    #[doc(hidden)]
    pub const fn __declared(name: &'static str) -> FlagKey {
        FlagKey { name }
    }

    /// The flag's name.
    ///
    /// ```
    /// use flags_middleware::{flag, Flags};
    ///
    /// flag!(NEW_CHECKOUT = "new_checkout_flow");
    /// const NAME: &str = NEW_CHECKOUT.name(); // usable in constants
    ///
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\nrollout = 5\n", "flags.toml").unwrap();
    /// assert_eq!(NAME, "new_checkout_flow");
    /// assert_eq!(flags.snapshot().feature(NEW_CHECKOUT.name()).unwrap().rollout_percent(), Some(5));
    /// ```
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

impl AsRef<str> for FlagKey {
    fn as_ref(&self) -> &str {
        self.name
    }
}

impl fmt::Display for FlagKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl From<FlagKey> for &'static str {
    fn from(key: FlagKey) -> &'static str {
        key.name
    }
}
