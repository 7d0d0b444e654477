//! The seed's service on the embedded default: flags from `examples/flags.toml`
//! (watched: save an edit and it is live within a second), the admin API under
//! `/admin/flags`, the rollout guard on the flags that ask for it (`guard =
//! true`), JSON decision logs on stdout.
//!
//! ```text
//! cargo run --example checkout
//! curl -H 'x-user-id: user_123' localhost:3000/api/v1/products/42
//! ```
//!
//! `PORT` sets the port (default 3000). `FLAGS_ADMIN_TOKEN` sets the admin
//! API's write token; without it the demo token `demo-admin-token` is used,
//! which is for trying this out on your own machine only.

use std::net::SocketAddr;
use std::path::Path;

use flags_examples::checkout_app::app;
use flags_middleware::admin::{AdminConfig, Role};
use flags_middleware::guard::Guard;
use flags_middleware::Flags;

const DEMO_TOKEN: &str = "demo-admin-token";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();

    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("flags.toml");
    let flags = Flags::from_file(&file).map_err(|e| format!("cannot load flags: {e}"))?;

    // The rollout guard watches the flags whose definition says `guard` or
    // `plan`, and turns a flag off when its new arm fails more than the old.
    let guard = Guard::for_flags(&flags).build();
    let _checks = guard.spawn();

    let token = std::env::var("FLAGS_ADMIN_TOKEN").unwrap_or_else(|_| DEMO_TOKEN.to_owned());
    let admin = AdminConfig::new()
        .token("admin", &token, Role::Write)
        .guard(guard);

    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    eprintln!("flags demo on http://{addr}  (flags: {})", file.display());
    eprintln!("admin API: http://{addr}/admin/flags  token: {token}");
    eprintln!("try: curl -H 'x-user-id: user_123' http://{addr}/api/v1/products/42");
    axum::serve(
        listener,
        app(flags, admin).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
