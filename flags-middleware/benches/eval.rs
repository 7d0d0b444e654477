//! Evaluation benchmark (filled in by the engine work).

fn main() {}
