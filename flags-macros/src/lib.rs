//! The `#[feature_gated]` attribute for [flags-middleware]: route an axum
//! handler between a new and a legacy implementation by a feature flag.
//!
//! Use it through its re-export, `flags_middleware::feature_gated`; the
//! generated code names `::flags_middleware` paths, so the crate using the
//! attribute must depend on `flags-middleware`.
//!
//! [flags-middleware]: https://docs.rs/flags-middleware
//!
//! # Example
//!
//! ```no_run
//! use axum::{extract::{Path, State}, routing::get, Json, Router};
//! use flags_middleware::{feature_gated, Flags, FlagsLayer};
//! # #[derive(Clone)] struct Db;
//! # #[derive(serde::Serialize)] struct Product { id: String }
//! # #[derive(serde::Serialize)] struct ProductV2 { id: String, checkout: &'static str }
//!
//! /// The new implementation: runs for users in the `new_checkout_flow` rollout.
//! #[feature_gated("new_checkout_flow", fallback = get_product_legacy)]
//! async fn get_product(Path(id): Path<String>, State(db): State<Db>) -> Json<ProductV2> {
//!     Json(ProductV2 { id, checkout: "v2" })
//! }
//!
//! /// Everyone else, and everyone once the flag is killed.
//! async fn get_product_legacy(Path(id): Path<String>, State(db): State<Db>) -> Json<Product> {
//!     Json(Product { id })
//! }
//!
//! # async fn run(flags: Flags) {
//! let app = Router::new()
//!     .route("/api/v1/products/{id}", get(get_product))
//!     .with_state(Db)
//!     .layer(FlagsLayer::new(flags));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await.unwrap();
//! axum::serve(listener, app).await.unwrap();
//! # }
//! ```
//!
//! # What it expands to
//!
//! The example's handler becomes (paths shortened, `__private` is
//! `::flags_middleware::__private`):
//!
//! ```text
//! /// The new implementation: runs for users in the `new_checkout_flow` rollout.
//! async fn get_product(
//!     __flags_ctx: FlagContext,         // extracted from the request's parts
//!     __flags_arg0: Path<String>,       // patterns get plain names...
//!     __flags_arg1: State<Db>,
//! ) -> Response {
//!     // ...and the user's function, unchanged, does the destructuring.
//!     async fn __flags_new(Path(id): Path<String>, State(db): State<Db>) -> Json<ProductV2> {
//!         Json(ProductV2 { id, checkout: "v2" })
//!     }
//!
//!     if __private::is_enabled(&__flags_ctx, "new_checkout_flow") {
//!         IntoResponse::into_response(__flags_new(__flags_arg0, __flags_arg1).await)
//!     } else {
//!         // `chain::Arm` passes `__flags_ctx` on only if the fallback takes
//!         // it first (a gated fallback does); here it returns the plain
//!         // `get_product_legacy` itself, called with the arguments.
//!         IntoResponse::into_response(
//!             (&&chain::Arm(get_product_legacy)).__flags_bind(__flags_ctx)(__flags_arg0, __flags_arg1).await,
//!         )
//!     }
//! }
//! ```
//!
//! which is the `if flags.is_enabled(..) { new } else { legacy }` one would
//! write by hand: one decision through the request's [`FlagContext`] (so the
//! request's pinned snapshot, the memoized decision and its one decision
//! event), then one direct call. `__private::is_enabled` is an inlined call
//! of `FlagContext::is_enabled`, and the choice `chain::Arm` makes is a
//! method lookup at compile time (autoref specialization), not a branch.
//!
//! An argument keeps its own name when it has one (`db: State<Db>`), so
//! `#[tracing::instrument]` below the gate records it, and its `fields(..)`
//! read it, under that name. The names the gate makes up (the context,
//! `__flags_argN` for patterns) are bound with `Span::mixed_site()`, out of
//! the user's sight, and the fallback and variant functions are named with
//! that span too: a mixed-site name looks up local variables among the
//! macro's own only, so an argument named like the fallback
//! (`legacy: Query<Params>` with `fallback = legacy`) does not hide it.
//!
//! The bench `flags-macros/benches/gated.rs` compares the two behind
//! `FlagsLayer` over `oneshot`: the gated handler took 0.99 to 1.02 times as
//! long as the hand-written one (flag on, off, and at a 20% rollout), which
//! is within noise: on the same busy machine, the expansion from before
//! `chain::Arm` measured 0.96 to 1.02.
//!
//! With `variants(blue = checkout_blue, green = checkout_green)` the `if`
//! becomes a `match` on the request's variant:
//!
//! ```text
//! match __private::variant_arm(&__flags_ctx, "checkout_experiment", &["blue", "green"]) {
//!     1 => IntoResponse::into_response(__flags_new(..).await),   // on, no listed variant
//!     2 => IntoResponse::into_response(checkout_blue(..).await),
//!     3 => IntoResponse::into_response(checkout_green(..).await),
//!     _ => IntoResponse::into_response(checkout_control(..).await), // off
//! }
//! ```
//!
//! A function that already takes a `FlagContext` (service code, see
//! [`feature_gated`]) keeps its signature: no context is added, the arms are
//! called directly and their results are returned as they are, without
//! `IntoResponse`.
//!
//! [`FlagContext`]: https://docs.rs/flags-middleware/latest/flags_middleware/struct.FlagContext.html
#![deny(rustdoc::broken_intra_doc_links)]

