//! What the example reads from its environment: `FLAGS_FILE`,
//! `FLAGS_ADMIN_TOKEN`, `PORT`, and `UNLEASH_URL`, `UNLEASH_API_TOKEN`,
//! `UNLEASH_ADMIN_TOKEN`, `UNLEASH_CA_FILE`, `UNLEASH_CLIENT_CERT` and
//! `UNLEASH_CLIENT_KEY` to serve flags from an Unleash server instead.
//! Reading is pure (the variables come
//! through a lookup function), so every rule is tested without touching the
//! process environment.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::startup_error::StartupError;

/// The admin token used when `FLAGS_ADMIN_TOKEN` is not set. The README
/// names it; it is for trying the example on your own machine only.
pub const DEMO_TOKEN: &str = "demo-admin-token";

/// The shortest `FLAGS_ADMIN_TOKEN` accepted, as the library's
/// `AdminConfig::from_env` asks of its secrets.
pub const MIN_TOKEN_LEN: usize = 16;

/// The port served when `PORT` is not set.
pub const DEFAULT_PORT: u16 = 3000;

/// Where the flags file comes from when `FLAGS_FILE` is not set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaults {
    /// The flags file shipped with the example (tracked by git, never written).
    pub shipped: PathBuf,
    /// The working copy made from it on first run, which the example
    /// watches and writes to.
    pub working_copy: PathBuf,
}

impl Defaults {
    /// This checkout's: `examples/flags.toml`, copied to
    /// `target/flags-example/flags.toml` (under the workspace's `target/`,
    /// which git ignores, so running the example leaves the tree clean).
    pub fn for_this_checkout() -> Defaults {
        let examples = Path::new(env!("CARGO_MANIFEST_DIR"));
        let workspace = examples.parent().unwrap_or(examples);
        Defaults {
            shipped: examples.join("flags.toml"),
            working_copy: workspace
                .join("target")
                .join("flags-example")
                .join("flags.toml"),
        }
    }
}

/// Which flags file the example serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagsFile {
    /// The file `FLAGS_FILE` names, used as it is.
    FromEnv(PathBuf),
    /// A working copy of the shipped file, made on first run if missing.
    WorkingCopy {
        /// The copy the example watches and writes to.
        path: PathBuf,
        /// The shipped file it is copied from.
        shipped: PathBuf,
    },
}

impl FlagsFile {
    /// The file the example loads, watches and writes to.
    pub fn path(&self) -> &Path {
        match self {
            FlagsFile::FromEnv(path) | FlagsFile::WorkingCopy { path, .. } => path,
        }
    }
}

/// The admin API's write token. Its `Debug` never shows a supplied secret.
#[derive(Clone, PartialEq, Eq)]
pub enum AdminToken {
    /// [`DEMO_TOKEN`], because `FLAGS_ADMIN_TOKEN` is not set.
    Demo,
    /// The secret from `FLAGS_ADMIN_TOKEN`.
    Supplied(String),
}

impl AdminToken {
    /// The secret requests must bear.
    pub fn secret(&self) -> &str {
        match self {
            AdminToken::Demo => DEMO_TOKEN,
            AdminToken::Supplied(secret) => secret,
        }
    }

    /// Where the token came from, for the startup banner: the demo token
    /// itself (it is in the README for anyone to read), never a supplied
    /// secret.
    pub fn describe(&self) -> &'static str {
        match self {
            AdminToken::Demo => {
                "the README's demo token `demo-admin-token` (set FLAGS_ADMIN_TOKEN, \
                 16 characters or more, for anything but your own machine)"
            }
            AdminToken::Supplied(_) => "the token in FLAGS_ADMIN_TOKEN",
        }
    }
}

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdminToken::Demo => f.write_str("Demo"),
            AdminToken::Supplied(_) => f.write_str("Supplied(<hidden>)"),
        }
    }
}

/// The example's settings, read from its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `FLAGS_FILE`, or a working copy of the shipped file.
    pub flags_file: FlagsFile,
    /// `FLAGS_ADMIN_TOKEN`, or the demo token.
    pub token: AdminToken,
    /// `PORT`, or 3000.
    pub port: u16,
    /// `UNLEASH_URL` and its tokens: flags from an Unleash server instead of
    /// the file.
    pub unleash: Option<UnleashSettings>,
}

