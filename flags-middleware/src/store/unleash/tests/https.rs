//! The store over https: the fake Unleash behind rustls, with a CA and a
//! server certificate made at test time (no keys in the repository).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use super::{config, eventually, features, handle, remote, u, Fake};
use crate::Flags;

/// A CA, and a server certificate it signed for `names`; the CA's
/// certificate written as PEM to `ca.pem` in `dir`.
struct Certificates {
    ca_pem: std::path::PathBuf,
    server: ServerConfig,
}

fn certificates(dir: &std::path::Path, names: &[&str]) -> Certificates {
    let ca = make_ca("flags test CA");
    let ca_pem = dir.join("ca.pem");
    std::fs::write(&ca_pem, ca.pem()).unwrap();
    let server = server_config(&ca, names, None);
    Certificates { ca_pem, server }
}

fn make_ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, name);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap()
}

/// A server certificate `ca` signed for `names`; with `clients`, the server
/// admits only clients whose certificate one of those roots signed.
fn server_config(
    ca: &CertifiedIssuer<'static, KeyPair>,
    names: &[&str],
    clients: Option<rustls::RootCertStore>,
) -> ServerConfig {
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(names)
        .unwrap()
        .signed_by(&key, ca)
        .unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match clients {
        Some(roots) => builder.with_client_cert_verifier(
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap(),
        ),
        None => builder.with_no_client_auth(),
    };
    builder
        .with_single_cert(vec![cert.der().clone()], key)
        .unwrap()
}

/// A client certificate `ca` signed, and its key, written as PEM to
/// `<name>.crt` and `<name>.key` in `dir`.
fn client_files(
    dir: &std::path::Path,
    ca: &CertifiedIssuer<'static, KeyPair>,
    name: &str,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.signed_by(&key, ca).unwrap();
    let (cert_path, key_path) = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (cert_path, key_path)
}

/// Accepts TLS connections for `axum::serve`, counting handshakes tried
/// (a refused one is dropped and the next connection awaited).
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    handshakes: Arc<AtomicUsize>,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            self.handshakes.fetch_add(1, Ordering::SeqCst);
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// Serves `fake` over https on a loopback port: its `https://127.0.0.1:port/api`
/// URL and the handshake count.
async fn start_https(
    fake: &Arc<Fake>,
    server: ServerConfig,
) -> (String, Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/api", tcp.local_addr().unwrap());
    let handshakes = Arc::new(AtomicUsize::new(0));
    let listener = TlsListener {
        tcp,
        acceptor: TlsAcceptor::from(Arc::new(server)),
        handshakes: handshakes.clone(),
    };
    let app = Router::new().fallback(handle).with_state(fake.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, handshakes, task)
}

#[tokio::test]
async fn https_with_a_private_ca_serves_the_flags_and_round_trips_etags() {
    let dir = tempfile::tempdir().unwrap();
    let certs = certificates(dir.path(), &["localhost", "127.0.0.1"]);
    let fake = Fake::new();
    let (url, _, _server) = start_https(&fake, certs.server).await;
    let config = config(&url).root_certificate(&certs.ca_pem).unwrap();
    let flags = Flags::from_unleash(config).await.unwrap();
    flags
        .wait_until_ready(Duration::from_secs(5))
        .await
        .unwrap();
    assert!(flags.is_enabled("checkout", &u("u1")));
    assert!(!flags.is_enabled("checkout", &u("u3")));

    eventually("a 304 over https", || remote(&flags).unchanged >= 1).await;
    let calls = fake.seen("/api/client/features");
    assert_eq!(calls[0].headers.get("if-none-match"), None);
    assert_eq!(calls[1].headers.get("if-none-match").unwrap(), "\"e1\"");
    let status = remote(&flags);
    assert_eq!((status.serving, status.fetched), ("unleash", 1));
    assert!(
        status.url.starts_with("https://127.0.0.1:"),
        "{}",
        status.url
    );

    fake.set_body(features(false), "\"e2\"");
    eventually("the change served", || {
        !flags.is_enabled("checkout", &u("u1"))
    })
    .await;
}

#[tokio::test]
async fn an_unknown_ca_is_reported_as_a_certificate_problem_and_retried() {
    let dir = tempfile::tempdir().unwrap();
    let certs = certificates(dir.path(), &["localhost", "127.0.0.1"]);
    let boot = dir.path().join("boot.json");
    std::fs::write(&boot, features(true)).unwrap();
    let fake = Fake::new();
    fake.set_body(features(false), "\"e1\"");
    let (url, handshakes, _server) = start_https(&fake, certs.server).await;
    // No root_certificate: the test CA is not among the built-in roots.
    let flags = Flags::from_unleash(config(&url).bootstrap(&boot))
        .await
        .unwrap();

    assert!(
        flags.is_enabled("checkout", &u("u1")),
        "the bootstrap served"
    );
    let status = remote(&flags);
    assert_eq!(
        (status.serving, status.ready, status.polling),
        ("bootstrap", false, true)
    );
    let reason = status.last_failure.unwrap().reason;
    assert!(
        reason.contains("TLS: invalid peer certificate: UnknownIssuer")
            && reason.contains("root_certificate"),
        "{reason}"
    );
    // Tried again as a refused connection is, never reaching the app.
    eventually("a retry", || handshakes.load(Ordering::SeqCst) >= 3).await;
    assert!(fake.seen("/client/features").is_empty());
    assert!(flags
        .wait_until_ready(Duration::from_millis(50))
        .await
        .is_err());
}

