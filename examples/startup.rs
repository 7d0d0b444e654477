//! Everything the example does before it serves: make the working copy of
//! the shipped flags file (on first run), load and watch the flags, start
//! the rollout guard and configure the admin API. The walk-through test
//! starts the service through here too, so it runs what `main` runs.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use flags_middleware::admin::{AdminConfig, Role};
use std::time::Duration;

use flags_middleware::guard::{Guard, GuardBuilder, GuardConfig, GuardTask};
use flags_middleware::store::UnleashConfig;
use flags_middleware::Flags;

use crate::settings::{FlagsFile, Settings, UnleashSettings};
use crate::startup_error::StartupError;

/// The service's parts, ready to serve.
#[derive(Debug)]
pub struct Prepared {
    /// The flags, loaded from the file and watched.
    pub flags: Flags,
    /// The admin API's configuration: the write token and the guard.
    pub admin: AdminConfig,
    /// The file the flags come from (and admin writes go to).
    pub flags_file: PathBuf,
    /// What happened to the flags file, for the banner.
    pub origin: Origin,
    /// The guard's checks; they stop when this is dropped.
    pub guard_checks: GuardTask,
}

/// Where the served flags file came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `FLAGS_FILE` named it.
    FromEnv,
    /// A working copy of the shipped file, made by this run.
    CopyMade {
        /// The shipped file.
        shipped: PathBuf,
    },
    /// A working copy of the shipped file made by an earlier run.
    CopyKept {
        /// The shipped file.
        shipped: PathBuf,
    },
    /// An Unleash server (`UNLEASH_URL`); `flags_file` is then its
    /// last-known-good file.
    Unleash {
        /// The API root.
        url: String,
        /// Whether the rollout guard's kill reaches Unleash.
        admin_token: bool,
    },
}

/// Makes the working copy if needed, loads and watches the flags, spawns
/// the rollout guard. Call it inside a tokio runtime.
///
/// # Errors
/// When the working copy cannot be made or the flags file cannot be loaded.
pub fn prepare(settings: &Settings) -> Result<Prepared, StartupError> {
    let origin = match &settings.flags_file {
        FlagsFile::FromEnv(_) => Origin::FromEnv,
        FlagsFile::WorkingCopy { path, shipped } => {
            if path.exists() {
                Origin::CopyKept {
                    shipped: shipped.clone(),
                }
            } else {
                copy_shipped(shipped, path).map_err(|source| StartupError::WorkingCopy {
                    shipped: shipped.clone(),
                    path: path.clone(),
                    source,
                })?;
                Origin::CopyMade {
                    shipped: shipped.clone(),
                }
            }
        }
    };
    let flags_file = settings.flags_file.path().to_owned();
    let flags = Flags::from_file(&flags_file).map_err(|errors| StartupError::Flags {
        path: flags_file.clone(),
        errors,
    })?;

    // The rollout guard watches the flags whose definition says `guard` or
    // `plan`, and turns a flag off when its new arm fails more than the old.
    let guard = Guard::for_flags(&flags);
    Ok(with_guard(settings, guard, flags, flags_file, origin))
}

/// The rollout guard and the admin API around `flags`.
fn with_guard(
    settings: &Settings,
    guard: GuardBuilder,
    flags: Flags,
    flags_file: PathBuf,
    origin: Origin,
) -> Prepared {
    let guard = guard.build();
    let guard_checks = guard.spawn();
    let admin = AdminConfig::new()
        .token("admin", settings.token.secret(), Role::Write)
        .guard(guard);
    Prepared {
        flags,
        admin,
        flags_file,
        origin,
        guard_checks,
    }
}

/// [`prepare`] with `UNLEASH_URL` set: the flags come from Unleash (read-only
/// here; the admin API answers 409 to changes), with a last-known-good file
/// beside the flags file (`unleash.last-good.json`) so a restart while
/// Unleash is down serves the last flags. Waits up to 5 s for Unleash's
/// first answer, then serves what it has and keeps asking.
///
/// # Errors
/// A bad `UNLEASH_URL` or a token Unleash refuses.
pub async fn prepare_unleash(
    settings: &Settings,
    unleash: &UnleashSettings,
) -> Result<Prepared, StartupError> {
    let fail = |message: String| StartupError::Unleash {
        url: unleash.url.clone(),
        message,
    };
    let last_good = settings
        .flags_file
        .path()
        .with_file_name("unleash.last-good.json");
    if let Some(dir) = last_good.parent() {
        std::fs::create_dir_all(dir).map_err(|e| fail(format!("{}: {e}", dir.display())))?;
    }
    let mut config = UnleashConfig::new(&unleash.url, &unleash.api_token)
        .map_err(|e| fail(e.to_string()))?
        .app_name("checkout-example")
        .last_known_good(&last_good);
    if let Some(token) = &unleash.admin_token {
        config = config.admin_token(token);
    }
    if let Some(ca) = &unleash.ca_file {
        config = config
            .root_certificate(ca)
            .map_err(|e| fail(e.to_string()))?;
    }
    if let Some(client) = &unleash.client_cert {
        config = config
            .client_certificate(&client.cert, &client.key)
            .map_err(|e| fail(e.to_string()))?;
    }
    let flags = Flags::from_unleash(config)
        .await
        .map_err(|e| fail(e.to_string()))?;
    if let Err(e) = flags.wait_until_ready(Duration::from_secs(5)).await {
        if flags.status().remote.is_some_and(|r| !r.polling) {
            return Err(fail(e.to_string()));
        }
        tracing::warn!(error = %e, "serving the last-known-good flags until Unleash answers");
    }
    let origin = Origin::Unleash {
        url: unleash.url.clone(),
        admin_token: unleash.admin_token.is_some(),
    };
    // Flags from Unleash carry no `guard` setting: the guarded flag is named here.
    let guard = Guard::for_flags(&flags).watch("new_checkout_flow", GuardConfig::default());
    Ok(with_guard(settings, guard, flags, last_good, origin))
}

