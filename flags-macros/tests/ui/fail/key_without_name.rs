//! A key needs `NAME = "flag"`.
flags_middleware::flag!("new_checkout_flow");

fn main() {}
