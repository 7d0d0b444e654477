//! The store over TLS, against the throwaway server that
//! `scripts/with-postgres.sh` starts with a certificate for `localhost`
//! signed by a CA it makes for the run.

use std::time::{Duration, Instant};

use flags_middleware::store::{PostgresConfig, PostgresStore};

use super::instance_with;
use super::support::*;

/// A variable the script exports; the tests fail (not skip) without it.
fn script_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run the PostgreSQL tests through scripts/with-postgres.sh \
             (or scripts/test.sh), which starts a throwaway server with TLS on"
        )
    })
}

/// The CA that signed the server's certificate.
fn root() -> String {
    script_env("FLAGS_TEST_DATABASE_TLS_ROOT")
}

/// A CA that did not.
fn other_root() -> String {
    script_env("FLAGS_TEST_DATABASE_TLS_OTHER_ROOT")
}

/// `db` on the test server reached as `host`, with extra `params`.
fn url(db: &TestDb, host: &str, params: &str) -> String {
    let server: tokio_postgres::Config = server_url().parse().unwrap();
    let port = server.get_ports()[0];
    let user = server.get_user().unwrap();
    format!(
        "host={host} port={port} user={user} dbname={} {params}",
        db.name
    )
}

fn config(conn: &str, instance: &str) -> PostgresConfig {
    PostgresConfig::new(conn)
        .unwrap()
        .instance(instance)
        .connect_timeout(Duration::from_secs(2))
}

