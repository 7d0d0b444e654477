//! An app with the admin API on a loopback port, and a way to run the
//! `flags` binary against it.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Arc;

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::Router;
use flags_middleware::admin::{AdminConfig, Role};
use flags_middleware::Flags;
use tokio::sync::Semaphore;

/// The write token the test apps accept.
pub(crate) const TOKEN: &str = "cli-test-token-0123456789";

/// A running app: its flags, its admin API's URL and its flags file.
pub(crate) struct App {
    pub(crate) flags: Flags,
    /// `http://127.0.0.1:PORT/admin/flags`
    pub(crate) url: String,
    /// `127.0.0.1:PORT`
    pub(crate) addr: String,
    pub(crate) path: PathBuf,
    _dir: tempfile::TempDir,
    _runtime: tokio::runtime::Runtime,
}

/// Serves `toml`'s flags with the admin API under `/admin/flags`.
pub(crate) fn serve(toml: &str) -> App {
    serve_gated(toml, None)
}

/// Like [`serve`]; with a gate, each admin request waits for a permit, so a
/// test can act between the CLI's request and its answer.
pub(crate) fn serve_gated(toml: &str, gate: Option<Arc<Semaphore>>) -> App {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flags.toml");
    std::fs::write(&path, toml).unwrap();
    let flags = Flags::from_file(&path).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let admin = flags.admin_router(AdminConfig::new().token("release-bot", TOKEN, Role::Write));
    let admin = match gate {
        Some(gate) => admin.layer(middleware::from_fn(move |req: Request, next: Next| {
            let gate = gate.clone();
            async move {
                gate.acquire().await.unwrap().forget();
                next.run(req).await
            }
        })),
        None => admin,
    };
    let app: Router = Router::new().nest("/admin/flags", admin);
    let addr = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr.to_string()
    });
    App {
        flags,
        url: format!("http://{addr}/admin/flags"),
        addr,
        path,
        _dir: dir,
        _runtime: runtime,
    }
}

/// The `flags` binary with `FLAGS_URL` and `FLAGS_TOKEN` set, and nothing
/// from the test's own environment that could change where it connects.
pub(crate) fn flags_command(url: &str, token: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flags"));
    command.env("FLAGS_URL", url).env("FLAGS_TOKEN", token);
    for proxy in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        command.env_remove(proxy);
    }
    command
}

/// Runs `flags ARGS...`: (exit code, stdout, stderr).
pub(crate) fn flags_cmd(url: &str, token: &str, args: &[&str]) -> (i32, String, String) {
    let out = flags_command(url, token).args(args).output().unwrap();
    decode(&out)
}

/// (exit code, stdout, stderr) of a finished run.
pub(crate) fn decode(out: &Output) -> (i32, String, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
