//! `flag!`: typed keys for flags read by name in code.
//!
//! ```text
//! flag!(NEW_CHECKOUT = "new_checkout_flow");
//! flag! {
//!     /// The redesigned checkout.
//!     pub NEW_CHECKOUT = "new_checkout_flow";
//!     pub(crate) DARK_MODE = "dark_mode";
//! }
//! ```

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Ident, LitStr, Token, Visibility};

/// The declarations in one `flag!` call.
pub(crate) struct Keys(Vec<Key>);

/// `#[attrs] vis NAME = "flag_name"`.
struct Key {
    attrs: Vec<Attribute>,
    vis: Visibility,
    constant: Ident,
    flag: LitStr,
}

const USAGE: &str = "expected `NAME = \"flag_name\"`, e.g. \
                     `flag!(NEW_CHECKOUT = \"new_checkout_flow\");`";

impl Parse for Keys {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut keys = Vec::new();
        while !input.is_empty() {
            let attrs = input.call(Attribute::parse_outer)?;
            let vis: Visibility = input.parse()?;
            if !input.peek(Ident) {
                return Err(input.error(USAGE));
            }
            let constant: Ident = input.parse()?;
            if !input.peek(Token![=]) {
                return Err(input.error(USAGE));
            }
            input.parse::<Token![=]>()?;
            if !input.peek(LitStr) {
                return Err(input.error(
                    "expected the flag's name as a string literal, \
                     e.g. `NEW_CHECKOUT = \"new_checkout_flow\"`",
                ));
            }
            let flag: LitStr = input.parse()?;
            if let Err(e) = crate::name::check_flag_name(&flag.value()) {
                return Err(syn::Error::new_spanned(flag, e));
            }
            keys.push(Key {
                attrs,
                vis,
                constant,
                flag,
            });
            if input.is_empty() {
                break;
            }
            if input.peek(Token![;]) {
                input.parse::<Token![;]>()?;
            } else {
                input.parse::<Token![,]>()?;
            }
        }
        if keys.is_empty() {
            return Err(input.error(USAGE));
        }
        Ok(Keys(keys))
    }
}

impl Keys {
    /// One `const` per key, each registered.
    pub(crate) fn expand(self) -> TokenStream {
        self.0
            .into_iter()
            .map(|key| {
                let Key {
                    attrs,
                    vis,
                    constant,
                    flag,
                } = key;
                let register = crate::register::key(&flag, &constant);
                quote! {
                    #(#attrs)*
                    #vis const #constant: ::flags_middleware::FlagKey =
                        ::flags_middleware::FlagKey::__declared(#flag);
                    #register
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_or_many_keys_with_visibility_and_docs() {
        let keys: Keys = syn::parse2(quote!(
            /// Docs.
            pub A = "a";
            pub(crate) B = "b",
            C = "c"
        ))
        .unwrap();
        let names: Vec<String> = keys.0.iter().map(|k| k.constant.to_string()).collect();
        assert_eq!(names, ["A", "B", "C"]);
        assert_eq!(keys.0[0].attrs.len(), 1);
        let expanded = keys.expand().to_string();
        assert!(expanded.contains("pub const A : :: flags_middleware :: FlagKey"));
        assert!(expanded.contains("FlagUse :: __key (\"c\""));
    }

    #[test]
    fn rejects_bad_keys_with_a_message() {
        let cases = [
            (quote!(), "expected `NAME = \"flag_name\"`"),
            (quote!(A), "expected `NAME = \"flag_name\"`"),
            (
                quote!(A = 1),
                "expected the flag's name as a string literal",
            ),
            (quote!(A = "a b"), "`a b` is not a valid flag name"),
            (quote!(A = "_x"), "`_x` is not a valid flag name"),
        ];
        for (tokens, expected) in cases {
            let shown = tokens.to_string();
            let err = match syn::parse2::<Keys>(tokens) {
                Ok(_) => panic!("`{shown}` parsed"),
                Err(err) => err.to_string(),
            };
            assert!(err.contains(expected), "`{shown}`: got {err:?}");
        }
    }
}
