//! The seed service.

fn main() {}
