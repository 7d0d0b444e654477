//! A real Unleash server (the pinned `unleash-server` from tests/node,
//! installed by scripts/node-peers.sh) on a free loopback port, against a
//! fresh database on the throwaway PostgreSQL that scripts/with-postgres.sh
//! starts; its admin API; Unleash's Node SDK as the oracle.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

pub const ADMIN_TOKEN: &str = "*:*.unleash-admin-secret";
pub const CLIENT_TOKEN: &str = "default:development.unleash-client-secret";

fn node_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node")
}

/// The database server's `key=value` connection string; the tests fail
/// (not skip) without it.
fn database_url() -> String {
    std::env::var("FLAGS_TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "FLAGS_TEST_DATABASE_URL is not set: run these tests through scripts/with-postgres.sh \
             (or scripts/test.sh), which starts a throwaway PostgreSQL"
        )
    })
}

fn conninfo(key: &str) -> Option<String> {
    database_url()
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")).map(str::to_owned))
}

/// A fresh database for one Unleash server.
fn create_database() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "unleash_test_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let sql = format!("CREATE DATABASE {name}");
    // Its own thread and runtime: callable from inside a test's runtime.
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(&database_url(), tokio_postgres::NoTls)
                .await
                .expect("cannot reach the test PostgreSQL");
            tokio::spawn(conn);
            client.batch_execute(&sql).await.unwrap();
        });
    })
    .join()
    .unwrap();
    name
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `unleash-server`; killed when dropped (and it exits by itself
/// when this process dies: its stdin closes).
#[derive(Debug)]
pub struct UnleashServer {
    child: Option<Child>,
    pub port: u16,
    pub database: String,
}

impl UnleashServer {
    /// A new server with a database of its own.
    pub fn start() -> UnleashServer {
        Self::start_on(free_port(), create_database())
    }

    /// A server on `port` with `database` (a restart keeps both).
    pub fn start_on(port: u16, database: String) -> UnleashServer {
        let script = node_dir().join("unleash-server.mjs");
        assert!(
            node_dir().join("node_modules/unleash-server").exists(),
            "unleash-server is not installed: run scripts/node-peers.sh"
        );
        let mut child = Command::new("node")
            .arg(&script)
            .current_dir(node_dir())
            .env("PORT", port.to_string())
            .env(
                "UNLEASH_TEST_DB_HOST",
                conninfo("host").unwrap_or("127.0.0.1".into()),
            )
            .env(
                "UNLEASH_TEST_DB_PORT",
                conninfo("port").unwrap_or("5432".into()),
            )
            .env(
                "UNLEASH_TEST_DB_USER",
                conninfo("user").unwrap_or("postgres".into()),
            )
            .env(
                "UNLEASH_TEST_DB_PASSWORD",
                conninfo("password").unwrap_or_default(),
            )
            .env("UNLEASH_TEST_DB_NAME", &database)
            .env("INIT_ADMIN_API_TOKENS", ADMIN_TOKEN)
            .env("INIT_BACKEND_API_TOKENS", CLIENT_TOKEN)
            .env("NODE_NO_WARNINGS", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot run node: run scripts/node-peers.sh");
        // The script prints `listening <port>` once Unleash serves.
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert!(
            line.starts_with("listening"),
            "unleash-server did not start: {line:?}"
        );
        // Keep reading what it prints, so it never writes into a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let server = UnleashServer {
            child: Some(child),
            port,
            database,
        };
        server.wait_healthy();
        server
    }

    fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.write_all(b"GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n");
                let mut answer = String::new();
                let _ = s.read_to_string(&mut answer);
                if answer.contains("GOOD") {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "unleash-server never got healthy"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The API root, as Unleash's SDKs take it.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/api", self.port)
    }

    /// Kills the server (its database stays).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `method {url}/admin{path}` with the admin token; the status and the
    /// JSON answer (`Null` when none).
    pub async fn admin(&self, method: &str, path: &str, body: Value) -> (u16, Value) {
        let url = format!("{}/admin{path}", self.url());
        call(method, &url, ADMIN_TOKEN, body).await
    }

    /// Creates a flag in project `default` with one strategy in
    /// `development`, and turns it on there.
    pub async fn create_flag(&self, name: &str, strategy: Value) {
        let (s, v) = self
            .admin(
                "POST",
                "/projects/default/features",
                serde_json::json!({"name": name, "type": "release"}),
            )
            .await;
        assert_eq!(s, 201, "create {name}: {v}");
        let (s, v) = self
            .admin(
                "POST",
                &format!("/projects/default/features/{name}/environments/development/strategies"),
                strategy,
            )
            .await;
        assert_eq!(s, 200, "strategy of {name}: {v}");
        self.toggle(name, true).await;
    }

    /// Turns a flag on or off in `development`.
    pub async fn toggle(&self, name: &str, on: bool) {
        let to = if on { "on" } else { "off" };
        let path = format!("/projects/default/features/{name}/environments/development/{to}");
        let (s, v) = self.admin("POST", &path, Value::Null).await;
        assert_eq!(s, 200, "{to} {name}: {v}");
    }
}

impl Drop for UnleashServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One HTTP call with `authorization: token`.
pub async fn call(method: &str, url: &str, token: &str, body: Value) -> (u16, Value) {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let bytes = if body.is_null() {
        Bytes::new()
    } else {
        Bytes::from(body.to_string())
    };
    let req = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("authorization", token)
        .header("content-type", "application/json")
        .body(Full::new(bytes))
        .unwrap();
    let res = client.request(req).await.unwrap();
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, json)
}

/// What Unleash's Node SDK decides for each context, per flag:
/// `{flag: {enabled, variant: {name, enabled, payload}}}`.
pub fn node_sdk_decisions(url: &str, flags: &[&str], contexts: &[Value]) -> Vec<Value> {
    let input = serde_json::json!({
        "url": format!("{url}/"),
        "token": CLIENT_TOKEN,
        "flags": flags,
        "contexts": contexts,
    });
    let mut child = Command::new("node")
        .arg(node_dir().join("unleash-client-decisions.mjs"))
        .current_dir(node_dir())
        .env("NODE_NO_WARNINGS", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the Node SDK script failed");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Waits (up to `secs`) until `done` holds.
pub async fn eventually(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
