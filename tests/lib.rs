//! Shared helpers for the cross-crate tests and benches.

pub mod live_bytes;
pub mod mixed;
pub mod readme_sh;
pub mod spec_json;
