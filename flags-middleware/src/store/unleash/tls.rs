//! https to Unleash: one connector for `http://` and `https://` URLs
//! (rustls with the ring provider, as the PostgreSQL store uses), trusting
//! Mozilla's roots plus the config's own, and failed handshakes put in words.

use std::sync::Arc;

use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use rustls::{AlertDescription, CertificateError, ClientConfig, RootCertStore};

use super::config::UnleashConfig;

/// The connector the store's client is built on.
///
/// # Errors
/// Only if rustls's ring provider offered no TLS version (it offers 1.2 and 1.3).
pub(super) fn connector(config: &UnleashConfig) -> Result<HttpsConnector<HttpConnector>, String> {
    // Mozilla's roots compiled in: an app in a minimal image (no
    // /etc/ssl/certs) still reaches a public Unleash.
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    roots.roots.extend(config.extra_roots.roots.iter().cloned());
    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup: {e}"))?
            .with_root_certificates(roots);
    let tls = match &config.client_identity {
        Some(id) => builder.with_client_cert_resolver(id.resolver()),
        None => builder.with_no_client_auth(),
    };
    let mut tcp = HttpConnector::new();
    tcp.set_connect_timeout(Some(config.timeout));
    tcp.set_nodelay(true);
    // The TLS layer above reads the scheme; the TCP connector must not
    // refuse `https` URLs itself.
    tcp.enforce_http(false);
    Ok(HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(tcp))
}

/// A failed handshake in words: rustls's own error after `TLS: `, and what
/// to do about the common ones.
pub(super) fn explain(error: &rustls::Error) -> String {
    let hint = match error {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "; the server's certificate is not signed by a trusted root: for a private CA, \
             add its certificate with UnleashConfig::root_certificate"
        }
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => "; the server's certificate is not for the host in the URL",
        rustls::Error::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        ) => "; the server's certificate has expired",
        // The server checks clients: it wanted a certificate and got none,
        // or got one it does not trust.
        rustls::Error::AlertReceived(
            AlertDescription::CertificateRequired
            | AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown,
        ) => {
            "; the server admits only clients with a certificate it trusts: give one \
             with UnleashConfig::client_certificate"
        }
        rustls::Error::InvalidMessage(_) => {
            "; is the server speaking plain http? then use an http:// URL"
        }
        _ => "",
    };
    format!("TLS: {error}{hint}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_problems_say_what_to_do() {
        let e = explain(&rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer,
        ));
        assert!(
            e.starts_with("TLS: invalid peer certificate: UnknownIssuer")
                && e.contains("root_certificate"),
            "{e}"
        );
        let e = explain(&rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName,
        ));
        assert!(e.contains("not for the host"), "{e}");
    }
}
