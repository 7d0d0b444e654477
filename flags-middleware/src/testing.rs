//! Helpers for tests: flag sets in one line, and flags forced for one request.
//!
//! Nothing here touches global state, so tests using it run in parallel.
//!
//! - For one test: build a [`Flags`] with [`TestFlags`] and give it to the
//!   router under test, or make a [`FlagContext`](crate::FlagContext) with
//!   [`FlagContext::for_test`](crate::FlagContext::for_test) to call a
//!   function directly.
//! - For one request: with [`FlagsLayer::allow_overrides`](crate::FlagsLayer::allow_overrides),
//!   insert a [`ForceFlags`] extension (with `tower::ServiceExt::oneshot`), or
//!   send the [`FORCE_HEADER`] header (over HTTP).
//!
//! ```
//! use axum::{body::Body, routing::get, Router};
//! use flags_middleware::testing::{ForceFlags, TestFlags};
//! use flags_middleware::{FlagContext, FlagsLayer};
//! use tower::ServiceExt;
//!
//! async fn page(flags: FlagContext) -> &'static str {
//!     if flags.is_enabled("new_checkout_flow") { "new" } else { "old" }
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let flags = TestFlags::new().off("new_checkout_flow").build();
//! let app = Router::new()
//!     .route("/", get(page))
//!     .layer(FlagsLayer::new(flags).allow_overrides(true));
//!
//! let mut req = http::Request::new(Body::empty());
//! req.extensions_mut().insert(ForceFlags::new().on("new_checkout_flow"));
//! let res = app.oneshot(req).await.unwrap();
//! let body = axum::body::to_bytes(res.into_body(), 64).await.unwrap();
//! assert_eq!(&body[..], b"new");
//! # });
//! ```

use crate::error::LoadErrors;
use crate::model::{Feature, FlagSet, Strategy, StrategyKind, VariantDef};
use crate::Flags;

// Forcing is the layer's (it reads them on every request); tests name
// them here.
pub use crate::layer::{ForceFlags, FORCE_HEADER};

/// A small flag set for tests, built in one expression.
///
/// ```
/// use flags_middleware::{testing::TestFlags, Context};
///
/// let flags = TestFlags::new()
///     .on("ai_recommendations")
///     .off("legacy_api")
///     .rollout("new_checkout_flow", 20)
///     .variant("checkout_button", "green")
///     .build();
/// assert!(flags.is_enabled("ai_recommendations", &Context::new()));
/// assert_eq!(flags.variant("checkout_button", &Context::new()).name, "green");
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct TestFlags {
    set: FlagSet,
}

impl TestFlags {
    /// No flags.
    pub fn new() -> Self {
        Self::default()
    }

    /// A flag on for everyone.
    pub fn on(self, flag: &str) -> Self {
        self.feature(
            flag,
            true,
            vec![strategy(StrategyKind::Default, &[])],
            vec![],
        )
    }

    /// A flag off for everyone (its kill switch is off).
    pub fn off(self, flag: &str) -> Self {
        self.feature(
            flag,
            false,
            vec![strategy(StrategyKind::Default, &[])],
            vec![],
        )
    }

    /// A flag on for `percent` of users, sticky per user (else session) id.
    ///
    /// ```
    /// use flags_middleware::{testing::TestFlags, Context};
    ///
    /// let flags = TestFlags::new().rollout("new_checkout_flow", 20).build();
    /// let on = (0..1000)
    ///     .filter(|i| flags.is_enabled("new_checkout_flow", &Context::new().user_id(format!("u{i}"))))
    ///     .count();
    /// assert!((150..250).contains(&on), "{on} of 1000");
    /// ```
    pub fn rollout(self, flag: &str, percent: u32) -> Self {
        let percent = percent.min(100).to_string();
        let s = strategy(
            StrategyKind::FlexibleRollout,
            &[
                ("rollout", &percent),
                ("stickiness", "default"),
                ("groupId", flag),
            ],
        );
        self.feature(flag, true, vec![s], vec![])
    }

    /// A flag on for everyone with a single variant, `variant`.
    pub fn variant(self, flag: &str, variant: &str) -> Self {
        self.variants(flag, &[(variant, 1)])
    }

    /// A flag on for everyone, split between `variants` by relative weight.
    ///
    /// ```
    /// use flags_middleware::{testing::TestFlags, Context};
    ///
    /// let flags = TestFlags::new().variants("checkout_button", &[("blue", 1), ("green", 3)]).build();
    /// let green = (0..1000)
    ///     .filter(|i| flags.variant("checkout_button", &Context::new().user_id(format!("u{i}"))).name == "green")
    ///     .count();
    /// assert!((700..800).contains(&green), "{green} of 1000"); // 3 in 4
    /// ```
    pub fn variants(self, flag: &str, variants: &[(&str, u32)]) -> Self {
        let total: u32 = variants.iter().map(|(_, w)| w).sum::<u32>().max(1);
        let defs = variants
            .iter()
            .map(|(name, w)| VariantDef {
                name: (*name).to_owned(),
                weight: w * 1000 / total,
                ..Default::default()
            })
            .collect();
        self.feature(flag, true, vec![strategy(StrategyKind::Default, &[])], defs)
    }

