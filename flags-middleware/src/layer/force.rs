//! Flags forced for one request (a test, or a developer trying a variant):
//! read by the layer on every request when it allows overrides, so they
//! live here; users name them from [`testing`](crate::testing).

use std::fmt::Write as _;
use std::sync::Arc;

use http::request::Parts;

/// The header that forces flags for one request when the layer allows it:
/// `flag=on`, `flag=off` or `flag=<variant>`, comma-separated (a bare `flag`
/// means `on`).
///
/// ```
/// # use axum::{body::{to_bytes, Body}, http::Request, routing::get, Router};
/// # use tower::ServiceExt as _;
/// use flags_middleware::{layer::FORCE_HEADER, FlagContext, Flags, FlagsLayer};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let flags = Flags::from_toml_str("[new_checkout_flow]\nenabled = false\n", "flags.toml").unwrap();
/// let ask = get(|f: FlagContext| async move { f.is_enabled("new_checkout_flow").to_string() });
/// let staging = Router::new().route("/", ask.clone()).layer(FlagsLayer::new(flags.clone()).allow_overrides(true));
/// let production = Router::new().route("/", ask).layer(FlagsLayer::new(flags));
/// // Heeded only where the layer allows overrides.
/// for (app, answer) in [(staging, "true"), (production, "false")] {
///     let request = Request::get("/").header(FORCE_HEADER, "new_checkout_flow").body(Body::empty()).unwrap();
///     let res = app.oneshot(request).await.unwrap();
///     assert_eq!(to_bytes(res.into_body(), 16).await.unwrap(), answer);
/// }
/// # }
/// ```
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
    ///
    /// ```
    /// use flags_middleware::{layer::ForceFlags, testing::TestFlags, Context, FlagContext};
    ///
    /// let flags = TestFlags::new().on("new_checkout_flow").build();
    /// let ctx = FlagContext::for_test_forced(&flags, Context::new(), ForceFlags::new());
    /// assert!(ctx.is_enabled("new_checkout_flow")); // nothing forced: the flags answer
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Forces `flag` on (no variant).
    ///
    /// ```
    /// use flags_middleware::{layer::ForceFlags, testing::TestFlags, Context, FlagContext};
    ///
    /// let flags = TestFlags::new().off("new_checkout_flow").build();
    /// let forced = ForceFlags::new().on("new_checkout_flow");
    /// let ctx = FlagContext::for_test_forced(&flags, Context::new(), forced);
    /// assert!(ctx.is_enabled("new_checkout_flow"));
    /// assert_eq!(ctx.variant("new_checkout_flow").name, "disabled"); // on, with no variant
    /// ```
    #[must_use]
    pub fn on(self, flag: &str) -> Self {
        self.with(flag, Forced::On)
    }

    /// Forces `flag` off.
    ///
    /// ```
    /// use flags_middleware::{layer::ForceFlags, testing::TestFlags, Context, FlagContext};
    ///
    /// let flags = TestFlags::new().on("new_checkout_flow").build();
    /// let forced = ForceFlags::new().off("new_checkout_flow");
    /// let ctx = FlagContext::for_test_forced(&flags, Context::new(), forced);
    /// assert!(!ctx.is_enabled("new_checkout_flow")); // the legacy path, whatever the flags say
    /// ```
    #[must_use]
    pub fn off(self, flag: &str) -> Self {
        self.with(flag, Forced::Off)
    }

    /// Forces `flag` on with variant `variant` (with the payload the flag
    /// defines for it, if it does).
    ///
    /// ```
    /// use flags_middleware::{layer::ForceFlags, Context, FlagContext, Flags};
    ///
    /// let toml = "[[exp.variants]]\nname = \"green\"\npayload = { type = \"string\", value = \"#0a0\" }\n\
    ///             [[exp.variants]]\nname = \"blue\"\n";
    /// let flags = Flags::from_toml_str(toml, "flags.toml").unwrap();
    /// let ctx = FlagContext::for_test_forced(&flags, Context::new(), ForceFlags::new().variant("exp", "green"));
    /// let green = ctx.variant("exp");
    /// assert_eq!((green.name, green.payload.map(|p| p.value.as_str())), ("green", Some("#0a0")));
    /// ```
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
    ///
    /// ```
    /// use flags_middleware::layer::ForceFlags;
    ///
    /// let forced = ForceFlags::parse("new_checkout_flow, legacy_api=off, exp=green,");
    /// let built = ForceFlags::new().on("new_checkout_flow").off("legacy_api").variant("exp", "green");
    /// assert_eq!(forced, built);
    /// ```
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
    ///
    /// ```
    /// # use axum::{body::{to_bytes, Body}, http::Request, routing::get, Router};
    /// # use tower::ServiceExt as _;
    /// use flags_middleware::layer::{ForceFlags, FORCE_HEADER};
    /// use flags_middleware::{FlagContext, Flags, FlagsLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\nenabled = false\n", "flags.toml").unwrap();
    /// let app = Router::new()
    ///     .route("/", get(|f: FlagContext| async move { f.is_enabled("new_checkout_flow").to_string() }))
    ///     .layer(FlagsLayer::new(flags).allow_overrides(true)); // a test or staging build only
    /// let forced = ForceFlags::new().on("new_checkout_flow");
    /// assert_eq!(forced.header_value(), "new_checkout_flow=on");
    /// let request = Request::get("/").header(FORCE_HEADER, forced.header_value()).body(Body::empty()).unwrap();
    /// assert_eq!(to_bytes(app.oneshot(request).await.unwrap().into_body(), 16).await.unwrap(), "true");
    /// # }
    /// ```
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
