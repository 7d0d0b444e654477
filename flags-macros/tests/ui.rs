//! Compile-time behaviour of `#[feature_gated]`: what must build, and the
//! errors (with their spans) for what must not. Regenerate the `.stderr`
//! files with `TRYBUILD=overwrite cargo test -p flags-macros --test ui`, then
//! read the diff: each message must point at the user's tokens.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
