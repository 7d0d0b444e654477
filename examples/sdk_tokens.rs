//! The tokens of the Unleash SDK APIs the example serves: the Frontend API
//! (`FLAGS_FRONTEND_TOKEN`, for browsers) and the client API
//! (`FLAGS_CLIENT_TOKEN`, for server SDKs of other services). Their `Debug`
//! never shows a secret, and the banner never prints one.

use std::ffi::OsString;
use std::fmt;

use crate::startup_error::StartupError;

/// The Frontend API token used when `FLAGS_FRONTEND_TOKEN` is not set: for
/// trying the example on your own machine only.
pub const DEMO_FRONTEND_TOKEN: &str = "demo-frontend-token";
/// The client API token used when `FLAGS_CLIENT_TOKEN` is not set: for
/// trying the example on your own machine only.
pub const DEMO_CLIENT_TOKEN: &str = "demo-client-token";

/// The two SDK tokens.
#[derive(Clone, PartialEq, Eq)]
pub struct SdkTokens {
    /// Read by browsers (and mobile apps): answers for one user.
    pub frontend: String,
    /// Read by server SDKs: the flag definitions.
    pub client: String,
}

impl SdkTokens {
    /// The demo tokens.
    pub fn demo() -> SdkTokens {
        SdkTokens {
            frontend: DEMO_FRONTEND_TOKEN.to_owned(),
            client: DEMO_CLIENT_TOKEN.to_owned(),
        }
    }

    /// Reads `FLAGS_FRONTEND_TOKEN` and `FLAGS_CLIENT_TOKEN` from the process
    /// environment.
    ///
    /// # Errors
    /// As [`SdkTokens::from_vars`].
    pub fn from_env() -> Result<SdkTokens, StartupError> {
        SdkTokens::from_vars(|name| std::env::var_os(name))
    }

    /// Reads the variables `var` returns; a missing one takes its demo token.
    ///
    /// # Errors
    /// A variable that is set but empty, not UTF-8, or holds whitespace
    /// (a token an SDK could not send as it is).
    pub fn from_vars(var: impl Fn(&str) -> Option<OsString>) -> Result<SdkTokens, StartupError> {
        let read = |name: &'static str, demo: &str| -> Result<String, StartupError> {
            let Some(value) = var(name) else {
                return Ok(demo.to_owned());
            };
            let value = value.into_string().map_err(|_| StartupError::Setting {
                var: name,
                message: "is not valid UTF-8".into(),
            })?;
            if value.is_empty() || value.chars().any(char::is_whitespace) {
                return Err(StartupError::Setting {
                    var: name,
                    message: "is empty or holds whitespace; unset it to use the demo token".into(),
                });
            }
            Ok(value)
        };
        Ok(SdkTokens {
            frontend: read("FLAGS_FRONTEND_TOKEN", DEMO_FRONTEND_TOKEN)?,
            client: read("FLAGS_CLIENT_TOKEN", DEMO_CLIENT_TOKEN)?,
        })
    }
}

impl fmt::Debug for SdkTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SdkTokens(<hidden>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_overrides_and_refusals() {
        let none = SdkTokens::from_vars(|_| None).unwrap();
        assert_eq!(none, SdkTokens::demo());
        let set = SdkTokens::from_vars(|n| {
            (n == "FLAGS_CLIENT_TOKEN").then(|| OsString::from("svc-secret-1"))
        })
        .unwrap();
        assert_eq!(set.client, "svc-secret-1");
        assert_eq!(set.frontend, DEMO_FRONTEND_TOKEN);
        assert!(!format!("{set:?}").contains("svc-secret-1"));
        let err =
            SdkTokens::from_vars(|n| (n == "FLAGS_FRONTEND_TOKEN").then(|| OsString::from("a b")))
                .unwrap_err();
        assert!(err.to_string().starts_with("FLAGS_FRONTEND_TOKEN"), "{err}");
    }
}
