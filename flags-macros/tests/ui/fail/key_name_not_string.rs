//! The name must be a string literal.
flags_middleware::flag!(NEW_CHECKOUT = new_checkout_flow);

fn main() {}
