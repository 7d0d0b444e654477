//! `cargo fuzz run admin_feature_json`: see `flags_fuzz_targets::admin_feature_json`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| flags_fuzz_targets::admin_feature_json::run(data));
