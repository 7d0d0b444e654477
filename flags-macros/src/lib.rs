//! The `#[feature_gated]` attribute for flags-middleware.
