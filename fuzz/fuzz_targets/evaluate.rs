//! `cargo fuzz run evaluate`: see `flags_fuzz_targets::evaluate`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| flags_fuzz_targets::evaluate::run(data));
