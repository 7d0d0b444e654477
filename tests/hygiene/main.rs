//! Flag hygiene: the registry of flags known to the code (gates and typed
//! keys, with their locations), the CI check against a flags file, unknown
//! flags at run time, the inventory and stale flags.

mod registry;
