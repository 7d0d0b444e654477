//! Opening one connection: the driver's configuration, TLS as `sslmode`
//! says, the connect timeout, and errors that say what failed.

use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{Client, Connection, Socket};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::config::PostgresConfig;
use super::tls;
use crate::store::StoreError;

/// The driver half of a connection, to be polled (or spawned).
pub(super) type Driver = Connection<Socket, <MakeRustlsConnect as MakeTlsConnect<Socket>>::Stream>;

/// Opens the connection `role` (`rw`, `listen`) names in `application_name`.
///
/// # Errors
/// [`StoreError::Unavailable`]: a bad TLS setup, an unreachable server, a
/// refused certificate, or no connection within the connect timeout.
pub(super) async fn open(
    config: &PostgresConfig,
    role: &str,
) -> Result<(Client, Driver), StoreError> {
    let tls =
        tls::connector(config.tls_mode, config.tls_files()).map_err(StoreError::Unavailable)?;
    let pg = config.pg_config(role);
    let connecting = pg.connect(tls);
    match tokio::time::timeout(config.connect_timeout, connecting).await {
        Ok(Ok(pair)) => Ok(pair),
        Ok(Err(e)) => Err(
            match tls::explain(&e, config.tls_mode, config.tls_files()) {
                Some(why) => StoreError::Unavailable(why),
                None => match tls::certificate_refused(&e, config.tls_files()) {
                    Some(why) => StoreError::Unavailable(why),
                    None => super::sql::db_error(e),
                },
            },
        ),
        Err(_) => Err(StoreError::Unavailable(format!(
            "no connection to {} within {:?}",
            config.target(),
            config.connect_timeout
        ))),
    }
}

/// Checks the TLS settings once, at startup, so a missing root certificate
/// (or a client certificate that cannot be used) stops the service instead
/// of passing for a database outage.
///
/// # Errors
/// What [`tls::connector`] refuses.
pub(super) fn check_tls(config: &PostgresConfig) -> Result<(), StoreError> {
    tls::connector(config.tls_mode, config.tls_files())
        .map(drop)
        .map_err(StoreError::Unavailable)
}
