//! Why the example could not start, as a report a person reads: the flags
//! file's errors come out the way `flags check` prints them, one per line.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use flags_middleware::LoadErrors;

/// Why the example could not start (or stopped serving).
pub enum StartupError {
    /// An environment variable holds a value the example cannot use.
    Setting {
        /// The variable.
        var: &'static str,
        /// What is wrong with it (never the value of a secret).
        message: String,
    },
    /// The working copy of the shipped flags file could not be made.
    WorkingCopy {
        /// The shipped file.
        shipped: PathBuf,
        /// Where the copy was to go.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The flags file could not be read or holds errors.
    Flags {
        /// The file.
        path: PathBuf,
        /// Every problem found in it.
        errors: LoadErrors,
    },
    /// The port could not be bound.
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The Unleash server could not be used (a bad URL, a refused token).
    Unleash {
        /// `UNLEASH_URL`.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The server stopped with an error.
    Serve(std::io::Error),
}

impl fmt::Display for StartupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartupError::Setting { var, message } => write!(f, "{var} {message}"),
            StartupError::WorkingCopy {
                shipped,
                path,
                source,
            } => write!(
                f,
                "cannot make a working copy of {} at {}: {source}\n\
                 (set FLAGS_FILE to serve another flags file)",
                shipped.display(),
                path.display()
            ),
            StartupError::Flags { path, errors } => {
                // The same lines as `flags check FILE`: every error, then a count.
                writeln!(f, "cannot load the flags in {}:", path.display())?;
                for e in errors.errors() {
                    writeln!(f, "{e}")?;
                }
                write!(f, "{}: {} error(s)", path.display(), errors.errors().len())
            }
            StartupError::Listen { addr, source } => write!(
                f,
                "cannot listen on {addr}: {source} (set PORT to use another port)"
            ),
            StartupError::Unleash { url, message } => {
                write!(f, "cannot serve flags from Unleash at {url}: {message}")
            }
            StartupError::Serve(e) => write!(f, "the server stopped: {e}"),
        }
    }
}

/// The report itself, not a struct dump: `fn main() -> Result<(), StartupError>`
/// prints an error with `Debug`, and that is what the user reads.
impl fmt::Debug for StartupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for StartupError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartupError::WorkingCopy { source, .. } | StartupError::Listen { source, .. } => {
                Some(source)
            }
            StartupError::Serve(e) => Some(e),
            StartupError::Flags { errors, .. } => Some(errors),
            StartupError::Setting { .. } | StartupError::Unleash { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flags_middleware::LoadError;

    #[test]
    fn flag_errors_read_like_flags_check() {
        let errors = LoadErrors::from(vec![
            LoadError::new(
                "flags.toml",
                "a percentage must be between 0 and 100, got 150",
            )
            .flag("new_checkout_flow")
            .field("rollout")
            .at(6, 11),
            LoadError::new("flags.toml", "unknown key `rollot`")
                .flag("beta_search")
                .at(9, 1),
        ]);
        let err = StartupError::Flags {
            path: "flags.toml".into(),
            errors,
        };
        // What `fn main() -> Result<(), StartupError>` prints after "Error: ".
        assert_eq!(
            format!("{err:?}"),
            "cannot load the flags in flags.toml:\n\
             flags.toml:6:11: flag `new_checkout_flow`, field `rollout`: a percentage must be between 0 and 100, got 150\n\
             flags.toml:9:1: flag `beta_search`: unknown key `rollot`\n\
             flags.toml: 2 error(s)"
        );
    }
}
