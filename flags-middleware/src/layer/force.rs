//! Flags forced for one request (a test, or a developer trying a variant):
//! read by the layer on every request when it allows overrides, so they
//! live here; users name them from [`testing`](crate::testing).

use std::fmt::Write as _;
use std::sync::Arc;

use http::request::Parts;

/// The header that forces flags for one request when the layer allows it:
/// `flag=on`, `flag=off` or `flag=<variant>`, comma-separated (a bare `flag`
/// means `on`).
pub const FORCE_HEADER: &str = "x-flags-force";

/// Flags forced for one request; see [`testing`](crate::testing) for how
/// to send them.
///
/// Forced answers show `feature_flag.forced = true` in decision events and
/// are left out of [`Metrics`](crate::metrics::Metrics).
///
/// ```
/// use flags_middleware::layer::{ForceFlags, FORCE_HEADER};
///
/// let forced = ForceFlags::new()
///     .on("new_checkout_flow")
///     .variant("checkout_experiment", "green");
/// // What a test sends, on a router whose layer has `.allow_overrides(true)`.
/// let header = (FORCE_HEADER, forced.header_value());
/// assert_eq!(ForceFlags::parse(&header.1), forced);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForceFlags {
    entries: Vec<(Arc<str>, Forced)>,
}

/// One forced answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Forced {
    On,
    Off,
    Variant(Arc<str>),
}

impl ForceFlags {
    /// Nothing forced yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forces `flag` on (no variant).
    #[must_use]
    pub fn on(self, flag: &str) -> Self {
        self.with(flag, Forced::On)
    }

    /// Forces `flag` off.
    #[must_use]
    pub fn off(self, flag: &str) -> Self {
        self.with(flag, Forced::Off)
    }

    /// Forces `flag` on with variant `variant` (with the payload the flag
    /// defines for it, if it does).
    #[must_use]
    pub fn variant(self, flag: &str, variant: &str) -> Self {
        self.with(flag, Forced::Variant(variant.into()))
    }

    fn with(mut self, flag: &str, forced: Forced) -> Self {
        self.entries.retain(|(f, _)| &**f != flag);
        self.entries.push((flag.into(), forced));
        self
    }

    /// Parses a [`FORCE_HEADER`] value; empty entries are skipped.
    pub fn parse(text: &str) -> Self {
        text.split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .fold(ForceFlags::new(), |acc, entry| {
                let (flag, value) = entry.split_once('=').unwrap_or((entry, "on"));
                let (flag, value) = (flag.trim(), value.trim());
                if flag.is_empty() {
                    return acc;
                }
                match value {
                    "on" | "true" => acc.on(flag),
                    "off" | "false" => acc.off(flag),
                    v => acc.variant(flag, v),
                }
            })
    }

    /// The [`FORCE_HEADER`] value that forces the same flags.
    pub fn header_value(&self) -> String {
        let mut out = String::new();
        for (i, (flag, forced)) in self.entries.iter().enumerate() {
            let value = match forced {
                Forced::On => "on",
                Forced::Off => "off",
                Forced::Variant(v) => v,
            };
            let _ = write!(out, "{}{flag}={value}", if i > 0 { "," } else { "" });
        }
        out
    }

    /// The flags forced for a request: its extension, else its header.
    pub(crate) fn from_request(parts: &Parts) -> Option<ForceFlags> {
        if let Some(f) = parts.extensions.get::<ForceFlags>() {
            return Some(f.clone());
        }
        let text = parts.headers.get(FORCE_HEADER)?.to_str().ok()?;
        Some(ForceFlags::parse(text))
    }

    pub(crate) fn position(&self, flag: &str) -> Option<u32> {
        let i = self.entries.iter().position(|(f, _)| &**f == flag)?;
        u32::try_from(i).ok()
    }

    pub(crate) fn get(&self, i: u32) -> Option<&Forced> {
        self.entries.get(i as usize).map(|(_, f)| f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips() {
        let f = ForceFlags::parse(" a=on, b=off ,c=blue,d, =x,,e=true");
        assert_eq!(f.header_value(), "a=on,b=off,c=blue,d=on,e=on");
        assert_eq!(ForceFlags::parse(&f.header_value()), f);
    }

    #[test]
    fn later_entries_replace_earlier_ones() {
        let f = ForceFlags::new().on("a").variant("a", "x");
        assert_eq!(f.header_value(), "a=x");
    }
}
