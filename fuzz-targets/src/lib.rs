//! The bodies of the fuzz targets: one function per target, taking the raw
//! bytes libFuzzer hands over. The cargo-fuzz crate in `fuzz/` wraps each in
//! `fuzz_target!`; the smoke run in `tests/smoke.rs` feeds them the
//! checked-in corpus and seeded random bytes, so both exercise exactly the
//! same code and a crash found by one reproduces in the other.
//!
//! Every target panics on a broken oracle (a panic in the library, a 5xx,
//! a round trip that changes the flags...), which is what both runners
//! report.
//!
//! ```
//! flags_fuzz_targets::toml_file::run(b"[a]\nrollout = 20\n");
//! for (name, run) in flags_fuzz_targets::TARGETS {
//!     run(b"");
//!     assert!(!name.is_empty());
//! }
//! ```

pub mod admin_feature_json;
pub mod admin_request;
pub mod caller;
pub mod evaluate;
pub mod evaluate_constraint;
pub mod mixed;
pub mod toml_file;
pub mod unleash_json;

/// A target: its name (the `fuzz/fuzz_targets/<name>.rs` binary and the
/// `fuzz/corpus/<name>/` folder) and its body.
pub type Target = (&'static str, fn(&[u8]));

/// Every target, by name.
pub const TARGETS: &[Target] = &[
    ("toml_file", toml_file::run),
    ("unleash_json", unleash_json::run),
    ("admin_feature_json", admin_feature_json::run),
    ("admin_request", admin_request::run),
    ("evaluate", evaluate::run),
    ("evaluate_constraint", evaluate_constraint::run),
];
