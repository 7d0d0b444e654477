//! The seed's service, as a library so the example binary and the
//! walk-through test build the very same router, from the same settings.

pub mod checkout_app;
pub mod sdk_tokens;
pub mod settings;
pub mod startup;
pub mod startup_error;
