//! The seed's service, as a library so the example binary and the
//! walk-through test build the very same router.

pub mod checkout_app;
