//! `cargo fuzz run admin_request`: see `flags_fuzz_targets::admin_request`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| flags_fuzz_targets::admin_request::run(data));
