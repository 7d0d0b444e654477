//! Flag hygiene: the registry of flags known to the code (gates and typed
//! keys, with their locations), the CI check against a flags file, unknown
//! flags at run time, the inventory and stale flags.

#[path = "../support/mod.rs"]
mod support;

mod ci_check;
mod example;
mod inventory;
mod registry;
mod stale;
mod unknown;
