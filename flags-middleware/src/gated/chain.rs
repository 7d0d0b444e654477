//! How a gated handler calls a fallback or variant function that may itself
//! be gated.
//!
//! A gated handler's generated function takes the request's `FlagContext`
//! before the arguments its user wrote, so a gate whose `fallback` is another
//! gated handler must pass the context on, and a gate whose fallback is a
//! plain function must not. The macro sees only its own function, so the
//! choice is made by the fallback's type, with autoref specialization: the
//! generated code calls
//!
//! ```text
//! (&&Arm(fallback)).__flags_bind(ctx)(arg0, arg1, ..)
//! ```
//!
//! Method lookup first tries the receiver as it is, `&&Arm<F>`, where one
//! `TakesContextN` trait is implemented when `F` takes a `FlagContext` and
//! then N more arguments: `__flags_bind` returns `F` with the context bound.
//! Otherwise lookup derefs once and finds [`Plain`], implemented for every
//! `&Arm<F>`, which returns `F` itself; the arguments then go straight into
//! `F`, and a mismatch is reported at the argument as for any call.
//!
//! The traits are imported `as _` in the generated code, so they add no name
//! the user's code could collide with.

use crate::FlagContext;

/// The fallback or variant function a gate calls; see the module docs.
#[derive(Debug, Clone, Copy)]
pub struct Arm<F>(pub F);

/// Chosen when the function does not take the context first: the function
/// itself, called with the gated function's arguments.
pub trait Plain<F> {
    /// `F`, unchanged; the context is dropped.
    fn __flags_bind(self, ctx: FlagContext) -> F;
}

impl<F: Copy> Plain<F> for &Arm<F> {
    #[inline(always)]
    fn __flags_bind(self, _ctx: FlagContext) -> F {
        self.0
    }
}

/// One trait per number of arguments after the context, each implemented
/// for `&&Arm<F>` when `F` takes `(FlagContext, A1, .., An)`.
macro_rules! takes_context {
    ($($name:ident($($arg:ident),*);)*) => {$(
        /// Chosen when the function takes the request's context first (it
        /// is gated itself): the function with the context bound.
        pub trait $name<$($arg,)* Fut> {
            /// The function, called with the context then the arguments.
            fn __flags_bind(self, ctx: FlagContext) -> impl FnOnce($($arg),*) -> Fut;
        }

        impl<F, Fut, $($arg,)*> $name<$($arg,)* Fut> for &&Arm<F>
        where
            F: FnOnce(FlagContext, $($arg),*) -> Fut + Copy,
        {
            #[inline(always)]
            #[allow(non_snake_case)]
            fn __flags_bind(self, ctx: FlagContext) -> impl FnOnce($($arg),*) -> Fut {
                let f = self.0;
                move |$($arg),*| f(ctx, $($arg),*)
            }
        }
    )*};
}

takes_context! {
    TakesContext0();
    TakesContext1(A1);
    TakesContext2(A1, A2);
    TakesContext3(A1, A2, A3);
    TakesContext4(A1, A2, A3, A4);
    TakesContext5(A1, A2, A3, A4, A5);
    TakesContext6(A1, A2, A3, A4, A5, A6);
    TakesContext7(A1, A2, A3, A4, A5, A6, A7);
    TakesContext8(A1, A2, A3, A4, A5, A6, A7, A8);
    TakesContext9(A1, A2, A3, A4, A5, A6, A7, A8, A9);
    TakesContext10(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10);
    TakesContext11(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11);
    TakesContext12(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12);
    TakesContext13(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13);
    TakesContext14(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14);
    TakesContext15(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15);
}