/// Copies through a temporary file and a rename, so an interrupted first
/// run never leaves a half-copied file that the next run would keep.
fn copy_shipped(shipped: &Path, path: &Path) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("toml.copying");
    std::fs::copy(shipped, &tmp)?;
    std::fs::rename(&tmp, path)
}

impl Prepared {
    /// What the example prints when it starts: where it serves, which flags
    /// file it edits, how the admin API is authenticated (the README's demo token,
    /// never a supplied secret).
    pub fn banner(&self, settings: &Settings, addr: SocketAddr) -> String {
        let file = self.flags_file.display();
        if let Origin::Unleash { url, admin_token } = &self.origin {
            let guard = if *admin_token {
                "the rollout guard's kill goes to Unleash (UNLEASH_ADMIN_TOKEN)"
            } else {
                "the rollout guard's kill holds here only until Unleash's next change \
                 (set UNLEASH_ADMIN_TOKEN to make it in Unleash)"
            };
            return format!(
                "flags demo on http://{addr}\n\
                 flags from Unleash: {url} (change them in Unleash; {guard})\n\
                 last-known-good file: {file}\n\
                 admin API: http://{addr}/admin/flags, with {}\n\
                 try: curl -H 'x-user-id: user_123' http://{addr}/api/v1/products/42",
                settings.token.describe()
            );
        }
        let origin = match &self.origin {
            Origin::FromEnv => "from FLAGS_FILE".to_owned(),
            Origin::CopyMade { shipped } => format!(
                "a working copy of {}, made now; delete it to start over, \
                 or set FLAGS_FILE to serve another file",
                shipped.display()
            ),
            Origin::CopyKept { shipped } => format!(
                "a working copy of {}, kept from an earlier run; delete it to start over, \
                 or set FLAGS_FILE to serve another file",
                shipped.display()
            ),
            Origin::Unleash { .. } => String::new(),
        };
        format!(
            "flags demo on http://{addr}\n\
             flags file: {file}\n  ({origin})\n\
             admin API: http://{addr}/admin/flags, with {}\n\
             web page: http://{addr}/admin/flags/ in a browser (sign in with the admin token)\n\
             try: curl -H 'x-user-id: user_123' http://{addr}/api/v1/products/42",
            settings.token.describe()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{AdminToken, Defaults};
    use flags_middleware::edit::Edit;
    use flags_middleware::Context;

    const SHIPPED: &str = "# shipped\n[legacy_api]\ndescription = \"on for everyone\"\n";

    fn in_dir(dir: &Path) -> Defaults {
        let shipped = dir.join("shipped.toml");
        std::fs::write(&shipped, SHIPPED).unwrap();
        Defaults {
            shipped,
            working_copy: dir.join("work").join("flags.toml"),
        }
    }

    fn settings(defaults: &Defaults, vars: &[(&str, &str)]) -> Settings {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_vars(
            |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.into()),
            defaults,
        )
        .unwrap()
    }

    #[tokio::test]
    async fn the_first_run_copies_the_shipped_file_and_writes_only_to_the_copy() {
        let dir = tempfile::tempdir().unwrap();
        let defaults = in_dir(dir.path());
        let s = settings(&defaults, &[]);

        let first = prepare(&s).unwrap();
        assert_eq!(first.flags_file, defaults.working_copy);
        assert!(matches!(first.origin, Origin::CopyMade { .. }));
        first
            .flags
            .writer("test")
            .commit(Edit::kill("legacy_api"))
            .await
            .unwrap();
        drop(first);

        let second = prepare(&s).unwrap();
        assert!(matches!(second.origin, Origin::CopyKept { .. }));
        assert!(!second.flags.is_enabled("legacy_api", &Context::new()));
        assert_eq!(std::fs::read_to_string(&defaults.shipped).unwrap(), SHIPPED);
        let mut beside_shipped: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        beside_shipped.sort();
        assert_eq!(
            beside_shipped,
            ["shipped.toml", "work"],
            "no audit log, no temp file"
        );
    }

    #[tokio::test]
    async fn flags_file_serves_the_named_file_and_a_broken_one_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let defaults = in_dir(dir.path());
        let broken = dir.path().join("broken.toml");
        std::fs::write(&broken, "[new_checkout_flow]\nrollout = 150\n").unwrap();
        let s = settings(&defaults, &[("FLAGS_FILE", broken.to_str().unwrap())]);

        let err = prepare(&s).unwrap_err();
        let report = format!("{err:?}");
        let file = broken.display();
        assert!(
            report.starts_with(&format!("cannot load the flags in {file}:\n{file}:2:")),
            "{report}"
        );
        assert!(
            report.contains("flag `new_checkout_flow`, field `rollout`"),
            "{report}"
        );
        assert!(
            report.ends_with(&format!("\n{file}: 1 error(s)")),
            "{report}"
        );
        assert!(
            !defaults.working_copy.exists(),
            "no copy when FLAGS_FILE is set"
        );
    }