/// Where the flags come from when `UNLEASH_URL` is set. Its `Debug` never
/// shows a token.
#[derive(Clone, PartialEq, Eq)]
pub struct UnleashSettings {
    /// `UNLEASH_URL`: the API root, as Unleash's SDKs take it
    /// (`http://localhost:4242/api`).
    pub url: String,
    /// `UNLEASH_API_TOKEN`: a backend (client) token.
    pub api_token: String,
    /// `UNLEASH_ADMIN_TOKEN`: lets the rollout guard's kill reach Unleash.
    pub admin_token: Option<String>,
    /// `UNLEASH_CA_FILE`: a PEM file of the private CA that signed an https
    /// Unleash's certificate (Mozilla's roots are trusted without it).
    pub ca_file: Option<PathBuf>,
    /// `UNLEASH_CLIENT_CERT` and `UNLEASH_CLIENT_KEY`: the PEM files of the
    /// client certificate (chain) and its key, for an Unleash behind a
    /// proxy that admits only clients with a certificate (mutual TLS).
    pub client_cert: Option<ClientCert>,
}

/// A client certificate and its key, as two PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCert {
    /// `UNLEASH_CLIENT_CERT`: the certificate, then any intermediates.
    pub cert: PathBuf,
    /// `UNLEASH_CLIENT_KEY`: its private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

impl fmt::Debug for UnleashSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnleashSettings")
            .field("url", &self.url)
            .field(
                "admin_token",
                &self.admin_token.as_ref().map(|_| "<hidden>"),
            )
            .field("ca_file", &self.ca_file)
            .field("client_cert", &self.client_cert)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// Reads the process environment.
    ///
    /// # Errors
    /// As [`Settings::from_vars`].
    pub fn from_env(defaults: &Defaults) -> Result<Settings, StartupError> {
        Settings::from_vars(|name| std::env::var_os(name), defaults)
    }

    /// Reads the variables `var` returns.
    ///
    /// # Errors
    /// An empty `FLAGS_FILE`; a `FLAGS_ADMIN_TOKEN` that is empty, shorter than
    /// [`MIN_TOKEN_LEN`] or holds characters a bearer token cannot carry
    /// (it would be refused, or never match, with no word said); a `PORT`
    /// that is not a port number; a variable that is not UTF-8.
    pub fn from_vars(
        var: impl Fn(&str) -> Option<OsString>,
        defaults: &Defaults,
    ) -> Result<Settings, StartupError> {
        let flags_file = match var("FLAGS_FILE") {
            Some(path) if path.is_empty() => {
                return Err(setting(
                    "FLAGS_FILE",
                    "is set but empty; unset it to use a working copy of the shipped flags",
                ))
            }
            Some(path) => FlagsFile::FromEnv(PathBuf::from(path)),
            None => FlagsFile::WorkingCopy {
                path: defaults.working_copy.clone(),
                shipped: defaults.shipped.clone(),
            },
        };
        let token = match var("FLAGS_ADMIN_TOKEN") {
            None => AdminToken::Demo,
            Some(secret) => AdminToken::Supplied(check_token(utf8("FLAGS_ADMIN_TOKEN", secret)?)?),
        };
        let port = match var("PORT") {
            None => DEFAULT_PORT,
            Some(port) => {
                let port = utf8("PORT", port)?;
                port.trim().parse().map_err(|_| {
                    setting(
                        "PORT",
                        format!("`{port}` is not a port number (0 to 65535)"),
                    )
                })?
            }
        };
        Ok(Settings {
            flags_file,
            token,
            port,
            unleash: unleash_settings(&var)?,
        })
    }
}

