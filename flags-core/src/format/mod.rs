//! Text formats flags are written in. Unleash's client-API JSON is read by
//! [`FlagSet::from_unleash_json`](crate::model::FlagSet::from_unleash_json);
//! the native format for hand-written flags is [TOML](self::toml).

pub mod toml;
