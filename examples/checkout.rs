//! The seed's service on the embedded default: flags from a TOML file
//! (watched: save an edit and it is live within a second), the admin API under
//! `/admin/flags`, the rollout guard on the flags that ask for it (`guard =
//! true`), JSON decision logs on stdout.
//!
//! ```text
//! cargo run --example checkout
//! curl -H 'x-user-id: user_123' localhost:3000/api/v1/products/42
//! ```
//!
//! - `FLAGS_FILE`: the flags file to serve (and write admin changes to). By
//!   default a working copy of `examples/flags.toml` that the first run makes
//!   at `target/flags-example/flags.toml`, so the shipped file stays as
//!   shipped; the path is printed at startup.
//! - The admin web page: open `http://127.0.0.1:3000/admin/flags/` in a
//!   browser and sign in with the admin token.
//! - `FLAGS_ADMIN_TOKEN`: the admin API's write token, 16 characters or more.
//!   Without it the README's demo token is used, which is for trying this out
//!   on your own machine only.
//! - `FLAGS_FRONTEND_TOKEN`, `FLAGS_CLIENT_TOKEN`: the tokens of Unleash's
//!   Frontend API (`/api/frontend`, for browsers) and client API
//!   (`/api/client`, for server SDKs); without them, `demo-frontend-token`
//!   and `demo-client-token`, for your own machine only. Never printed.
//! - `PORT`: the port on 127.0.0.1 (default 3000).
//! - `UNLEASH_URL` (Unleash's API root, e.g. `http://localhost:4242/api`) and
//!   `UNLEASH_API_TOKEN` (a backend token): serve the flags of an Unleash
//!   server instead of the file; `UNLEASH_ADMIN_TOKEN` (optional) lets the
//!   rollout guard's kill reach Unleash; `UNLEASH_CA_FILE` (optional) is the
//!   PEM file of a private CA that signed an https Unleash's certificate;
//!   `UNLEASH_CLIENT_CERT` and `UNLEASH_CLIENT_KEY` (optional, together) are
//!   the PEM files of a client certificate and its key, for an Unleash that
//!   admits only clients with one.

use std::net::SocketAddr;

use flags_examples::checkout_app::app_with_sdk_apis;
use flags_examples::sdk_tokens::SdkTokens;
use flags_examples::settings::{Defaults, Settings};
use flags_examples::startup::{prepare, prepare_unleash};
use flags_examples::startup_error::StartupError;

// `StartupError`'s `Debug` is its readable report, which is what `main`
// prints when it returns an error.
#[tokio::main]
async fn main() -> Result<(), StartupError> {
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();

    let settings = Settings::from_env(&Defaults::for_this_checkout())?;
    let prepared = match &settings.unleash {
        Some(unleash) => prepare_unleash(&settings, unleash).await?,
        None => prepare(&settings)?,
    };
    let sdk_tokens = SdkTokens::from_env()?;

    let addr = SocketAddr::from(([127, 0, 0, 1], settings.port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartupError::Listen { addr, source })?;
    let addr = listener.local_addr().unwrap_or(addr);
    eprintln!("{}", prepared.banner(&settings, addr));
    // Where the tokens come from, never the tokens.
    eprintln!(
        "Unleash SDK APIs: http://{addr}/api/frontend (browsers, FLAGS_FRONTEND_TOKEN) and \
         http://{addr}/api/client (server SDKs, FLAGS_CLIENT_TOKEN); unset, the README's demo tokens"
    );

    let router = app_with_sdk_apis(
        prepared.flags.clone(),
        prepared.admin.clone(),
        Some(settings.token.secret()),
        &sdk_tokens,
    );
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
    .map_err(StartupError::Serve)
}
