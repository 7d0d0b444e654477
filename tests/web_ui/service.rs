//! The example's service (its very router) on a loopback port, with a
//! write and a read token, and a small HTTP client to check what the page
//! did from the outside.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::http::StatusCode;
use axum::Router;
use flags_examples::checkout_app::app;
use flags_middleware::admin::{AdminConfig, Role};
use flags_middleware::guard::{Guard, GuardTask};
use flags_middleware::Flags;
use serde_json::Value;

use crate::loopback::{self, HttpClient};

pub const WRITE_TOKEN: &str = "web-ui-write-token-0123";
pub const READ_TOKEN: &str = "web-ui-read-token-45678";

pub struct Service {
    pub addr: SocketAddr,
    pub flags: Flags,
    pub file: PathBuf,
    client: HttpClient,
    _dir: tempfile::TempDir,
    _guard: Option<GuardTask>,
}

pub fn admin(guard: Option<Guard>) -> AdminConfig {
    let config = AdminConfig::new()
        .token("ops", WRITE_TOKEN, Role::Write)
        .token("viewer", READ_TOKEN, Role::Read);
    match guard {
        Some(g) => config.guard(g),
        None => config,
    }
}

impl Service {
    /// The checkout example on a working copy of `examples/flags.toml`
    /// (plus `extra` TOML), with its rollout guard.
    pub async fn checkout(extra: &str) -> Service {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("flags.toml");
        let shipped = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../examples/flags.toml"
        ))
        .unwrap();
        std::fs::write(&file, format!("{shipped}\n{extra}")).unwrap();
        let flags = Flags::from_file(&file).unwrap();
        let guard = Guard::for_flags(&flags).build();
        let task = guard.spawn();
        let router = app(flags.clone(), admin(Some(guard)));
        Service::serve(router, flags, file, dir, Some(task)).await
    }

    /// Only the admin router, nested as the example nests it, over `toml`.
    pub async fn admin_only(toml: &str) -> Service {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("flags.toml");
        std::fs::write(&file, toml).unwrap();
        let flags = Flags::from_file(&file).unwrap();
        let router = Router::new().nest_service("/admin/flags", flags.admin_router(admin(None)));
        Service::serve(router, flags, file, dir, None).await
    }

    async fn serve(
        router: Router,
        flags: Flags,
        file: PathBuf,
        dir: tempfile::TempDir,
        guard: Option<GuardTask>,
    ) -> Service {
        let addr = loopback::serve(router).await;
        Service {
            addr,
            flags,
            file,
            client: HttpClient::new(addr),
            _dir: dir,
            _guard: guard,
        }
    }

    /// The page, as a browser opens it: the admin root.
    pub fn page(&self) -> String {
        format!("http://{}/admin/flags/", self.addr)
    }

    /// The response itself, for its headers.
    pub async fn send_raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> axum::http::Response<hyper::body::Incoming> {
        self.client.send_raw(method, path, headers, "").await
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (StatusCode, String) {
        self.client.send(method, path, headers, body).await
    }

    /// An admin API call with `token`; the status and the JSON body.
    pub async fn admin(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: &str,
    ) -> (StatusCode, Value) {
        let auth = format!("Bearer {token}");
        let (status, text) = self
            .send(
                method,
                &format!("/admin/flags{path}"),
                &[("authorization", &auth)],
                body,
            )
            .await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Which checkout `user` gets from the product endpoint.
    pub async fn checkout_for(&self, user: &str) -> String {
        let (status, body) = self
            .send("GET", "/api/v1/products/42", &[("x-user-id", user)], "")
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        v["data"]["checkout"].as_str().unwrap().to_owned()
    }
}
