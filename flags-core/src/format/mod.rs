//! Text formats flags are written in. Unleash's client-API JSON is read by
//! [`FlagSet::from_unleash_json`](crate::model::FlagSet::from_unleash_json)
//! and written by [`unleash::to_client_json`]; the native format for
//! hand-written flags is [TOML](self::toml).

pub mod toml;
pub mod unleash;