    #[tokio::test]
    async fn the_banner_says_where_the_flags_are_and_never_shows_a_supplied_token() {
        let dir = tempfile::tempdir().unwrap();
        let defaults = in_dir(dir.path());
        let addr: SocketAddr = "127.0.0.1:3000".parse().unwrap();

        let demo = settings(&defaults, &[]);
        let banner = prepare(&demo).unwrap().banner(&demo, addr);
        assert!(
            banner.contains(&defaults.working_copy.display().to_string()),
            "{banner}"
        );
        assert!(banner.contains("working copy of"), "{banner}");
        // The demo token is the README's: shown, so a newcomer can paste it.
        assert!(banner.contains("demo token"), "{banner}");
        assert!(banner.contains(AdminToken::Demo.secret()), "{banner}");

        let secret = "a-supplied-secret-0123456789";
        let own = settings(&defaults, &[("FLAGS_ADMIN_TOKEN", secret)]);
        let banner = prepare(&own).unwrap().banner(&own, addr);
        assert!(banner.contains("FLAGS_ADMIN_TOKEN"), "{banner}");
        assert!(!banner.contains(secret), "{banner}");
    }

    /// A stand-in for Unleash's client API: 200 with one flag, or `status`.
    async fn fake_unleash(status: u16) -> String {
        use axum::http::StatusCode;
        use axum::response::IntoResponse;
        let app = axum::Router::new().route(
            "/api/client/features",
            axum::routing::get(move || async move {
                if status != 200 {
                    return StatusCode::from_u16(status).unwrap().into_response();
                }
                let body = r#"{"version": 2, "features": [{"name": "new_checkout_flow",
                    "enabled": true, "strategies": [{"name": "default"}]}]}"#;
                ([("etag", "\"x\"")], body).into_response()
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/api", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    }

    #[tokio::test]
    async fn unleash_url_serves_flags_from_unleash_and_a_refused_token_stops_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let defaults = in_dir(dir.path());
        let url = fake_unleash(200).await;
        let s = settings(
            &defaults,
            &[("UNLEASH_URL", &url), ("UNLEASH_API_TOKEN", "client-token")],
        );
        let prepared = prepare_unleash(&s, s.unleash.as_ref().unwrap())
            .await
            .unwrap();
        let ctx = Context::new().user_id("u1");
        assert!(prepared.flags.is_enabled("new_checkout_flow", &ctx));
        let last_good = defaults
            .working_copy
            .with_file_name("unleash.last-good.json");
        assert_eq!(prepared.flags_file, last_good);
        let addr: SocketAddr = "127.0.0.1:3000".parse().unwrap();
        let banner = prepared.banner(&s, addr);
        assert!(
            banner.contains(&format!("flags from Unleash: {url}")),
            "{banner}"
        );
        assert!(banner.contains("UNLEASH_ADMIN_TOKEN"), "{banner}");
        assert!(!defaults.working_copy.exists(), "no flags file copied");

        let refused = fake_unleash(401).await;
        let s = settings(
            &defaults,
            &[
                ("UNLEASH_URL", &refused),
                ("UNLEASH_API_TOKEN", "wrong-token"),
            ],
        );
        let err = prepare_unleash(&s, s.unleash.as_ref().unwrap())
            .await
            .unwrap_err();
        let report = format!("{err:?}");
        assert!(report.contains("refused the token"), "{report}");
        assert!(!report.contains("wrong-token"), "{report}");
    }

    #[tokio::test]
    async fn a_client_certificate_that_cannot_be_used_stops_the_start_naming_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let defaults = in_dir(dir.path());
        let url = fake_unleash(200).await;
        let cert = dir.path().join("checkout.crt");
        std::fs::write(&cert, "not a certificate").unwrap();
        let missing_key = dir.path().join("checkout.key");
        let s = settings(
            &defaults,
            &[
                ("UNLEASH_URL", &url),
                ("UNLEASH_API_TOKEN", "client-token"),
                ("UNLEASH_CLIENT_CERT", cert.to_str().unwrap()),
                ("UNLEASH_CLIENT_KEY", missing_key.to_str().unwrap()),
            ],
        );
        let err = prepare_unleash(&s, s.unleash.as_ref().unwrap())
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("checkout.crt"), "{err}");
    }
}
