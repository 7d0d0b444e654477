//! The command line: what `flags` accepts, with the help text each
//! subcommand shows under `flags <command> --help`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Where the admin API is when neither `--url` nor `FLAGS_URL` says.
pub(crate) const DEFAULT_URL: &str = "http://127.0.0.1:3000/admin/flags";

/// Check a flags file offline, or change flags in a running app through its
/// admin API.
#[derive(Debug, Parser)]
#[command(
    name = "flags",
    version,
    after_help = "\
Environment:
  FLAGS_URL    the admin API's base URL (like --url)
  FLAGS_TOKEN  an admin token, sent as `Authorization: Bearer ...`
               (a write token for kill, enable, rollout, users and
               stale --mark)

Examples:
  flags check flags.toml
  FLAGS_URL=localhost:3000/admin/flags flags kill new_checkout_flow
  flags rollout new_checkout_flow 25"
)]
pub(crate) struct Cli {
    /// The admin API's base URL; without a scheme, http:// is assumed
    #[arg(
        long,
        global = true,
        env = "FLAGS_URL",
        default_value = DEFAULT_URL,
        value_name = "URL"
    )]
    pub(crate) url: String,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// One subcommand: `check` and `completions` work offline, the others are
/// one admin API call each.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Validate flags files offline; print every error with line:column, exit 1 if any
    #[command(after_help = "Runs the same checks the app runs when it loads the file.")]
    Check {
        /// TOML flags files
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    #[command(flatten)]
    Admin(AdminCommand),
    /// Print a shell completion script
    #[command(
        after_help = "Example: flags completions bash > ~/.local/share/bash-completion/completions/flags"
    )]
    Completions {
        /// The shell to complete in
        shell: clap_complete::Shell,
    },
}

/// A subcommand that talks to a running app's admin API.
#[derive(Debug, Subcommand)]
pub(crate) enum AdminCommand {
    /// List every flag: name, on or off, and its rule
    List,
    /// Print one flag as the admin API returns it (JSON)
    Get {
        /// The flag's name
        name: String,
    },
    /// Turn a flag off for everyone, now (its rules are kept for `enable`)
    Kill {
        /// The flag's name
        name: String,
    },
    /// Turn a flag back on: its rules apply again
    Enable {
        /// The flag's name
        name: String,
    },
    /// Set the share of users who get a flag, from 0 to 100
    #[command(
        after_help = "The same users stay in as the percentage grows, and come back at the same \
                      percentage after a kill."
    )]
    Rollout {
        /// The flag's name
        name: String,
        /// A whole percentage: `25` or `25%`
        #[arg(value_parser = parse_percent)]
        percent: u64,
    },
    /// Set the user ids a flag is on for (none clears the list)
    Users {
        /// The flag's name
        name: String,
        /// User ids
        #[arg(value_name = "ID")]
        ids: Vec<String>,
    },
    /// Print the admin API's status: source, version, last reload error (JSON)
    Status,
    /// Print the latest audit entries, newest first (JSON)
    Audit {
        /// How many entries
        #[arg(default_value_t = 20)]
        limit: usize,
    },
    /// Per flag: where the code uses it, which routes asked for it and how
    /// often, first and last evaluation, and the arms served
    Inventory,
    /// Flags that look stale, with the reason and the call sites to delete;
    /// then code no request reaches (fallbacks of flags on for everyone)
    #[command(
        after_help = "Stale: one arm (killed, or on for everyone) for longer than DAYS since the \
                      flag's last change in the audit log, not evaluated for that long, referred \
                      to by no `#[feature_gated]` or `flag!` key, or marked `stale`."
    )]
    Stale {
        /// The threshold in days
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// Also set Unleash's `stale` field on each of them (a write, audited)
        #[arg(long)]
        mark: bool,
    },
    /// Flag names asked for that no flag has (typos, deleted flags), with counts
    Unknown,
}

/// `25` or `25%`. The range is the admin API's to check, so that a
/// percentage has one rule and one error message wherever it comes from.
fn parse_percent(text: &str) -> Result<u64, String> {
    let digits = text.strip_suffix('%').unwrap_or(text);
    digits
        .parse()
        .map_err(|_| "expected a whole number, like 25 or 25%".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn percentages_with_and_without_a_sign() {
        assert_eq!(parse_percent("25"), Ok(25));
        assert_eq!(parse_percent("25%"), Ok(25));
        assert_eq!(parse_percent("150"), Ok(150));
        assert!(parse_percent("2.5").is_err());
        assert!(parse_percent("-5").is_err());
        assert!(parse_percent("%").is_err());
    }
}