use proc_macro::TokenStream;

mod attr;
mod expand;
mod key;
// The naming rule's own file from flags-core, compiled here too: one rule in
// one file, so the macro refuses at compile time exactly the names a strict
// load refuses, without making every proc-macro build depend on flags-core
// (regex, serde, chrono, ...). The file uses nothing but `std`.
// Its items are `pub` for flags-core's API, and the macro needs only
// `check_flag_name` and the error's `Display`.
#[allow(unreachable_pub, dead_code)]
#[path = "../../flags-core/src/name.rs"]
mod name;
mod register;
mod signature;

/// Routes a function between a new implementation (its own body) and a
/// `fallback`, by a feature flag, once per call.
///
/// ```text
/// #[feature_gated("flag_name", fallback = legacy_fn)]
/// #[feature_gated("flag_name", variants(blue = blue_fn, "green-2" = green_fn), fallback = control_fn)]
/// ```
///
/// # The flag's name
///
/// The name is checked at compile time by the same code that checks every
/// flag file and admin API request (`flags_core::name`, compiled into
/// this crate from its one source file): 1 to 100 characters, letters and
/// digits of any script, `_`, `-`, `.`, `~` and non-ASCII symbols such as
/// emoji, starting with a letter or digit, with no spaces, control or
/// invisible characters, or other ASCII punctuation. A name no flag file could
/// define would leave the gate off for good, so it is an error at the
/// literal instead:
///
/// ```text
/// error: `new checkout` is not a valid flag name (it contains U+0020): a flag name is 1 to 100 characters: ...
///  --> src/main.rs:4:17
///   |
/// 4 | #[feature_gated("new checkout", fallback = legacy)]
///   |                 ^^^^^^^^^^^^^^
/// ```
///
/// Variant names are the flag set's business, not flag names: they are
/// taken as written, except that an empty `variants()`, a name listed
/// twice and `disabled` (the name of "no variant") are compile errors.
///
/// # Handlers
///
/// On an axum handler, the attribute produces an ordinary handler for
/// `get(..)`, `post(..)` or any `MethodRouter`: it extracts the request's
/// `FlagContext` (put there by `FlagsLayer`) before the handler's own
/// arguments, asks it whether the flag is on, and runs the body or calls
/// `fallback` with the same values. Any extractors work, including patterns
/// (`Path(id): Path<String>`), `State` and a body extractor such as `Json`
/// last. The two arms may return different types: each result is converted
/// with `IntoResponse` and the generated handler returns
/// `axum::response::Response`. Attributes, doc comments and visibility stay
/// on the generated function.
///
/// A handler that wants the context in its body too takes a `FlagContext`
/// argument; it is then gated as service code (below): same signature, and
/// both arms return the declared type (declare `Response` and call
/// `into_response()` when they differ).
///
/// `fallback` (and each variant's function) must take the same arguments as
/// the gated function, in the same order, and be `async`; it is called, so a
/// function that does not exist or takes other types fails to compile, at the
/// argument that differs. It may be gated itself (see
/// [Chaining flags](#chaining-flags)).
///
/// ```
/// use axum::{extract::Path, routing::get, Json, Router};
/// use flags_middleware::feature_gated;
///
/// #[feature_gated("new_checkout_flow", fallback = checkout_legacy)]
/// async fn checkout(Path(cart): Path<u64>, Json(items): Json<Vec<String>>) -> String {
///     format!("new checkout of cart {cart}: {} items", items.len())
/// }
///
/// async fn checkout_legacy(Path(cart): Path<u64>, Json(items): Json<Vec<String>>) -> &'static str {
///     "legacy checkout"
/// }
///
/// let app: Router = Router::new().route("/carts/{cart}/checkout", get(checkout));
/// ```
///
/// Arguments may carry `#[cfg(..)]`: one configured out is neither taken
/// by the generated handler nor passed to any arm (give the fallback the same
/// `#[cfg]`). Their names are the user's own business: an argument named like
/// the fallback or a variant function does not hide it.
///
/// With axum-macros' `#[debug_handler]`, put it *below* `#[feature_gated]`,
/// so it checks the generated handler. Above, it checks the function as
/// written, calls it with one argument too few (the gate's `FlagContext`),
/// and the build fails with "this function takes 2 arguments but 1 argument
/// was supplied".
///
/// `#[tracing::instrument]` below the gate records the generated handler's
/// arguments, the request's `FlagContext` among them; its `Debug` shows the
/// flag-set version and the caller's id only as the layer's `IdLogging`
/// lets events show it (plain, hashed or not at all), never the IP address
/// or the properties. Add `skip(__flags_ctx)` to leave it out.
///
/// # Chaining flags
///
/// A gated handler can be another gate's fallback (or variant function):
/// each keeps the signature its author wrote, and when the request reaches
/// it, it decides its own flag with the same request context (one pinned
/// snapshot, each decision memoized and logged once, the request event
/// naming every flag asked). Three generations of one endpoint:
///
/// ```
/// use axum::extract::{Path, Query};
/// use axum::{routing::get, Router};
/// use flags_middleware::feature_gated;
/// # #[derive(serde::Deserialize)] struct Params { q: String }
///
/// #[feature_gated("search_v3", fallback = search_v2)]
/// async fn search_v3(Path(shop): Path<u32>, Query(p): Query<Params>) -> String {
///     format!("v3: {} in shop {shop}", p.q)
/// }
///
/// #[feature_gated("search_v2", fallback = search_v1)]
/// async fn search_v2(Path(shop): Path<u32>, Query(p): Query<Params>) -> String {
///     format!("v2: {} in shop {shop}", p.q)
/// }
///
/// async fn search_v1(Path(shop): Path<u32>, Query(p): Query<Params>) -> &'static str {
///     "v1"
/// }
///
/// // search_v3 for users in its rollout, else search_v2 for users in its
/// // own, else search_v1. Either gated handler can be routed on its own too.
/// let app: Router = Router::new().route("/shops/{shop}/search", get(search_v3));
/// ```
///
/// How: a gated handler's generated function takes the request's
/// `FlagContext` before its own arguments, and the gate passes its context
/// to a fallback or variant function that takes one first. So a plain
/// function written to take `(FlagContext, <the same arguments>)` gets the
/// gate's context too. Service code keeps its signature, so it chains with
/// nothing added.
///
/// Two `#[feature_gated]` on one function are refused ("one
/// `#[feature_gated]` per function"): chain through the fallback instead.
///
/// # A/B variants
///
/// `variants(name = function, ..)` routes by the request's variant of the
/// flag: a listed variant goes to its function; the flag on but no listed
/// variant (for example no variants defined) runs the gated function's own
/// body; the flag off goes to `fallback`. Names that are not Rust
/// identifiers are written as strings: `"green-2" = green`. `fallback` is
/// required here too: where requests go when the flag is killed is always
/// spelled out.
///
/// ```
/// use axum::{routing::post, Router};
/// use flags_middleware::feature_gated;
///
/// #[feature_gated(
///     "checkout_experiment",
///     variants(blue = checkout_blue, green = checkout_green),
///     fallback = checkout_control,
/// )]
/// async fn checkout(body: String) -> &'static str { "on, unlisted variant" }
/// async fn checkout_blue(body: String) -> &'static str { "blue" }
/// async fn checkout_green(body: String) -> &'static str { "green" }
/// async fn checkout_control(body: String) -> &'static str { "control" }
///
/// let app: Router = Router::new().route("/checkout", post(checkout));
/// ```
///
/// # Service code
///
/// Below the handler, gate an `async fn` that takes the request's context as
/// an argument, `FlagContext` or `&FlagContext` (recognized by the type's
/// name). The gate decides with that argument instead of adding one, keeps
/// the signature as written, and returns each arm's result unchanged, so
/// `fallback` takes the same arguments (context included) and returns the
/// same type:
///
/// ```
/// use flags_middleware::{feature_gated, FlagContext};
///
/// #[feature_gated("new_pricing", fallback = price_legacy)]
/// async fn price(flags: &FlagContext, cents: u64) -> u64 {
///     cents * 9 / 10
/// }
///
/// async fn price_legacy(flags: &FlagContext, cents: u64) -> u64 {
///     cents
/// }
///
/// // In a handler: `async fn h(flags: FlagContext) -> String { price(&flags, 1000).await.to_string() }`
/// ```
///
/// # Limits
///
/// - Only `async fn`s, without `self` receivers: gate a free function and
///   call the method from both arms. Not `unsafe fn`s.
/// - The body moves into a nested function, where `Self` and the generic
///   parameters of an enclosing `impl` are not in scope: an associated
///   function that names them must name the types instead.
/// - One gate per function: gate the fallback itself to chain flags (see
///   [Chaining flags](#chaining-flags)).
/// - Names starting with `__flags_` are the gate's: an argument named
///   `__flags_new` is hidden by the nested function of that name.
/// - A handler has at most 15 arguments (axum's 16 extractors, less the
///   context).
#[proc_macro_attribute]
pub fn feature_gated(attr: TokenStream, item: TokenStream) -> TokenStream {
    let original = proc_macro2::TokenStream::from(item.clone());
    match parse(attr, item) {
        Ok((args, gated)) => expand::expand(args, gated),
        Err(errors) => expand::original_with_errors(original, errors),
    }
    .into()
}

