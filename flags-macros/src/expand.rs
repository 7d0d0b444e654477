//! Generation: the gated function becomes a router over its arms.
//!
//! The user's function is kept whole, renamed `__flags_new` and nested in the
//! generated one, so its patterns, return type, `?` and `return` mean what
//! they meant. The generated function takes the same arguments under plain
//! names (plus a `FlagContext` for handlers), asks the context once, and
//! calls exactly one arm with the values it received.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{GenericParam, ItemFn, ReturnType, Signature};

use crate::attr::GateArgs;
use crate::signature::{GatedFn, MAX_HANDLER_ARGS};

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

    // Each value is passed on under its binding; one configured out by its
    // `#[cfg]` is not passed either.
    let args_out: Vec<TokenStream> = params
        .iter()
        .map(|param| {
            let (cfgs, arg) = (&param.cfgs, param.passed());
            quote!(#(#cfgs)* #arg)
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
    // Functions are called by names the arguments cannot shadow (see
    // `unshadowable`); the handler's context is bound out of the user's sight.
    let new_fn = Ident::new("__flags_new", Span::mixed_site().located_at(returns_span));
    let new_arm = convert(
        returns_span,
        quote_spanned!(returns_span=> #new_fn #turbofish (#(#args_out),*).await),
    );
    let handler_ctx = Ident::new("__flags_ctx", Span::mixed_site());
    let call_path = |path: &syn::Path| {
        let span = at(path.span());
        let path = unshadowable(path);
        let call = if handler {
            // A fallback that is a gated handler takes the context first;
            // `chain` passes it on to such a function only (see its docs).
            quote_spanned!(span=>
                (&&::flags_middleware::__private::chain::Arm(#path))
                    .__flags_bind(#handler_ctx)(#(#args_out),*).await
            )
        } else {
            // Service code keeps its signature, so a gated fallback is
            // called like any other.
            quote_spanned!(span=> #path(#(#args_out),*).await)
        };
        convert(span, call)
    };
    let fallback_arm = call_path(&args.fallback);

    let flag = &args.flag;
    let variant_fns: Vec<&syn::Path> = args.variants.iter().map(|arm| &arm.handler).collect();
    // Registered once, at link time, from inside the function (valid for a
    // free function and an associated one alike).
    let register = crate::register::gate(flag, ident, &args.fallback, &variant_fns);
    let context_ref = match context {
        Some(index) => {
            let binding = &params[index].binding;
            quote!(&#binding)
        }
        None => quote!(&#handler_ctx),
    };
    // Brought into scope unnamed (`as _`): no name the arms could resolve to.
    let chain_traits = if handler {
        let traits = (0..=MAX_HANDLER_ARGS).map(|n| format_ident!("TakesContext{}", n));
        quote! {
            use ::flags_middleware::__private::chain::{Plain as _, #(#traits as _),*};
        }
    } else {
        TokenStream::new()
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
            quote!(#handler_ctx: ::flags_middleware::__private::FlagContext,),
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

            #register
            #chain_traits
            #dispatch
        }
    }
}

/// A span resolving like the generated code but shown at `user`'s tokens.
fn at(user: Span) -> Span {
    Span::call_site().located_at(user)
}

/// `path` as a name no local variable can shadow. Only a one-segment path
/// can name a local; given a mixed-site span, it looks up local variables
/// among the macro's own only (none are named like it) and items at the
/// user's site as before. So `fallback = search` still finds `fn search`
/// when an argument is named `search`, without renaming the argument.
fn unshadowable(path: &syn::Path) -> syn::Path {
    let mut path = path.clone();
    if path.leading_colon.is_none() && path.segments.len() == 1 {
        let ident = &mut path.segments[0].ident;
        ident.set_span(Span::mixed_site().located_at(ident.span()));
    }
    path
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

#[cfg(test)]
mod tests {
    use super::*;
    use syn::{FnArg, Item, Stmt};

    fn gate(attr: TokenStream, item: TokenStream) -> ItemFn {
        let args: GateArgs = syn::parse2(attr).expect("arguments parse");
        let gated = GatedFn::parse(item).expect("function checks");
        syn::parse2(expand(args, gated)).expect("the expansion is one fn")
    }

    fn inputs(item: &ItemFn) -> Vec<String> {
        item.sig
            .inputs
            .iter()
            .map(|input| input.to_token_stream().to_string())
            .collect()
    }

    fn returns(item: &ItemFn) -> String {
        item.sig.output.to_token_stream().to_string()
    }

    /// The nested copy of the user's function and the dispatch expression
    /// (after the handler's `use` of the chain traits).
    fn body(item: &ItemFn) -> (&ItemFn, String) {
        // The registry entry (a macro call) says nothing about dispatch.
        let stmts: Vec<&Stmt> = item
            .block
            .stmts
            .iter()
            .filter(|stmt| !matches!(stmt, Stmt::Macro(_)))
            .collect();
        let (new, dispatch) = match stmts[..] {
            [Stmt::Item(Item::Fn(new)), dispatch] => (new, dispatch),
            [Stmt::Item(Item::Fn(new)), Stmt::Item(Item::Use(_)), dispatch] => (new, dispatch),
            _ => panic!(
                "expected a nested fn then the dispatch: {}",
                item.to_token_stream()
            ),
        };
        (new, dispatch.to_token_stream().to_string())
    }

    /// How the generated handler calls `path` with `args`: through the
    /// chain's `Arm`, which adds the context for a gated function only.
    fn handler_call(path: &str, args: &str) -> String {
        format!(
            "(& & :: flags_middleware :: __private :: chain :: Arm ({path})) \
             . __flags_bind (__flags_ctx) ({args}) . await"
        )
    }

    #[test]
    fn a_handler_gets_the_context_plain_arguments_and_a_response() {
        let item = gate(
            quote!("new_checkout_flow", fallback = get_product_legacy),
            quote! {
                /// Docs.
                #[inline]
                pub async fn get_product(Path(id): Path<String>, db: State<Db>) -> Json<ProductV2> {
                    Json(ProductV2 { id })
                }
            },
        );
        assert_eq!(item.sig.ident, "get_product");
        assert!(matches!(item.vis, syn::Visibility::Public(_)));
        assert_eq!(item.attrs.len(), 2, "doc comment and #[inline] kept");
        assert_eq!(
            inputs(&item),
            [
                "__flags_ctx : :: flags_middleware :: __private :: FlagContext",
                "__flags_arg0 : Path < String >",
                "db : State < Db >",
            ]
        );
        assert_eq!(
            returns(&item),
            "-> :: flags_middleware :: __private :: Response"
        );

        let (new, dispatch) = body(&item);
        assert_eq!(new.sig.ident, "__flags_new");
        assert_eq!(
            inputs(new),
            ["Path (id) : Path < String >", "db : State < Db >"]
        );
        assert_eq!(returns(new), "-> Json < ProductV2 >");
        assert!(dispatch.starts_with(
            "if :: flags_middleware :: __private :: is_enabled (& __flags_ctx , \"new_checkout_flow\")"
        ));
        assert!(dispatch.contains("into_response (__flags_new (__flags_arg0 , db) . await)"));
        let fallback = handler_call("get_product_legacy", "__flags_arg0 , db");
        assert!(
            dispatch.contains(&format!("into_response ({fallback})")),
            "{dispatch}"
        );
    }

    #[test]
    fn a_gate_registers_its_flag_function_and_arms() {
        let item = gate(
            quote!(
                "exp",
                variants(blue = arms::blue),
                fallback = legacy::control
            ),
            quote!(
                async fn checkout(body: String) -> String {
                    body
                }
            ),
        );
        let registered = item
            .block
            .stmts
            .iter()
            .find_map(|stmt| match stmt {
                Stmt::Macro(m) => Some(m.to_token_stream().to_string()),
                _ => None,
            })
            .expect("a registry entry");
        assert!(registered.contains("inventory :: submit !"), "{registered}");
        assert!(
            registered.contains("FlagUse :: __gate (\"exp\" ,"),
            "{registered}"
        );
        for part in ["\"checkout\"", "\"legacy::control\"", "& [\"arms::blue\"]"] {
            assert!(registered.contains(part), "{part} in {registered}");
        }
    }

    #[test]
    fn service_code_keeps_its_signature_and_decides_with_its_context() {
        let item = gate(
            quote!("new_pricing", fallback = pricing::legacy),
            quote! {
                async fn price(cents: u64, flags: &FlagContext) -> u64 { cents }
            },
        );
        assert_eq!(inputs(&item), ["cents : u64", "flags : & FlagContext"]);
        assert_eq!(returns(&item), "-> u64");
        let (_, dispatch) = body(&item);
        assert!(dispatch.contains("is_enabled (& flags , \"new_pricing\")"));
        assert!(dispatch.contains("pricing :: legacy (cents , flags) . await"));
        assert!(!dispatch.contains("into_response"));
        assert!(
            !dispatch.contains("chain"),
            "service code keeps its signature, so a gated fallback needs no context added"
        );
    }

    #[test]
    fn an_argument_configured_out_is_neither_taken_nor_passed() {
        let item = gate(
            quote!("f", fallback = legacy),
            quote! {
                async fn h(#[cfg(feature = "x")] body: String, id: u32) -> String { body }
            },
        );
        assert_eq!(
            inputs(&item)[1..],
            ["# [cfg (feature = \"x\")] body : String", "id : u32"]
        );
        let (new, dispatch) = body(&item);
        assert_eq!(
            inputs(new),
            ["# [cfg (feature = \"x\")] body : String", "id : u32"]
        );
        let args = "# [cfg (feature = \"x\")] body , id";
        assert!(
            dispatch.contains(&format!("__flags_new ({args})")),
            "{dispatch}"
        );
        assert!(
            dispatch.contains(&handler_call("legacy", args)),
            "{dispatch}"
        );
    }

    #[test]
    fn variants_match_on_the_arm_index() {
        let item = gate(
            quote!("exp", variants(blue = b, "green-2" = g), fallback = c),
            quote!(
                async fn h(body: String) -> String {
                    body
                }
            ),
        );
        let (_, dispatch) = body(&item);
        assert!(dispatch.starts_with(
            "match :: flags_middleware :: __private :: variant_arm (& __flags_ctx , \"exp\" , & [\"blue\" , \"green-2\"])"
        ));
        for arm in ["1 => ", "2 => ", "3 => ", "_ => "] {
            assert!(dispatch.contains(arm), "{arm} in {dispatch}");
        }
        let calls = [
            "__flags_new (body) . await".to_owned(),
            handler_call("b", "body"),
            handler_call("g", "body"),
            handler_call("c", "body"),
        ];
        let order: Vec<usize> = calls
            .iter()
            .map(|call| {
                dispatch
                    .find(call)
                    .unwrap_or_else(|| panic!("{call} in {dispatch}"))
            })
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{dispatch}");
    }

    #[test]
    fn generic_parameters_are_passed_explicitly_except_lifetimes() {
        let item = gate(
            quote!("f", fallback = l),
            quote!(
                async fn make<'a, T: Default, const N: usize>(flags: &'a FlagContext) -> [T; N] {
                    todo!()
                }
            ),
        );
        let (new, dispatch) = body(&item);
        assert_eq!(new.sig.generics.params.len(), 3);
        assert!(
            dispatch.contains("__flags_new :: < T , N > (flags)"),
            "{dispatch}"
        );
        let FnArg::Typed(first) = &item.sig.inputs[0] else {
            panic!("typed")
        };
        assert_eq!(first.ty.to_token_stream().to_string(), "& 'a FlagContext");
    }
}
