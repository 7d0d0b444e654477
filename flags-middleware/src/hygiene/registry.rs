//! The link-time registry of flags known to the code: one [`FlagUse`] per
//! `#[feature_gated]` and per typed key declared with [`flag!`](crate::flag),
//! gathered by the `inventory` crate when the program starts.

use std::fmt;

/// Where the code refers to a flag: a gate or a typed key, with its source
/// location. Listed by [`registry`].
///
/// ```
/// use flags_middleware::hygiene::{registry, UseKind};
///
/// flags_middleware::flag!(DARK_MODE = "dark_mode");
///
/// let key = registry().find(|u| u.name == "dark_mode").unwrap();
/// assert_eq!(key.kind, UseKind::Key);
/// assert_eq!(key.item, "DARK_MODE");
/// assert!(key.file.ends_with(".rs") && key.line > 0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct FlagUse {
    /// The flag's name.
    pub name: &'static str,
    /// A gate or a typed key.
    pub kind: UseKind,
    /// The source file, as `file!()` gives it (relative to the package
    /// being built, e.g. `src/handlers.rs`).
    pub file: &'static str,
    /// The line of the gated function's name or of the key's name.
    pub line: u32,
    /// The column of that name (1-based).
    pub column: u32,
    /// The module, as `module_path!()` gives it (`my_app::handlers`).
    pub module_path: &'static str,
    /// The gated function's name, or the key's constant.
    pub item: &'static str,
    /// A gate's fallback function, as written (`legacy::get_product`):
    /// what can be deleted once the flag is on for everyone.
    pub fallback: Option<&'static str>,
    /// A gate's variant functions, as written.
    pub variant_fns: &'static [&'static str],
}

/// What kind of reference a [`FlagUse`] is.
///
/// ```
/// use flags_middleware::hygiene::{uses_of, UseKind};
/// use flags_middleware::{feature_gated, FlagContext};
///
/// #[feature_gated("new_pricing", fallback = price_legacy)]
/// async fn price(flags: &FlagContext) -> u32 { 90 }
/// async fn price_legacy(flags: &FlagContext) -> u32 { 100 }
/// flags_middleware::flag!(NEW_PRICING = "new_pricing");
///
/// let uses: Vec<(UseKind, &str)> = uses_of("new_pricing").iter().map(|u| (u.kind, u.item)).collect();
/// assert_eq!(uses, [(UseKind::Gate, "price"), (UseKind::Key, "NEW_PRICING")]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum UseKind {
    /// A `#[feature_gated]` function.
    Gate,
    /// A typed key declared with [`flag!`](crate::flag).
    Key,
}

inventory::collect!(FlagUse);

impl FlagUse {
    /// What `#[feature_gated]` registers; not a public API.
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)]
    pub const fn __gate(
        name: &'static str,
        file: &'static str,
        line: u32,
        column: u32,
        module_path: &'static str,
        function: &'static str,
        fallback: &'static str,
        variant_fns: &'static [&'static str],
    ) -> FlagUse {
        FlagUse {
            name,
            kind: UseKind::Gate,
            file,
            line,
            column,
            module_path,
            item: function,
            fallback: Some(fallback),
            variant_fns,
        }
    }

    /// What `flag!` registers; not a public API.
    #[doc(hidden)]
    pub const fn __key(
        name: &'static str,
        file: &'static str,
        line: u32,
        column: u32,
        module_path: &'static str,
        constant: &'static str,
    ) -> FlagUse {
        FlagUse {
            name,
            kind: UseKind::Key,
            file,
            line,
            column,
            module_path,
            item: constant,
            fallback: None,
            variant_fns: &[],
        }
    }

    /// `file:line:column` with the item's path:
    /// `src/shop.rs:12:8 (my_app::shop::checkout)`.
    ///
    /// ```
    /// use flags_middleware::hygiene::registry;
    ///
    /// flags_middleware::flag!(DARK_MODE = "dark_mode");
    ///
    /// let site = registry().find(|u| u.name == "dark_mode").unwrap().call_site();
    /// assert!(site.starts_with(file!()));
    /// assert!(site.ends_with("::DARK_MODE)"));
    /// ```
    pub fn call_site(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for FlagUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{} ({}::{})",
            self.file, self.line, self.column, self.module_path, self.item
        )
    }
}

/// Every flag use linked into this program, sorted by flag name, then file
/// and line: the gates and typed keys of every crate in the binary.
///
/// ```
/// use flags_middleware::hygiene::registry;
///
/// flags_middleware::flag!(NEW_CHECKOUT = "new_checkout_flow");
/// assert!(registry().any(|u| u.name == "new_checkout_flow" && u.item == "NEW_CHECKOUT"));
/// ```
pub fn registry() -> impl Iterator<Item = &'static FlagUse> {
    let mut uses: Vec<&'static FlagUse> = inventory::iter::<FlagUse>.into_iter().collect();
    uses.sort_by(|a, b| {
        (a.name, a.file, a.line, a.column, a.item).cmp(&(b.name, b.file, b.line, b.column, b.item))
    });
    uses.into_iter()
}

/// The names of the flags the code refers to, each once, sorted.
///
/// ```
/// use flags_middleware::hygiene::referenced_names;
///
/// flags_middleware::flag!(A = "zebra_flag");
/// flags_middleware::flag!(B = "zebra_flag"); // the same flag, named twice
///
/// let names = referenced_names();
/// assert_eq!(names.iter().filter(|n| **n == "zebra_flag").count(), 1);
/// assert!(names.windows(2).all(|w| w[0] < w[1]));
/// ```
pub fn referenced_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = registry().map(|u| u.name).collect();
    names.dedup();
    names
}

/// The uses of `name` in the code, sorted.
///
/// ```
/// use flags_middleware::hygiene::uses_of;
///
/// flags_middleware::flag!(CHECKOUT = "new_checkout_flow");
///
/// let uses = uses_of("new_checkout_flow");
/// assert_eq!(uses.len(), 1);
/// assert_eq!(uses[0].item, "CHECKOUT");
/// assert!(uses_of("never_referenced").is_empty());
/// ```
pub fn uses_of(name: &str) -> Vec<&'static FlagUse> {
    registry().filter(|u| u.name == name).collect()
}