/// Parses the attribute's arguments and the function, reporting the problems
/// of both at once.
fn parse(
    attr: TokenStream,
    item: TokenStream,
) -> syn::Result<(attr::GateArgs, signature::GatedFn)> {
    let args = syn::parse::<attr::GateArgs>(attr);
    let gated = signature::GatedFn::parse(item.into());
    match (args, gated) {
        (Ok(args), Ok(gated)) => Ok((args, gated)),
        (Err(mut errors), Err(more)) => {
            errors.combine(more);
            Err(errors)
        }
        (Err(errors), Ok(_)) | (Ok(_), Err(errors)) => Err(errors),
    }
}

/// Declares typed keys for flags read by name in code: one `const` of type
/// `flags_middleware::FlagKey` per flag, registered (name, file, line,
/// module) in the registry of flags known to the code, so
/// `flags_middleware::testing::assert_flags_defined` and the admin API's
/// inventory know where it is used. The name is checked at compile time
/// with the one naming rule, like `#[feature_gated]`'s.
///
/// ```
/// use flags_middleware::{flag, testing::TestFlags, Context, FlagContext};
///
/// flag!(NEW_CHECKOUT = "new_checkout_flow");
/// flag! {
///     /// Several at once: attributes, doc comments and visibility are kept.
///     pub DARK_MODE = "dark_mode";
///     pub(crate) AI_RECOMMENDATIONS = "ai_recommendations";
/// }
///
/// let flags = TestFlags::new().on("new_checkout_flow").build();
/// let ctx = FlagContext::for_test(&flags, Context::new());
/// assert!(ctx.is_enabled(NEW_CHECKOUT));   // a key...
/// assert!(ctx.is_enabled("new_checkout_flow")); // ...or a string, as before
/// assert!(!ctx.is_enabled(DARK_MODE));
/// assert_eq!(AI_RECOMMENDATIONS.name(), "ai_recommendations");
/// ```
///
/// A name no flag file could define is an error at the literal:
///
/// ```compile_fail
/// flags_middleware::flag!(BAD = "new checkout");
/// ```
#[proc_macro]
pub fn flag(input: TokenStream) -> TokenStream {
    match syn::parse::<key::Keys>(input) {
        Ok(keys) => keys.expand(),
        Err(errors) => errors.into_compile_error(),
    }
    .into()
}
