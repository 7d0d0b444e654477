//! A typed key's name is checked with the same rule as a gate's.
flags_middleware::flag!(NEW_CHECKOUT = "new checkout");

fn main() {}