    /// Adds (or replaces) a flag defined in full.
    ///
    /// ```
    /// use flags_middleware::{format::toml, testing::TestFlags, Context};
    ///
    /// let set = toml::parse("[beta_search]\nwhen = { plan = \"pro\" }\n", "flags.toml").unwrap();
    /// let test = TestFlags::new().off("beta_search").with_feature(set.features[0].clone());
    /// assert_eq!(test.flag_set().features.len(), 1); // replaced, not added
    /// let flags = test.build();
    /// assert!(flags.is_enabled("beta_search", &Context::new().property("plan", "pro")));
    /// assert!(!flags.is_enabled("beta_search", &Context::new()));
    /// ```
    pub fn with_feature(mut self, feature: Feature) -> Self {
        self.set.features.retain(|f| f.name != feature.name);
        self.set.features.push(feature);
        self
    }

    fn feature(
        self,
        flag: &str,
        enabled: bool,
        strategies: Vec<Strategy>,
        variants: Vec<VariantDef>,
    ) -> Self {
        self.with_feature(Feature {
            name: flag.to_owned(),
            enabled,
            strategies,
            variants,
            ..Default::default()
        })
    }

    /// The flag set built so far.
    pub fn flag_set(&self) -> &FlagSet {
        &self.set
    }

    /// A fresh [`Flags`] handle serving the set (its own counters, version 1).
    pub fn build(&self) -> Flags {
        let snapshot =
            crate::Snapshot::compile(&self.set, crate::engine::Mode::Lenient, "test flags")
                .unwrap_or_default()
                .with_version(1);
        Flags::from_snapshot(snapshot)
    }
}

/// Serves `set` from `flags` right now, **without persisting or auditing
/// it**: for a test that needs the flags to change under a request in
/// flight. Everything else changes flags through a
/// [`Writer`](crate::change::Writer), which does both. Returns the new
/// version.
///
/// ```
/// use flags_middleware::testing::{swap_unpersisted, TestFlags};
/// use flags_middleware::Context;
///
/// let flags = TestFlags::new().on("a").build();
/// let version = swap_unpersisted(&flags, TestFlags::new().off("a").flag_set()).unwrap();
/// assert_eq!(version, 2);
/// assert!(!flags.is_enabled("a", &Context::new()));
/// assert!(flags.audit_log(0, 10).unwrap().is_empty());
/// ```
///
/// # Errors
/// Every problem in `set` (checked strictly); the flags keep serving.
pub fn swap_unpersisted(flags: &Flags, set: &FlagSet) -> Result<u64, LoadErrors> {
    let next = crate::Snapshot::compile(
        set,
        crate::engine::Mode::Strict,
        "testing::swap_unpersisted",
    )?;
    flags.live().swap_in(None, |_| Ok(next))
}

fn strategy(kind: StrategyKind, params: &[(&str, &str)]) -> Strategy {
    Strategy {
        name: kind.name().to_owned(),
        parameters: params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..Default::default()
    }
}

/// Fails (panics) when the code refers to a flag, through
/// `#[feature_gated]` or a [`flag!`](crate::flag) key, that the flags file
/// at `path` does not define: TOML, or JSON (Unleash's client API or an
/// export). The message lists each such flag with its call sites and, for
/// a near name, "did you mean". One line in a test catches a typo before
/// deploy:
///
/// ```no_run
/// #[test]
/// fn every_flag_in_code_is_defined() {
///     flags_middleware::testing::assert_flags_defined("flags.toml");
/// }
/// ```
///
/// The registry holds the gates and keys of the crates linked into the
/// test: in an integration test (`tests/`), those of the library it uses.
///
/// # Panics
/// When a flag is undefined, or the file cannot be read or parsed.
#[track_caller]
pub fn assert_flags_defined(path: impl AsRef<std::path::Path>) {
    if let Err(message) = crate::hygiene::check_flags_defined(path) {
        panic!("{message}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Context;

    #[test]
    fn test_flags_answer_as_built() {
        let flags = TestFlags::new()
            .on("a")
            .off("b")
            .rollout("c", 0)
            .variants("d", &[("x", 1), ("y", 0)])
            .build();
        let ctx = Context::new().user_id("u");
        assert!(flags.is_enabled("a", &ctx));
        assert!(!flags.is_enabled("b", &ctx));
        assert!(!flags.is_enabled("c", &ctx));
        assert_eq!(flags.variant("d", &ctx).name, "x");
        assert_eq!(flags.version(), 1);
    }
}
