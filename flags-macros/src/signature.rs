//! The gated function as the expansion sees it: checked, with each argument
//! given a plain name the generated code can pass to every arm.

use proc_macro2::{Ident, Span};
use quote::format_ident;
use syn::spanned::Spanned;
use syn::{Attribute, FnArg, Item, ItemFn, Pat, PatIdent, PatType, Type};

/// axum implements `Handler` for up to 16 extractors; the gate adds one.
/// (`flags_middleware::__private::chain` has one trait per count up to it.)
pub(crate) const MAX_HANDLER_ARGS: usize = 15;

/// A function `#[feature_gated]` can wrap.
pub(crate) struct GatedFn {
    pub(crate) item: ItemFn,
    pub(crate) params: Vec<Param>,
    /// Index in `params` of the caller's own `FlagContext` argument. When
    /// present the function is "service code": the gate decides with that
    /// context and keeps the signature; when absent the function is a
    /// handler and the gate extracts a `FlagContext` itself.
    pub(crate) context: Option<usize>,
}

/// One argument of the gated function.
pub(crate) struct Param {
    /// The argument's own attributes (`#[cfg]`, lints), kept on the
    /// generated argument.
    pub(crate) attrs: Vec<Attribute>,
    /// Its `#[cfg(..)]`s, repeated on the value passed to each arm so an
    /// argument configured out is neither taken nor passed.
    pub(crate) cfgs: Vec<Attribute>,
    /// The name the generated function binds the value to: the user's own
    /// name for a plain `name: Type` argument, so `#[instrument]` below the
    /// gate records it under that name and its `fields(..)` can use it;
    /// `__flags_argN` for a pattern such as `Path(id): Path<String>`, with a
    /// mixed-site span the user's tokens cannot see.
    pub(crate) binding: Ident,
    /// Whether `binding` is the user's name (else generated).
    user_named: bool,
    pub(crate) ty: Box<Type>,
}

impl GatedFn {
    /// Checks `item` and names its arguments; every problem found is
    /// reported, each at the offending tokens.
    pub(crate) fn parse(item: proc_macro2::TokenStream) -> syn::Result<GatedFn> {
        let item: Item = syn::parse2(item)?;
        let Item::Fn(item) = item else {
            return Err(syn::Error::new(
                first_token_span(&item),
                "`#[feature_gated]` applies to `async fn`s",
            ));
        };

        let mut errors: Vec<syn::Error> = Vec::new();
        // Two gates would each add a `FlagContext` and wrap the other's
        // output; one is enough, and chaining has its own form.
        errors.extend(other_gates(&item).map(|attr| {
            syn::Error::new_spanned(
                attr,
                "one `#[feature_gated]` per function: to chain flags, gate the \
                 fallback instead (`fallback = other_gated_fn`)",
            )
        }));
        let sig = &item.sig;
        if sig.asyncness.is_none() {
            errors.push(syn::Error::new_spanned(
                sig.fn_token,
                "`#[feature_gated]` only applies to `async fn`s; make this function `async`",
            ));
        }
        if let Some(unsafety) = sig.unsafety {
            errors.push(syn::Error::new_spanned(
                unsafety,
                "`#[feature_gated]` does not support `unsafe fn`s",
            ));
        }

        let mut params = Vec::with_capacity(sig.inputs.len());
        let mut context = None;
        for (index, input) in sig.inputs.iter().enumerate() {
            match input {
                FnArg::Receiver(receiver) => errors.push(syn::Error::new_spanned(
                    receiver,
                    "`#[feature_gated]` does not support `self` receivers: \
                     gate a free `async fn` and call the method from it and from the fallback",
                )),
                FnArg::Typed(arg) => {
                    if is_flag_context(&arg.ty) {
                        if context.is_some() {
                            errors.push(syn::Error::new_spanned(
                                &arg.ty,
                                "more than one `FlagContext` argument; the gate needs exactly one",
                            ));
                        }
                        context = Some(params.len());
                    }
                    params.push(Param::new(index, arg));
                }
            }
        }
        if context.is_none() && params.len() > MAX_HANDLER_ARGS {
            errors.push(syn::Error::new_spanned(
                &sig.inputs,
                format!(
                    "a gated handler takes at most {MAX_HANDLER_ARGS} arguments: axum allows 16 \
                     extractors and the gate adds a `FlagContext`; group extractors in a tuple"
                ),
            ));
        }

        match errors.into_iter().reduce(|mut all, next| {
            all.combine(next);
            all
        }) {
            Some(err) => Err(err),
            None => Ok(GatedFn {
                item,
                params,
                context,
            }),
        }
    }
}

