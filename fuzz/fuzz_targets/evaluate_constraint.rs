//! `cargo fuzz run evaluate_constraint`: see `flags_fuzz_targets::evaluate_constraint`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| flags_fuzz_targets::evaluate_constraint::run(data));