/// Whether each of `instance`'s connections (`rw`, `listen`) is encrypted,
/// as the server sees them.
async fn encrypted(db: &TestDb, store: &PostgresStore, instance: &str) -> Vec<(String, bool)> {
    eventually("the listener is connected", || store.is_listening()).await;
    let admin = db.client().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rows = admin
            .query(
                "SELECT a.application_name, s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
                 WHERE a.application_name LIKE $1 ORDER BY 1",
                &[&format!("flags:{instance}:%")],
            )
            .await
            .unwrap();
        let seen: Vec<(String, bool)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        if seen.len() == 2 || Instant::now() > deadline {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Asserts that both of `instance`'s connections are encrypted.
async fn assert_all_encrypted(db: &TestDb, store: &PostgresStore, instance: &str) {
    assert_eq!(encrypted(db, store, instance).await, both(instance, true));
}

fn both(instance: &str, ssl: bool) -> Vec<(String, bool)> {
    vec![
        (format!("flags:{instance}:listen"), ssl),
        (format!("flags:{instance}:rw"), ssl),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_with_the_ca_and_the_certificates_host_name_connects_encrypted() {
    let _server = share_server().await;
    let db = TestDb::create().await;
    let conn = url(
        &db,
        "localhost",
        &format!("sslmode=verify-full sslrootcert='{}'", root()),
    );
    let (flags, store) = instance_with(config(&conn, "full").seed_file(db.seed(SEED))).await;
    assert!(flags.snapshot().feature("legacy_api").is_some());
    assert_all_encrypted(&db, &store, "full").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_to_a_name_the_certificate_does_not_hold_is_refused_naming_the_mismatch() {
    let _server = share_server().await;
    let db = TestDb::create().await;
    // The certificate names `localhost` only; 127.0.0.1 is the same server.
    let conn = url(
        &db,
        "127.0.0.1",
        &format!("sslmode=verify-full sslrootcert='{}'", root()),
    );
    let e = PostgresStore::connect(config(&conn, "mismatch"))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("host name mismatch"), "{e}");
    assert!(e.contains("\"127.0.0.1\""), "{e}");
    assert!(e.contains("localhost"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_connects_encrypted_without_checking_the_certificate() {
    let _server = share_server().await;
    let db = TestDb::create().await;
    // No root certificate, and a host name the certificate does not hold:
    // `require` encrypts and checks nothing. The URL form, this time.
    let server: tokio_postgres::Config = server_url().parse().unwrap();
    let conn = format!(
        "postgresql://{}@127.0.0.1:{}/{}?sslmode=require",
        server.get_user().unwrap(),
        server.get_ports()[0],
        db.name
    );
    let (_flags, store) = instance_with(config(&conn, "require")).await;
    assert_all_encrypted(&db, &store, "require").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_without_a_root_certificate_is_refused_even_with_a_last_known_good_file() {
    let _server = share_server().await;
    let db = TestDb::create().await;
    let conn = url(&db, "localhost", "sslmode=verify-full");
    let last_good = db.dir.path().join("flags.last-good.json");
    std::fs::write(&last_good, "{}").unwrap();
    // A missing root is a mistake to fix, not an outage to ride out.
    let e = PostgresStore::connect(config(&conn, "noroot").last_known_good(&last_good))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("sslmode=verify-full"), "{e}");
    assert!(e.contains("sslrootcert"), "{e}");

    // The builder gives the root as well as the connection string does.
    let (_flags, store) = instance_with(config(&conn, "builder").root_cert(root())).await;
    assert_all_encrypted(&db, &store, "builder").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_ca_checks_the_chain_but_not_the_host_name() {
    let _server = share_server().await;
    let db = TestDb::create().await;
    let ca = |root: &str| {
        config(
            &url(
                &db,
                "127.0.0.1",
                &format!("sslmode=verify-ca sslrootcert='{root}'"),
            ),
            "ca",
        )
    };
    let (_flags, store) = instance_with(ca(&root())).await;
    assert_all_encrypted(&db, &store, "ca").await;

    let e = PostgresStore::connect(ca(&other_root()))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("UnknownIssuer"), "{e}");
    assert!(
        e.contains(&format!(
            "not signed by the root certificate in {}",
            other_root()
        )),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_with_a_root_certificate_checks_the_chain_as_libpq_does() {
    let _server = share_server().await;
    let db = TestDb::create().await;
    let conn = url(
        &db,
        "127.0.0.1",
        &format!("sslmode=require sslrootcert='{}'", other_root()),
    );
    let e = PostgresStore::connect(config(&conn, "req-root"))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("TLS handshake failed"), "{e}");
    assert!(e.contains("UnknownIssuer"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_sslmode_tls_is_preferred_and_disable_turns_it_off() {
    let _server = share_server().await;
    let db = TestDb::create().await;
    let (_a, preferred) = instance_with(config(&url(&db, "127.0.0.1", ""), "prefer")).await;
    assert_eq!(
        encrypted(&db, &preferred, "prefer").await,
        both("prefer", true)
    );
    let (_b, plain) =
        instance_with(config(&url(&db, "127.0.0.1", "sslmode=disable"), "plain")).await;
    assert_eq!(encrypted(&db, &plain, "plain").await, both("plain", false));
}

/// The client certificates the script made for role `flags_cert`:
/// `(cert, key)` of `name` (`flags_cert`, signed by the server's CA, or
/// `stranger`, signed by another).
fn client_files(name: &str) -> (String, String) {
    let dir = script_env("FLAGS_TEST_DATABASE_TLS_CLIENT");
    (format!("{dir}/{name}.crt"), format!("{dir}/{name}.key"))
}

/// `db` as role `flags_cert`, which `pg_hba.conf` admits over TLS with a
/// client certificate only.
async fn as_cert_role(db: &TestDb, params: &str) -> String {
    // Made here (the script's server trusts `flags`); a superuser, so it can
    // make the store's tables in the test database.
    db.client()
        .await
        .batch_execute(
            "DO $$ BEGIN CREATE ROLE flags_cert LOGIN SUPERUSER; \
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
        )
        .await
        .unwrap();
    let server: tokio_postgres::Config = server_url().parse().unwrap();
    format!(
        "host=localhost port={} user=flags_cert dbname={} sslmode=verify-full sslrootcert='{}' {params}",
        server.get_ports()[0],
        db.name,
        root()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_checks_client_certificates_admits_the_configured_one() {
    let _server = share_server().await;
    let db = TestDb::create().await;
    let (cert, key) = client_files("flags_cert");

    // From the connection string.
    let conn = as_cert_role(&db, &format!("sslcert='{cert}' sslkey='{key}'")).await;
    let (flags, store) = instance_with(config(&conn, "mtls").seed_file(db.seed(SEED))).await;
    assert!(flags.snapshot().feature("legacy_api").is_some());
    assert_all_encrypted(&db, &store, "mtls").await;
    let admin = db.client().await;
    let users: Vec<String> = admin
        .query(
            "SELECT usename::text FROM pg_stat_activity WHERE application_name LIKE 'flags:mtls:%'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(users, ["flags_cert", "flags_cert"]);

    // From the builder.
    let conn = as_cert_role(&db, "").await;
    let (_flags, store) =
        instance_with(config(&conn, "mtls-builder").client_cert(&cert, &key)).await;
    assert_all_encrypted(&db, &store, "mtls-builder").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_accepted_client_certificate_the_refusal_says_what_to_give() {
    let _server = share_server().await;
    let db = TestDb::create().await;

    // None: TLS is fine, and the server's `cert` rule refuses the login.
    let conn = as_cert_role(&db, "").await;
    let e = PostgresStore::connect(config(&conn, "nocert"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("requires a valid client certificate") && e.contains("sslcert=<file>"),
        "{e}"
    );

    // One another CA signed: refused in the handshake, the file named.
    let (cert, key) = client_files("stranger");
    let conn = as_cert_role(&db, &format!("sslcert='{cert}' sslkey='{key}'")).await;
    let e = PostgresStore::connect(config(&conn, "stranger"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("TLS handshake failed") && e.contains("stranger.crt") && e.contains("sslcert"),
        "{e}"
    );

    // Half of the pair: a setup error, before any connection.
    let conn = as_cert_role(&db, &format!("sslcert='{cert}'")).await;
    let e = PostgresStore::connect(config(&conn, "half"))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("stranger.crt") && e.contains("sslkey"), "{e}");
}