/// `UNLEASH_URL` with `UNLEASH_API_TOKEN` (and optionally
/// `UNLEASH_ADMIN_TOKEN`), or none of them.
fn unleash_settings(
    var: &impl Fn(&str) -> Option<OsString>,
) -> Result<Option<UnleashSettings>, StartupError> {
    let read = |name: &'static str| -> Result<Option<String>, StartupError> {
        match var(name) {
            None => Ok(None),
            Some(v) => {
                let v = utf8(name, v)?;
                if v.trim().is_empty() {
                    Err(setting(name, "is set but empty"))
                } else {
                    Ok(Some(v.trim().to_owned()))
                }
            }
        }
    };
    let url = read("UNLEASH_URL")?;
    let api_token = read("UNLEASH_API_TOKEN")?;
    let admin_token = read("UNLEASH_ADMIN_TOKEN")?;
    let ca_file = read("UNLEASH_CA_FILE")?.map(PathBuf::from);
    let client_cert = match (read("UNLEASH_CLIENT_CERT")?, read("UNLEASH_CLIENT_KEY")?) {
        (Some(cert), Some(key)) => Some(ClientCert {
            cert: cert.into(),
            key: key.into(),
        }),
        (Some(_), None) => {
            return Err(setting(
                "UNLEASH_CLIENT_KEY",
                "is not set; UNLEASH_CLIENT_CERT needs the certificate's private key",
            ))
        }
        (None, Some(_)) => {
            return Err(setting(
                "UNLEASH_CLIENT_CERT",
                "is not set; UNLEASH_CLIENT_KEY needs the certificate it belongs to",
            ))
        }
        (None, None) => None,
    };
    match (url, api_token) {
        (Some(url), Some(api_token)) => Ok(Some(UnleashSettings {
            url,
            api_token,
            admin_token,
            ca_file,
            client_cert,
        })),
        (Some(_), None) => Err(setting(
            "UNLEASH_API_TOKEN",
            "is not set; UNLEASH_URL needs a backend (client) token",
        )),
        (None, Some(_)) => Err(setting(
            "UNLEASH_URL",
            "is not set; set it to Unleash's API root, e.g. http://localhost:4242/api",
        )),
        (None, None) if admin_token.is_some() => Err(setting(
            "UNLEASH_URL",
            "is not set, but UNLEASH_ADMIN_TOKEN is",
        )),
        (None, None) if ca_file.is_some() => {
            Err(setting("UNLEASH_URL", "is not set, but UNLEASH_CA_FILE is"))
        }
        (None, None) if client_cert.is_some() => Err(setting(
            "UNLEASH_URL",
            "is not set, but UNLEASH_CLIENT_CERT is",
        )),
        (None, None) => Ok(None),
    }
}

/// Refuses a secret the admin API could never accept, saying why. The
/// secret itself is never part of the message.
fn check_token(secret: String) -> Result<String, StartupError> {
    let var = "FLAGS_ADMIN_TOKEN";
    if secret.is_empty() {
        return Err(setting(
            var,
            format!(
                "is set but empty, so every admin request would be refused; \
                 set a random secret of {MIN_TOKEN_LEN} characters or more, or unset it \
                 to use the demo token"
            ),
        ));
    }
    // Bearer tokens travel in a header and are compared after trimming: a
    // space or control character would make the token unusable.
    if !secret.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(setting(
            var,
            "holds a space, a control or a non-ASCII character; use printable ASCII only",
        ));
    }
    let len = secret.len();
    if len < MIN_TOKEN_LEN {
        return Err(setting(
            var,
            format!(
                "is {len} characters long; use a random secret of {MIN_TOKEN_LEN} characters \
                 or more"
            ),
        ));
    }
    Ok(secret)
}

fn utf8(var: &'static str, value: OsString) -> Result<String, StartupError> {
    value
        .into_string()
        .map_err(|_| setting(var, "is not valid UTF-8"))
}

