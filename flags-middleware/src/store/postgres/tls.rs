//! TLS for the store's connections (rustls, ring provider), with libpq's
//! `sslmode` semantics:
//!
//! | `sslmode` | encrypted | chain checked | host name checked |
//! |---|---|---|---|
//! | `disable` | no | - | - |
//! | `prefer` (default) | when the server offers it | when a root certificate is given | no |
//! | `require` | yes | when a root certificate is given | no |
//! | `verify-ca` | yes | yes (root required) | no |
//! | `verify-full` | yes | yes (root required) | yes |
//!
//! A client certificate and key (`sslcert`, `sslkey`) are presented to a
//! server that asks for one (its `pg_hba.conf` says `cert`, or
//! `clientcert=verify-full`).
//!
//! The files are read each time a connection is opened, as libpq does, so a
//! replaced (renewed) file is picked up on the next reconnect.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::store::tls::ClientIdentity;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum SslMode {
    Disable,
    #[default]
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub(super) fn parse(value: &str) -> Result<SslMode, String> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            // libpq's `allow` (plain first, TLS if refused) has no
            // counterpart in tokio-postgres.
            other => {
                return Err(format!(
                "sslmode `{other}` is not one of disable, prefer, require, verify-ca, verify-full"
            ))
            }
        })
    }

    /// What tokio-postgres is told: it only decides whether to ask for TLS;
    /// the checks are ours, in the verifier.
    pub(super) fn driver_mode(self) -> tokio_postgres::config::SslMode {
        match self {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                tokio_postgres::config::SslMode::Require
            }
        }
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        })
    }
}

/// The files TLS reads, as the configuration names them.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Files<'a> {
    /// `sslrootcert`: the roots the server's certificate is checked against.
    pub(super) root: Option<&'a Path>,
    /// `sslcert` and `sslkey`: the client's certificate and key.
    pub(super) cert: Option<&'a Path>,
    pub(super) key: Option<&'a Path>,
}