impl Param {
    fn new(index: usize, arg: &PatType) -> Param {
        let (binding, user_named) = match &*arg.pat {
            // `mut` belongs to the body, which rebinds the value with the
            // user's own pattern; the generated argument needs only the name.
            Pat::Ident(PatIdent {
                by_ref: None,
                subpat: None,
                ident,
                ..
            }) => (ident.clone(), true),
            _ => {
                let span = Span::mixed_site().located_at(arg.pat.span());
                (format_ident!("__flags_arg{}", index, span = span), false)
            }
        };
        Param {
            attrs: arg.attrs.clone(),
            cfgs: arg
                .attrs
                .iter()
                .filter(|attr| attr.path().is_ident("cfg"))
                .cloned()
                .collect(),
            binding,
            user_named,
            ty: arg.ty.clone(),
        }
    }

    /// The binding as the generated calls pass it: located at the argument's
    /// type, so a mismatch with an arm's parameter is reported at the user's
    /// `Path<String>`. A user-named binding is resolved from the expansion's
    /// call site rather than the user's token, which finds the same binding
    /// but tells rustc not to suggest edits to the user's signature (such as
    /// `body: String.into()`).
    pub(crate) fn passed(&self) -> Ident {
        let resolved = if self.user_named {
            Span::call_site()
        } else {
            Span::mixed_site()
        };
        let mut arg = self.binding.clone();
        arg.set_span(resolved.located_at(self.ty.span()));
        arg
    }
}

/// The attributes of `item` that are another `#[feature_gated]`: attribute
/// macros expand from the outermost, so this gate sees the ones below it
/// still unexpanded. Recognized by the macro's name, like `FlagContext`.
fn other_gates(item: &ItemFn) -> impl Iterator<Item = &Attribute> {
    item.attrs.iter().filter(|attr| {
        attr.path()
            .segments
            .last()
            .is_some_and(|last| last.ident == "feature_gated")
    })
}

/// Whether `ty` is the flag context (`FlagContext`, a path ending in it, or
/// a reference to one). The check is by name: a type alias under another
/// name is not recognized, and the function is then treated as a handler.
fn is_flag_context(ty: &Type) -> bool {
    match ty {
        Type::Reference(reference) => is_flag_context(&reference.elem),
        Type::Paren(inner) => is_flag_context(&inner.elem),
        Type::Group(inner) => is_flag_context(&inner.elem),
        Type::Path(path) => {
            path.qself.is_none()
                && path
                    .path
                    .segments
                    .last()
                    .is_some_and(|last| last.ident == "FlagContext" && last.arguments.is_none())
        }
        _ => false,
    }
}

fn first_token_span(item: &Item) -> proc_macro2::Span {
    quote::ToTokens::to_token_stream(item)
        .into_iter()
        .next()
        .map_or_else(|| item.span(), |token| token.span())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_the_flag_context_by_name() {
        let yes: [Type; 5] = [
            syn::parse_quote!(FlagContext),
            syn::parse_quote!(&FlagContext),
            syn::parse_quote!(&'a FlagContext),
            syn::parse_quote!(flags_middleware::FlagContext),
            syn::parse_quote!(&mut ::flags_middleware::FlagContext),
        ];
        let no: [Type; 4] = [
            syn::parse_quote!(Flags),
            syn::parse_quote!(State<FlagContext>),
            syn::parse_quote!(FlagContext<T>),
            syn::parse_quote!(Option<FlagContext>),
        ];
        for ty in yes {
            assert!(is_flag_context(&ty), "{}", quote::quote!(#ty));
        }
        for ty in no {
            assert!(!is_flag_context(&ty), "{}", quote::quote!(#ty));
        }
    }

    #[test]
    fn a_second_gate_on_the_function_is_one_error_at_its_attribute() {
        for gate in [
            quote::quote!(#[feature_gated("b", fallback = l)]),
            quote::quote!(#[flags_middleware::feature_gated("b", fallback = l)]),
        ] {
            let item = quote::quote! {
                /// Docs.
                #gate
                async fn h(body: String) -> String { body }
            };
            let err = match GatedFn::parse(item) {
                Ok(_) => panic!("two gates accepted: {gate}"),
                Err(err) => err,
            };
            assert_eq!(err.clone().into_iter().count(), 1);
            assert!(
                err.to_string()
                    .starts_with("one `#[feature_gated]` per function"),
                "{err}"
            );
        }
    }

    #[test]
    fn keeps_plain_names_and_renames_patterns() {
        let cases: [(FnArg, &str); 4] = [
            (syn::parse_quote!(id: u32), "id"),
            (syn::parse_quote!(mut body: String), "body"),
            (syn::parse_quote!(Path(id): Path<String>), "__flags_arg3"),
            (syn::parse_quote!(_: State<()>), "__flags_arg3"),
        ];
        for (arg, expected) in cases {
            let FnArg::Typed(arg) = arg else {
                unreachable!("typed arguments only")
            };
            assert_eq!(Param::new(3, &arg).binding.to_string(), expected);
        }
    }
}
