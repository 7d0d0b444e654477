//! `cargo fuzz run toml_file`: see `flags_fuzz_targets::toml_file`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| flags_fuzz_targets::toml_file::run(data));