/// The connector for one connection attempt.
///
/// # Errors
/// `verify-ca`/`verify-full` without a root certificate, a root
/// certificate file that cannot be read or holds no usable certificate, a
/// client certificate without its key (or the other way round), or client
/// files that cannot be read or used.
pub(super) fn connector(mode: SslMode, files: Files<'_>) -> Result<MakeRustlsConnect, String> {
    let root = files.root;
    let roots = match (mode, root) {
        (SslMode::Disable, _) => None,
        (_, Some(path)) => Some(Arc::new(load_roots(path)?)),
        (SslMode::VerifyCa | SslMode::VerifyFull, None) => {
            return Err(format!(
                "sslmode={mode} needs a root certificate to check the server's certificate \
                 against: add sslrootcert=<file> to the connection string or call \
                 PostgresConfig::root_cert"
            ))
        }
        (SslMode::Prefer | SslMode::Require, None) => None,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Verifier {
        roots,
        check_name: mode == SslMode::VerifyFull,
        provider: provider.clone(),
    };
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let config = match client_identity(mode, files)? {
        Some(id) => builder.with_client_cert_resolver(id.resolver()),
        None => builder.with_no_client_auth(),
    };
    Ok(MakeRustlsConnect::new(config))
}

/// The client certificate and key, read now; none with `sslmode=disable`.
fn client_identity(mode: SslMode, files: Files<'_>) -> Result<Option<ClientIdentity>, String> {
    match (mode, files.cert, files.key) {
        (SslMode::Disable, _, _) | (_, None, None) => Ok(None),
        (_, Some(cert), Some(key)) => ClientIdentity::read(cert, key, "sslcert/sslkey").map(Some),
        (_, Some(cert), None) => Err(format!(
            "the client certificate {} (sslcert) needs its private key: add sslkey=<file> \
             to the connection string or give both to PostgresConfig::client_cert",
            cert.display()
        )),
        (_, None, Some(key)) => Err(format!(
            "the client key {} (sslkey) needs its certificate: add sslcert=<file> to the \
             connection string or give both to PostgresConfig::client_cert",
            key.display()
        )),
    }
}

fn load_roots(path: &Path) -> Result<RootCertStore, String> {
    if path == Path::new("system") {
        return Err(
            "sslrootcert=system (the system's trusted roots) is not supported: give the path \
             of a PEM file with the root certificate"
                .to_owned(),
        );
    }
    let mut roots = RootCertStore::empty();
    crate::store::tls::add_pem_roots(&mut roots, path, "sslrootcert")?;
    Ok(roots)
}

/// Checks the server's certificate as the mode says: the chain against the
/// roots when there are roots, the host name when `check_name`. The
/// handshake's signatures are always checked, so the peer holds the key of
/// the certificate it presents, whatever the mode.
#[derive(Debug)]
struct Verifier {
    roots: Option<Arc<RootCertStore>>,
    check_name: bool,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            let cert = ParsedCertificate::try_from(end_entity)?;
            verify_server_cert_signed_by_trust_anchor(
                &cert,
                roots,
                intermediates,
                now,
                self.provider.signature_verification_algorithms.all,
            )?;
            if self.check_name {
                verify_server_name(&cert, server_name)?;
            }
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A hint for a failed handshake, from rustls's error somewhere in the
/// driver's error chain; `None` when TLS was not what failed.
pub(super) fn explain(
    error: &tokio_postgres::Error,
    mode: SslMode,
    files: Files<'_>,
) -> Option<String> {
    let root = files.root;
    let tls = crate::store::tls::rustls_error(error)?;
    let hint = match tls {
        rustls::Error::InvalidCertificate(
            rustls::CertificateError::NotValidForName
            | rustls::CertificateError::NotValidForNameContext { .. },
        ) => format!(
            "; host name mismatch: sslmode={mode} requires the host in the connection string \
             to be a name the server's certificate holds"
        ),
        rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer) => format!(
            "; sslmode={mode}: the server's certificate is not signed by the root certificate \
             in {} (sslrootcert)",
            root.map_or_else(|| "?".into(), |p| p.display().to_string())
        ),
        // The server checks its clients' certificates and refused ours
        // (or wanted one and got none).
        rustls::Error::AlertReceived(
            rustls::AlertDescription::CertificateRequired
            | rustls::AlertDescription::BadCertificate
            | rustls::AlertDescription::UnknownCA
            | rustls::AlertDescription::CertificateUnknown,
        ) => match files.cert {
            Some(cert) => format!(
                "; the server did not accept the client certificate in {} (sslcert): is it \
                 signed by a CA in the server's ssl_ca_file?",
                cert.display()
            ),
            None => "; the server wants a client certificate: add sslcert=<file> \
                     sslkey=<file> to the connection string or call PostgresConfig::client_cert"
                .to_owned(),
        },
        _ => String::new(),
    };
    Some(format!("TLS handshake failed: {tls}{hint}"))
}

/// A login the server refused for want of a client certificate (its
/// `pg_hba.conf` says `cert` for this user, and none was sent): the
/// server's words, and what to configure.
pub(super) fn certificate_refused(
    error: &tokio_postgres::Error,
    files: Files<'_>,
) -> Option<String> {
    let db = error.as_db_error()?;
    let refused = db.code()
        == &tokio_postgres::error::SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        && db.message().contains("client certificate");
    (refused && files.cert.is_none()).then(|| {
        format!(
            "database error {}: {}; give this instance a certificate: add sslcert=<file> \
             sslkey=<file> to the connection string or call PostgresConfig::client_cert",
            db.code().code(),
            db.message()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(mode: SslMode, root: Option<&Path>) -> String {
        connector(mode, roots(root)).map(|_| ()).unwrap_err()
    }

    fn roots(root: Option<&Path>) -> Files<'_> {
        Files {
            root,
            ..Files::default()
        }
    }

    #[test]
    fn every_libpq_mode_but_allow_parses_and_prints_back() {
        for name in ["disable", "prefer", "require", "verify-ca", "verify-full"] {
            assert_eq!(SslMode::parse(name).unwrap().to_string(), name);
        }
        assert!(SslMode::parse("allow").unwrap_err().contains("allow"));
    }

    #[test]
    fn verifying_modes_refuse_to_start_without_a_root() {
        for mode in [SslMode::VerifyCa, SslMode::VerifyFull] {
            let e = err(mode, None);
            assert!(e.contains(&format!("sslmode={mode}")), "{e}");
            assert!(e.contains("sslrootcert"), "{e}");
        }
        for mode in [SslMode::Disable, SslMode::Prefer, SslMode::Require] {
            assert!(connector(mode, Files::default()).is_ok(), "{mode}");
        }
    }

    #[test]
    fn a_missing_or_empty_root_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.pem");
        let e = err(SslMode::VerifyFull, Some(&missing));
        assert!(e.contains("cannot read") && e.contains("nope.pem"), "{e}");

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = err(SslMode::Require, Some(&empty));
        assert!(
            e.contains("holds no certificate") && e.contains("empty.pem"),
            "{e}"
        );

        let e = err(SslMode::VerifyFull, Some(Path::new("system")));
        assert!(e.contains("sslrootcert=system"), "{e}");
    }

    #[test]
    fn disable_never_reads_the_root_file() {
        let files = Files {
            root: Some(Path::new("/nonexistent/ca.pem")),
            cert: Some(Path::new("/nonexistent/app.crt")),
            key: Some(Path::new("/nonexistent/app.key")),
        };
        assert!(connector(SslMode::Disable, files).is_ok());
    }

    #[test]
    fn a_client_certificate_needs_its_key_and_files_that_can_be_read() {
        let half = |cert: Option<&'static str>, key: Option<&'static str>| {
            let files = Files {
                root: None,
                cert: cert.map(Path::new),
                key: key.map(Path::new),
            };
            connector(SslMode::Require, files).map(|_| ()).unwrap_err()
        };
        let e = half(Some("/etc/app.crt"), None);
        assert!(
            e.contains("/etc/app.crt") && e.contains("add sslkey="),
            "{e}"
        );
        let e = half(None, Some("/etc/app.key"));
        assert!(
            e.contains("/etc/app.key") && e.contains("add sslcert="),
            "{e}"
        );
        let e = half(Some("/nonexistent/app.crt"), Some("/nonexistent/app.key"));
        assert!(
            e.contains("cannot read")
                && e.contains("/nonexistent/app.crt")
                && e.contains("sslcert"),
            "{e}"
        );
    }
}