fn setting(var: &'static str, message: impl Into<String>) -> StartupError {
    StartupError::Setting {
        var,
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn defaults() -> Defaults {
        Defaults {
            shipped: "shipped/flags.toml".into(),
            working_copy: "work/flags.toml".into(),
        }
    }

    fn read(vars: &[(&str, &str)]) -> Result<Settings, StartupError> {
        let vars: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        Settings::from_vars(|name| vars.get(name).cloned(), &defaults())
    }

    #[test]
    fn without_variables_a_working_copy_the_demo_token_and_port_3000() {
        let s = read(&[]).unwrap();
        assert_eq!(
            s.flags_file,
            FlagsFile::WorkingCopy {
                path: "work/flags.toml".into(),
                shipped: "shipped/flags.toml".into()
            }
        );
        assert_eq!(s.token, AdminToken::Demo);
        assert_eq!(s.token.secret(), DEMO_TOKEN);
        assert_eq!(s.port, 3000);
    }

    #[test]
    fn flags_file_and_port_come_from_the_environment() {
        let s = read(&[("FLAGS_FILE", "/srv/flags.toml"), ("PORT", "8080")]).unwrap();
        assert_eq!(s.flags_file, FlagsFile::FromEnv("/srv/flags.toml".into()));
        assert_eq!(s.flags_file.path(), Path::new("/srv/flags.toml"));
        assert_eq!(s.port, 8080);
    }

    #[test]
    fn bad_values_are_refused_naming_the_variable() {
        for (vars, says) in [
            (vec![("FLAGS_ADMIN_TOKEN", "")], "empty"),
            (vec![("FLAGS_ADMIN_TOKEN", "short-secret")], "12 characters"),
            (vec![("FLAGS_ADMIN_TOKEN", "a secret with spaces")], "space"),
            (vec![("FLAGS_ADMIN_TOKEN", " 0123456789abcdef")], "space"),
            (vec![("FLAGS_FILE", "")], "empty"),
            (vec![("PORT", "http")], "not a port number"),
            (vec![("PORT", "70000")], "not a port number"),
        ] {
            let err = read(&vars).unwrap_err().to_string();
            assert!(err.starts_with(vars[0].0), "{vars:?}: {err}");
            assert!(err.contains(says), "{vars:?}: {err}");
        }
    }

    #[test]
    fn a_supplied_token_is_used_and_never_shown() {
        let secret = "0123456789abcdef-very-secret";
        let s = read(&[("FLAGS_ADMIN_TOKEN", secret)]).unwrap();
        assert_eq!(s.token.secret(), secret);
        for shown in [
            format!("{s:?}"),
            format!("{:?}", s.token),
            s.token.describe().to_owned(),
        ] {
            assert!(!shown.contains(secret), "{shown}");
        }
        // Nor a refused one (a short secret is still someone's secret).
        let err = read(&[("FLAGS_ADMIN_TOKEN", "hunter2")]).unwrap_err();
        assert!(!format!("{err} {err:?}").contains("hunter2"), "{err}");
    }

    #[test]
    fn unleash_variables_switch_the_source_and_hide_their_tokens() {
        assert_eq!(read(&[]).unwrap().unleash, None);
        let s = read(&[
            ("UNLEASH_URL", "http://localhost:4242/api"),
            ("UNLEASH_API_TOKEN", "default:development.secret-client"),
            ("UNLEASH_ADMIN_TOKEN", "*:*.secret-admin"),
            ("UNLEASH_CA_FILE", "/etc/ssl/internal-ca.pem"),
            ("UNLEASH_CLIENT_CERT", "/etc/ssl/checkout.crt"),
            ("UNLEASH_CLIENT_KEY", "/etc/ssl/checkout.key"),
        ])
        .unwrap();
        let u = s.unleash.clone().unwrap();
        assert_eq!(u.url, "http://localhost:4242/api");
        assert_eq!(u.admin_token.as_deref(), Some("*:*.secret-admin"));
        assert_eq!(
            u.ca_file.as_deref(),
            Some(Path::new("/etc/ssl/internal-ca.pem"))
        );
        assert_eq!(
            u.client_cert,
            Some(ClientCert {
                cert: "/etc/ssl/checkout.crt".into(),
                key: "/etc/ssl/checkout.key".into(),
            })
        );
        assert!(!format!("{s:?}").contains("secret"), "{s:?}");
        let u = read(&[("UNLEASH_URL", "http://u/api"), ("UNLEASH_API_TOKEN", "t")])
            .unwrap()
            .unleash
            .unwrap();
        assert_eq!(u.client_cert, None);
        for (vars, var) in [
            (vec![("UNLEASH_URL", "http://u/api")], "UNLEASH_API_TOKEN"),
            (vec![("UNLEASH_API_TOKEN", "t")], "UNLEASH_URL"),
            (vec![("UNLEASH_ADMIN_TOKEN", "t")], "UNLEASH_URL"),
            (vec![("UNLEASH_CA_FILE", "/ca.pem")], "UNLEASH_URL"),
            (
                vec![
                    ("UNLEASH_CLIENT_CERT", "/c.crt"),
                    ("UNLEASH_CLIENT_KEY", "/c.key"),
                ],
                "UNLEASH_URL",
            ),
            (
                vec![
                    ("UNLEASH_URL", "http://u/api"),
                    ("UNLEASH_API_TOKEN", "t"),
                    ("UNLEASH_CLIENT_CERT", "/c.crt"),
                ],
                "UNLEASH_CLIENT_KEY",
            ),
            (
                vec![
                    ("UNLEASH_URL", "http://u/api"),
                    ("UNLEASH_API_TOKEN", "t"),
                    ("UNLEASH_CLIENT_KEY", "/c.key"),
                ],
                "UNLEASH_CLIENT_CERT",
            ),
            (
                vec![("UNLEASH_URL", " "), ("UNLEASH_API_TOKEN", "t")],
                "UNLEASH_URL",
            ),
        ] {
            let err = read(&vars).unwrap_err().to_string();
            assert!(err.starts_with(var), "{vars:?}: {err}");
        }
    }

    #[test]
    fn the_default_working_copy_is_under_the_ignored_target_dir() {
        let d = Defaults::for_this_checkout();
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        assert!(d.shipped.is_file(), "{}", d.shipped.display());
        assert!(
            d.working_copy.starts_with(workspace.join("target")),
            "{}",
            d.working_copy.display()
        );
        let gitignore = std::fs::read_to_string(workspace.join(".gitignore")).unwrap();
        assert!(
            gitignore.lines().any(|l| l.trim() == "/target"),
            "{gitignore}"
        );
    }
}
