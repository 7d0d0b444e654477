//! What the stores that speak TLS share (the PostgreSQL store's `sslrootcert`
//! and `sslcert`/`sslkey`, the Unleash store's `root_certificate` and
//! `client_certificate`): trusting the roots in a PEM file, reading a client
//! certificate and its key, and finding rustls's own error in a client's
//! error chain, so a failed handshake is reported as one.

use std::error::Error;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::RootCertStore;

/// Adds every certificate in the PEM file at `path` to `roots`; `option` is
/// the setting the user gave the path under, for the error message.
///
/// # Errors
/// A file that cannot be read, is not PEM, holds no certificate, or holds
/// one that cannot be a trust anchor; `roots` is then left as it was.
pub(crate) fn add_pem_roots(
    roots: &mut RootCertStore,
    path: &Path,
    option: &str,
) -> Result<(), String> {
    let file = path.display();
    let pem = std::fs::read(path)
        .map_err(|e| format!("cannot read the root certificate file ({option}) {file}: {e}"))?;
    let mut read = RootCertStore::empty();
    for (n, cert) in CertificateDer::pem_slice_iter(&pem).enumerate() {
        let cert =
            cert.map_err(|e| format!("the root certificate file {file} is not valid PEM: {e}"))?;
        read.add(cert).map_err(|e| {
            format!(
                "the root certificate file {file}: certificate {} is not usable as a root: {e}",
                n + 1
            )
        })?;
    }
    if read.is_empty() {
        return Err(format!(
            "the root certificate file {file} holds no certificate (expected PEM \
             `-----BEGIN CERTIFICATE-----` blocks)"
        ));
    }
    roots.roots.extend(read.roots);
    Ok(())
}

/// A client certificate chain and its private key, for servers that ask
/// the client to prove who it is (mutual TLS): read and checked once, then
/// shared by every connection's TLS setup.
#[derive(Debug, Clone)]
pub(crate) struct ClientIdentity(Arc<CertifiedKey>);

impl ClientIdentity {
    /// Reads the certificate chain (PEM, the client's own certificate first)
    /// at `cert` and its private key (PEM: PKCS#8, PKCS#1 or SEC1) at `key`;
    /// `option` is the setting the user gave them under, for the messages.
    ///
    /// # Errors
    /// A file that cannot be read, is not PEM, or holds no certificate (or no
    /// key), or a key that is not the certificate's; each message names the
    /// file.
    pub(crate) fn read(
        cert: &Path,
        key_path: &Path,
        option: &str,
    ) -> Result<ClientIdentity, String> {
        let read = |path: &Path, what: &str| {
            std::fs::read(path).map_err(|e| {
                format!(
                    "cannot read the client {what} file ({option}) {}: {e}",
                    path.display()
                )
            })
        };
        let pem = read(cert, "certificate")?;
        let chain = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                format!(
                    "the client certificate file {} is not valid PEM: {e}",
                    cert.display()
                )
            })?;
        if chain.is_empty() {
            return Err(format!(
                "the client certificate file {} holds no certificate (expected PEM \
                 `-----BEGIN CERTIFICATE-----` blocks)",
                cert.display()
            ));
        }
        let pem = read(key_path, "key")?;
        let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
            format!(
                "the client key file {} holds no usable private key (expected a PEM \
                 `PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY` block): {e}",
                key_path.display()
            )
        })?;
        // Checked here, not at the first handshake: a key of a kind rustls
        // cannot sign with, or one that is not the certificate's, is a
        // setup error to report at startup.
        let provider = rustls::crypto::ring::default_provider();
        let certified = CertifiedKey::from_der(chain, key, &provider).map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => format!(
                "the client key file {} is not the key of the certificate in {}",
                key_path.display(),
                cert.display()
            ),
            other => format!(
                "the client key file {} cannot be used: {other}",
                key_path.display()
            ),
        })?;
        Ok(ClientIdentity(Arc::new(certified)))
    }

    /// What a rustls client config presents when the server asks.
    pub(crate) fn resolver(&self) -> Arc<SingleCertAndKey> {
        Arc::new(SingleCertAndKey::from(Arc::clone(&self.0)))
    }
}

/// rustls's error, when it is somewhere in `error`'s chain.
pub(crate) fn rustls_error<'a>(error: &'a (dyn Error + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        // tokio-rustls wraps rustls's error in an io::Error (hyper-rustls
        // wraps that in another), and an io::Error's `source` skips the
        // error it wraps: step into it instead.
        next = match e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            Some(inner) => Some(inner as &(dyn Error + 'static)),
            None => e.source(),
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_empty_or_broken_file_is_named_and_adds_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut roots = RootCertStore::empty();
        let missing = dir.path().join("nope.pem");
        let e = add_pem_roots(&mut roots, &missing, "the_option").unwrap_err();
        assert!(
            e.contains("cannot read") && e.contains("nope.pem") && e.contains("the_option"),
            "{e}"
        );
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = add_pem_roots(&mut roots, &empty, "x").unwrap_err();
        assert!(
            e.contains("holds no certificate") && e.contains("empty.pem"),
            "{e}"
        );
        let junk = dir.path().join("junk.pem");
        std::fs::write(
            &junk,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let e = add_pem_roots(&mut roots, &junk, "x").unwrap_err();
        assert!(e.contains("junk.pem") && e.contains("certificate 1"), "{e}");
        assert!(roots.is_empty());
    }

    #[test]
    fn rustls_errors_are_found_inside_nested_io_errors() {
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let wrapped = std::io::Error::other(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            tls.clone(),
        ));
        assert_eq!(rustls_error(&wrapped), Some(&tls));
        assert_eq!(rustls_error(&std::io::Error::other("refused")), None);
    }
}
