//! Registration: what a gate or a typed key adds to the link-time registry
//! of flags known to the code (`flags_middleware::hygiene::registry`).
//!
//! Each use becomes one `inventory::submit!` of a `FlagUse`, built by a
//! `const fn` from literals and the compiler's own `file!()`, `line!()`,
//! `column!()` and `module_path!()`, spanned at the user's tokens so they
//! name the gated function or the key's declaration. Nothing runs at
//! request time: the entries are gathered when the program starts.

use proc_macro2::{Literal, Span, TokenStream};
use quote::{quote, ToTokens};
use syn::{Ident, LitStr};

/// The registration of a `#[feature_gated]` on `function`, with the paths
/// of its fallback and variant functions as written.
pub(crate) fn gate(
    flag: &LitStr,
    function: &Ident,
    fallback: &syn::Path,
    variants: &[&syn::Path],
) -> TokenStream {
    let function_name = LitStr::new(&function.to_string(), function.span());
    let fallback = path_text(fallback);
    let variants = variants.iter().map(|path| path_text(path));
    let at = location(function.span());
    submit(quote! {
        ::flags_middleware::__private::FlagUse::__gate(
            #flag, #at, #function_name, #fallback, &[#(#variants),*],
        )
    })
}

/// The registration of a typed key `constant` for `flag`.
pub(crate) fn key(flag: &LitStr, constant: &Ident) -> TokenStream {
    let constant_name = LitStr::new(&constant.to_string(), constant.span());
    let at = location(constant.span());
    submit(quote! {
        ::flags_middleware::__private::FlagUse::__key(#flag, #at, #constant_name)
    })
}

/// `file, line, column, module_path` of the name at `span`: the line and
/// column of the name itself where the compiler tells them (Rust 1.88 and
/// later), else of the macro call (`line!()`, `column!()`, which name the
/// outermost invocation: the attribute or the `flag!`).
fn location(span: Span) -> TokenStream {
    let start = span.start();
    let (line, column) = if start.line > 0 {
        let line = Literal::u32_unsuffixed(start.line as u32);
        let column = Literal::u32_unsuffixed(start.column as u32 + 1);
        (quote!(#line), quote!(#column))
    } else {
        (quote!(::core::line!()), quote!(::core::column!()))
    };
    quote!(::core::file!(), #line, #column, ::core::module_path!())
}

fn submit(entry: TokenStream) -> TokenStream {
    quote! {
        ::flags_middleware::__private::inventory::submit! { #entry }
    }
}

/// A path as a string without the token stream's spaces (`legacy::get`).
fn path_text(path: &syn::Path) -> LitStr {
    let text: String = path
        .to_token_stream()
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    LitStr::new(&text, Span::call_site())
}
