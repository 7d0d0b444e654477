//! `cargo fuzz run unleash_json`: see `flags_fuzz_targets::unleash_json`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| flags_fuzz_targets::unleash_json::run(data));
