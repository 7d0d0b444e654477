//! A fresh database per test on the throwaway server that
//! `scripts/with-postgres.sh` starts, and small helpers around it.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use flags_middleware::admin::{AdminConfig, Role};
use flags_middleware::store::PostgresConfig;
use flags_middleware::Flags;
use http_body_util::BodyExt as _;
use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use tokio_postgres::{Client, NoTls};
use tower::ServiceExt as _;

/// Tests that stop or restart the server take this for writing; the others
/// for reading, so they never see a restart they did not cause.
static SERVER: RwLock<()> = RwLock::const_new(());

pub async fn share_server() -> RwLockReadGuard<'static, ()> {
    SERVER.read().await
}

pub async fn own_server() -> RwLockWriteGuard<'static, ()> {
    SERVER.write().await
}

pub const TOKEN: &str = "a-long-random-test-secret";

pub const SEED: &str = "\
[new_checkout_flow]
description = \"New checkout redesign - gradual rollout\"
rollout = 20

[legacy_api]

[beta_search]
when = { beta = true }
";

/// The server's connection string; the tests fail (not skip) without it.
pub fn server_url() -> String {
    std::env::var("FLAGS_TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "FLAGS_TEST_DATABASE_URL is not set: run the PostgreSQL tests through \
             scripts/with-postgres.sh (or scripts/test.sh), which starts a throwaway server"
        )
    })
}

/// Runs `pg_ctl <args>` against the test server (`stop -m fast`, `start`).
pub async fn pg_ctl(args: &str) {
    let prefix = std::env::var("FLAGS_TEST_PG_CTL").unwrap_or_else(|_| {
        panic!("FLAGS_TEST_PG_CTL is not set: run through scripts/with-postgres.sh")
    });
    let command = format!("{prefix} {args}");
    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(&command)
            .stdout(std::process::Stdio::null())
            .status()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(status.success(), "pg_ctl {args} failed: {status}");
}

/// A database of its own, and a temp dir for files.
pub struct TestDb {
    pub name: String,
    pub url: String,
    pub dir: tempfile::TempDir,
}

impl TestDb {
    pub async fn create() -> TestDb {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "flags_test_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let admin = connect(&server_url()).await;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        TestDb {
            url: format!("{} dbname={name}", server_url()),
            name,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A configuration for instance `instance`, with quick reconnects.
    pub fn config(&self, instance: &str) -> PostgresConfig {
        PostgresConfig::new(&self.url)
            .unwrap()
            .instance(instance)
            .reconnect_backoff(Duration::from_millis(20), Duration::from_millis(300))
            .heartbeat(Duration::from_secs(1))
            .connect_timeout(Duration::from_secs(2))
    }

    /// A seed file with [`SEED`] (or `text`).
    pub fn seed(&self, text: &str) -> PathBuf {
        let path = self.dir.path().join(format!("seed-{}.toml", text.len()));
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A direct connection to this database.
    pub async fn client(&self) -> Client {
        connect(&self.url).await
    }
}

pub async fn connect(url: &str) -> Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(conn);
    client
}

/// Waits (up to 20 s) until `done` holds.
pub async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Retries `op` (up to 20 s) until it succeeds: a write while the database
/// comes back.
pub async fn until_ok<T, E: std::fmt::Debug, F: Future<Output = Result<T, E>>>(
    what: &str,
    mut op: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match op().await {
            Ok(v) => return v,
            Err(e) => assert!(Instant::now() < deadline, "{what} kept failing: {e:?}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The admin API of `flags`, with one write token.
pub fn admin(flags: &Flags) -> Router {
    flags.admin_router(AdminConfig::new().token("ops", TOKEN, Role::Write))
}

/// Sends one admin request; returns the status and the JSON body.
pub async fn call(
    router: &Router,
    method: &str,
    path: &str,
    if_match: Option<u64>,
    body: Option<serde_json::Value>,
) -> (StatusCode, serde_json::Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json");
    if let Some(v) = if_match {
        req = req.header("if-match", format!("\"{v}\""));
    }
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
    let resp = router
        .clone()
        .oneshot(req.body(body).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, json)
}

/// The version recorded in a last-known-good file, if it can be read.
pub fn last_good_version(path: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json.get("version")?.as_u64()
}
