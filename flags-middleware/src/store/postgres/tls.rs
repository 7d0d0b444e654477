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
//! The root certificate file is read each time a connection is opened, as
//! libpq does, so a replaced file is picked up on the next reconnect.

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

/// The connector for one connection attempt.
///
/// # Errors
/// `verify-ca`/`verify-full` without a root certificate, or a root
/// certificate file that cannot be read or holds no usable certificate.
pub(super) fn connector(mode: SslMode, root: Option<&Path>) -> Result<MakeRustlsConnect, String> {
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
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
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
    root: Option<&Path>,
) -> Option<String> {
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
        _ => String::new(),
    };
    Some(format!("TLS handshake failed: {tls}{hint}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(mode: SslMode, root: Option<&Path>) -> String {
        connector(mode, root).map(|_| ()).unwrap_err()
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
            assert!(connector(mode, None).is_ok(), "{mode}");
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
        assert!(connector(SslMode::Disable, Some(Path::new("/nonexistent/ca.pem"))).is_ok());
    }
}