#[tokio::test]
async fn a_certificate_for_another_host_is_reported_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let certs = certificates(dir.path(), &["unleash.invalid"]);
    let fake = Fake::new();
    let (url, _, _server) = start_https(&fake, certs.server).await;
    let config = config(&url).root_certificate(&certs.ca_pem).unwrap();
    let flags = Flags::from_unleash(config).await.unwrap();
    let reason = remote(&flags).last_failure.unwrap().reason;
    assert!(
        reason.starts_with("cannot reach Unleash: TLS: invalid peer certificate")
            && reason.contains("not for the host"),
        "{reason}"
    );
    assert!(fake.seen("/client/features").is_empty());
}

#[tokio::test]
async fn a_server_that_checks_clients_admits_the_configured_certificate_only() {
    let dir = tempfile::tempdir().unwrap();
    let ca = make_ca("flags test CA");
    let ca_pem = dir.path().join("ca.pem");
    std::fs::write(&ca_pem, ca.pem()).unwrap();
    let mut clients = rustls::RootCertStore::empty();
    clients.add(ca.der().clone()).unwrap();
    let server = server_config(&ca, &["localhost", "127.0.0.1"], Some(clients));
    let fake = Fake::new();
    let (url, handshakes, _server) = start_https(&fake, server).await;

    // A certificate the server's CA signed: admitted.
    let (cert, key) = client_files(dir.path(), &ca, "checkout");
    let admitted = config(&url)
        .root_certificate(&ca_pem)
        .unwrap()
        .client_certificate(&cert, &key)
        .unwrap();
    assert!(format!("{admitted:?}").contains("checkout.crt"));
    let flags = Flags::from_unleash(admitted).await.unwrap();
    flags
        .wait_until_ready(Duration::from_secs(5))
        .await
        .unwrap();
    assert!(flags.is_enabled("checkout", &u("u1")));
    let served = fake.seen("/client/features").len();
    assert!(served >= 1);
    drop(flags);

    // No certificate, or one another CA signed: refused at the handshake,
    // said so, and never reaching the app.
    let other = make_ca("flags unrelated CA");
    let (other_cert, other_key) = client_files(dir.path(), &other, "stranger");
    let without = config(&url).root_certificate(&ca_pem).unwrap();
    let stranger = without
        .clone()
        .client_certificate(&other_cert, &other_key)
        .unwrap();
    for refused in [without, stranger] {
        let at = handshakes.load(Ordering::SeqCst);
        let flags = Flags::from_unleash(refused).await.unwrap();
        eventually("a refused handshake", || {
            handshakes.load(Ordering::SeqCst) > at && remote(&flags).last_failure.is_some()
        })
        .await;
        let reason = remote(&flags).last_failure.unwrap().reason;
        assert!(
            reason.contains("TLS") && reason.contains("client_certificate"),
            "{reason}"
        );
        assert!(!remote(&flags).ready);
    }
    assert_eq!(fake.seen("/client/features").len(), served);
}

#[test]
fn a_client_certificate_that_cannot_be_used_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let ca = make_ca("flags test CA");
    let (cert, key) = client_files(dir.path(), &ca, "a");
    let (_, other_key) = client_files(dir.path(), &ca, "b");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not PEM at all\n").unwrap();
    let missing = dir.path().join("missing.key");
    let refused = |cert: &std::path::Path, key: &std::path::Path| {
        config("https://127.0.0.1:1/api")
            .client_certificate(cert, key)
            .unwrap_err()
            .to_string()
    };
    let cases = [
        (
            refused(&cert, &other_key),
            "b.key",
            "not the key of the certificate",
        ),
        (
            refused(&cert, &missing),
            "missing.key",
            "cannot read the client key file",
        ),
        (
            refused(&garbage, &key),
            "garbage.pem",
            "holds no certificate",
        ),
        (
            refused(&cert, &garbage),
            "garbage.pem",
            "no usable private key",
        ),
    ];
    for (message, file, says) in cases {
        assert!(
            message.starts_with("unleash client_certificate: ")
                && message.contains(file)
                && message.contains(says),
            "{message}"
        );
    }
}
