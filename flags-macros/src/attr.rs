//! The parsed arguments of `#[feature_gated(..)]`.
//!
//! ```text
//! #[feature_gated("flag_name", fallback = path::to::legacy)]
//! #[feature_gated("flag_name", variants(blue = blue_fn, "green-2" = green_fn), fallback = control)]
//! ```

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::{parenthesized, Ident, LitStr, Path, Token};

mod kw {
    syn::custom_keyword!(fallback);
    syn::custom_keyword!(variants);
}

/// What the attribute says: the flag, where requests go when it is off, and
/// (for A/B routing) where each named variant goes.
pub(crate) struct GateArgs {
    /// The flag's name, as written (its span is the user's literal).
    pub(crate) flag: LitStr,
    /// The function serving requests for which the flag is off.
    pub(crate) fallback: Path,
    /// `variants(name = handler, ..)`, in the order written; empty when absent.
    pub(crate) variants: Vec<VariantArm>,
}

/// One `name = handler` entry of `variants(..)`.
pub(crate) struct VariantArm {
    /// The variant's name as the flag set spells it.
    pub(crate) name: LitStr,
    /// The function serving requests assigned that variant.
    pub(crate) handler: Path,
}

/// The name Unleash reports when no variant applies; listing it would shadow
/// the fallback, so it is refused.
const NO_VARIANT: &str = "disabled";

const USAGE: &str = "expected the flag's name as a string literal, \
                     e.g. `#[feature_gated(\"new_checkout_flow\", fallback = legacy_handler)]`";

impl Parse for GateArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let flag = parse_flag_name(input)?;
        let mut fallback: Option<Path> = None;
        let mut variants: Option<Vec<VariantArm>> = None;

        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break; // trailing comma
            }
            let lookahead = input.lookahead1();
            if lookahead.peek(kw::fallback) {
                let key = input.parse::<kw::fallback>()?;
                if fallback.is_some() {
                    return Err(syn::Error::new_spanned(
                        key,
                        "`fallback` specified more than once",
                    ));
                }
                input.parse::<Token![=]>()?;
                fallback = Some(input.parse()?);
            } else if lookahead.peek(kw::variants) {
                let key = input.parse::<kw::variants>()?;
                if variants.is_some() {
                    return Err(syn::Error::new_spanned(
                        key,
                        "`variants` specified more than once",
                    ));
                }
                variants = Some(parse_variants(key, input)?);
            } else {
                return Err(lookahead.error());
            }
        }

        let Some(fallback) = fallback else {
            // Span::call_site() is the whole `#[feature_gated(..)]` attribute.
            return Err(syn::Error::new(
                Span::call_site(),
                "missing `fallback = ..`: name the function that serves requests \
                 for which the flag is off, e.g. `fallback = legacy_handler`",
            ));
        };
        Ok(GateArgs {
            flag,
            fallback,
            variants: variants.unwrap_or_default(),
        })
    }
}

fn parse_flag_name(input: ParseStream<'_>) -> syn::Result<LitStr> {
    if input.is_empty() {
        return Err(syn::Error::new(Span::call_site(), USAGE));
    }
    if !input.peek(LitStr) {
        // Point at whatever the user wrote instead of the name.
        return Err(input.error(USAGE));
    }
    let flag: LitStr = input.parse()?;
    // A name no flag file can define would leave the gate off forever.
    if let Err(e) = crate::name::check_flag_name(&flag.value()) {
        return Err(syn::Error::new_spanned(flag, e));
    }
    Ok(flag)
}

fn parse_variants(key: kw::variants, input: ParseStream<'_>) -> syn::Result<Vec<VariantArm>> {
    let content;
    parenthesized!(content in input);
    let mut arms: Vec<VariantArm> = Vec::new();
    while !content.is_empty() {
        let lookahead = content.lookahead1();
        let name = if lookahead.peek(LitStr) {
            content.parse::<LitStr>()?
        } else if lookahead.peek(Ident) {
            // Variant names that are Rust identifiers may be written bare.
            let ident: Ident = content.parse()?;
            LitStr::new(&ident.to_string(), ident.span())
        } else {
            return Err(lookahead.error());
        };
        if name.value() == NO_VARIANT {
            return Err(syn::Error::new_spanned(
                &name,
                "`disabled` is the name for \"no variant\"; \
                 requests without a variant go to `fallback`",
            ));
        }
        if arms.iter().any(|arm| arm.name.value() == name.value()) {
            return Err(syn::Error::new_spanned(
                &name,
                format!("variant `{}` listed more than once", name.value()),
            ));
        }
        content.parse::<Token![=]>()?;
        let handler: Path = content.parse()?;
        arms.push(VariantArm { name, handler });
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    if arms.is_empty() {
        return Err(syn::Error::new_spanned(
            key,
            "`variants(..)` is empty: list `variant_name = handler` pairs",
        ));
    }
    Ok(arms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(tokens: proc_macro2::TokenStream) -> syn::Result<GateArgs> {
        syn::parse2(tokens)
    }

    #[test]
    fn reads_flag_and_fallback() {
        let args = parse(quote::quote!("new_checkout_flow", fallback = legacy::get)).unwrap();
        assert_eq!(args.flag.value(), "new_checkout_flow");
        let path = &args.fallback;
        assert_eq!(quote::quote!(#path).to_string(), "legacy :: get");
        assert!(args.variants.is_empty());
    }

    #[test]
    fn reads_variants_in_order_with_bare_and_quoted_names() {
        let args = parse(quote::quote!(
            "exp",
            variants(blue = b, "green-2" = g,),
            fallback = c,
        ))
        .unwrap();
        let names: Vec<String> = args.variants.iter().map(|a| a.name.value()).collect();
        assert_eq!(names, ["blue", "green-2"]);
    }

    #[test]
    fn rejects_bad_arguments_with_a_message() {
        let cases = [
            (quote::quote!(), "expected the flag's name"),
            (quote::quote!(fallback = x), "expected the flag's name"),
            (quote::quote!(42, fallback = x), "expected the flag's name"),
            (
                quote::quote!("", fallback = x),
                "`` is not a valid flag name (it is empty): a flag name is",
            ),
            (
                quote::quote!("a b", fallback = x),
                "`a b` is not a valid flag name (it contains U+0020): a flag name is",
            ),
            (quote::quote!("f"), "missing `fallback = ..`"),
            (
                quote::quote!("f", fallback = x, fallback = y),
                "`fallback` specified more than once",
            ),
            (
                quote::quote!("f", variants(a = x), variants(b = y), fallback = z),
                "`variants` specified more than once",
            ),
            (
                quote::quote!("f", fallbak = x),
                "expected `fallback` or `variants`",
            ),
            (quote::quote!("f", variants(), fallback = z), "is empty"),
            (
                quote::quote!("f", variants(a = x, a = y), fallback = z),
                "variant `a` listed more than once",
            ),
            (
                quote::quote!("f", variants(disabled = x), fallback = z),
                "`disabled` is the name",
            ),
        ];
        for (tokens, expected) in cases {
            let shown = tokens.to_string();
            let err = match parse(tokens) {
                Ok(_) => panic!("`{shown}` parsed"),
                Err(err) => err.to_string(),
            };
            assert!(err.contains(expected), "`{shown}`: got {err:?}");
        }
    }
}
