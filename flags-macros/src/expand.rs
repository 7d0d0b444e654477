//! Generation: the gated function becomes a router over its arms.
//!
//! The user's function is kept whole, renamed `__flags_new` and nested in the
//! generated one, so its patterns, return type, `?` and `return` mean what
//! they meant. The generated function takes the same arguments under plain
//! names (plus a `FlagContext` for handlers), asks the context once, and
//! calls exactly one arm with the values it received.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{GenericParam, ItemFn, ReturnType, Signature};

use crate::attr::GateArgs;
use crate::signature::GatedFn;

/// The generated function for a checked gate.
pub(crate) fn expand(args: GateArgs, gated: GatedFn) -> TokenStream {
    let GatedFn {
        item,
        params,
        context,
    } = gated;
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = &item;
    let Signature {
        constness,
        asyncness,
        abi,
        fn_token,
        ident,
        generics,
        inputs,
        output,
        ..
    } = sig;
    let where_clause = &generics.where_clause;
    let handler = context.is_none();

    // Each value is passed on under its binding, located at the argument's
    // type so a mismatch with a fallback's parameter is reported at the
    // user's `Path<String>`. The span keeps the expansion's context, which
    // resolves the same name but tells rustc not to suggest edits to the
    // user's signature (such as `body: String.into()`).
    let args_out: Vec<Ident> = params
        .iter()
        .map(|param| {
            let mut arg = param.binding.clone();
            arg.set_span(at(param.ty.span()));
            arg
        })
        .collect();
    let params_out = params.iter().map(|param| {
        let (attrs, binding, ty) = (&param.attrs, &param.binding, &param.ty);
        quote!(#(#attrs)* #binding: #ty)
    });

    let returns_span = at(match output {
        ReturnType::Default => ident.span(),
        ReturnType::Type(_, ty) => ty.span(),
    });
    let convert = |span: Span, call: TokenStream| -> TokenStream {
        if handler {
            quote_spanned!(span=> ::flags_middleware::__private::IntoResponse::into_response(#call))
        } else {
            call
        }
    };

    let turbofish = explicit_generic_args(generics);
    let new_arm = convert(
        returns_span,
        quote_spanned!(returns_span=> __flags_new #turbofish (#(#args_out),*).await),
    );
    let call_path = |path: &syn::Path| {
        let span = at(path.span());
        convert(span, quote_spanned!(span=> #path(#(#args_out),*).await))
    };
    let fallback_arm = call_path(&args.fallback);

    let flag = &args.flag;
    let context_ref = match context {
        Some(index) => {
            let binding = &params[index].binding;
            quote!(&#binding)
        }
        None => quote!(&__flags_ctx),
    };
    let dispatch = if args.variants.is_empty() {
        quote! {
            if ::flags_middleware::__private::is_enabled(#context_ref, #flag) {
                #new_arm
            } else {
                #fallback_arm
            }
        }
    } else {
        let names = args.variants.iter().map(|arm| &arm.name);
        let indices = (0..args.variants.len()).map(|i| Literal::usize_unsuffixed(i + 2));
        let variant_arms = args.variants.iter().map(|arm| call_path(&arm.handler));
        quote! {
            match ::flags_middleware::__private::variant_arm(#context_ref, #flag, &[#(#names),*]) {
                1 => #new_arm,
                #(#indices => #variant_arms,)*
                _ => #fallback_arm,
            }
        }
    };

    let (context_param, returns) = if handler {
        (
            quote!(__flags_ctx: ::flags_middleware::__private::FlagContext,),
            quote_spanned!(returns_span=> -> ::flags_middleware::__private::Response),
        )
    } else {
        (TokenStream::new(), output.to_token_stream())
    };

    quote! {
        #(#attrs)*
        #vis #constness #asyncness #abi #fn_token #ident #generics (
            #context_param
            #(#params_out),*
        ) #returns #where_clause {
            #asyncness fn __flags_new #generics (#inputs) #output #where_clause #block

            #dispatch
        }
    }
}

/// A span resolving like the generated code but shown at `user`'s tokens.
fn at(user: Span) -> Span {
    Span::call_site().located_at(user)
}

/// `::<T, N>` naming the type and const parameters, so a parameter used
/// only in the return type is still known; lifetimes are left to inference
/// (naming late-bound ones is an error).
fn explicit_generic_args(generics: &syn::Generics) -> TokenStream {
    let args: Vec<&Ident> = generics
        .params
        .iter()
        .filter_map(|param| match param {
            GenericParam::Type(ty) => Some(&ty.ident),
            GenericParam::Const(constant) => Some(&constant.ident),
            GenericParam::Lifetime(_) => None,
        })
        .collect();
    if args.is_empty() {
        TokenStream::new()
    } else {
        quote!(::<#(#args),*>)
    }
}

/// What a failed gate expands to: the original item, so the rest of the
/// crate (and the IDE) still sees the function, plus the errors.
pub(crate) fn original_with_errors(item: TokenStream, errors: syn::Error) -> TokenStream {
    let errors = errors.into_compile_error();
    quote!(#item #errors)
}
