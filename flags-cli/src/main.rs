//! The `flags` command-line tool: check a flags file offline, or change
//! flags in a running app through its admin API.
//!
//! ```text
//! flags check flags.toml             # every error with line:col; exit 1 if any
//! flags list                         # every flag and its rule
//! flags kill new_checkout_flow       # off for everyone, now
//! flags enable new_checkout_flow
//! flags rollout new_checkout_flow 25
//! flags users ai_recommendations user_123 user_456
//! flags status | flags audit [N]
//! flags inventory                  # per flag: call sites, routes, evaluations, arms
//! flags stale [--days 30]            # stale flags and the code to delete
//! flags unknown                      # names asked for that no flag has
//! flags completions bash             # a shell completion script
//! ```
//!
//! The admin API's address comes from `--url` or `FLAGS_URL` (default
//! `http://127.0.0.1:3000/admin/flags`; without a scheme, http:// is
//! assumed), the token from `FLAGS_TOKEN`. The client honours `ALL_PROXY`,
//! `HTTPS_PROXY` and `HTTP_PROXY` (the first one set, for any scheme) and
//! `NO_PROXY`; HTTP proxies only, not SOCKS.
//!
//! Exit status: 0 on success, 1 when a check finds problems or the admin
//! API refuses or cannot be reached, 2 on a usage error, 141 when the
//! output pipe closes early (as a program killed by SIGPIPE would).

mod admin_call;
mod args;
mod base_url;
mod check;
mod client;
mod hygiene_report;
mod report;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use crate::admin_call::AdminCall;
use crate::args::{AdminCommand, Cli, Command};

/// The status a shell reports for a program killed by SIGPIPE (128 + 13).
/// Rust ignores SIGPIPE, so writes to a closed pipe fail instead; ending
/// with this status keeps `set -o pipefail` scripts as strict as with
/// `cat` or `grep`, without a panic or a backtrace.
const CLOSED_PIPE: u8 = 141;

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::from(CLOSED_PIPE),
        Err(e) => {
            // stderr may be what failed: nothing more to say if so.
            let _ = writeln!(io::stderr(), "flags: cannot write the output: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Parses the command line and runs it; `Err` only for a failed write.
fn run() -> io::Result<ExitCode> {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with 0, usage errors to stderr
            // with 2.
            e.print()?;
            return Ok(ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2)));
        }
    };
    let mut out = io::stdout().lock();
    let mut err = io::stderr().lock();
    let code = match cli.command {
        Command::Check { files } => {
            if check::check_files(&files, &mut out, &mut err)? {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Command::Completions { shell } => {
            // Rendered into memory first: clap_complete panics on a failed
            // write, and a closed pipe must end quietly.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "flags", &mut script);
            out.write_all(&script)?;
            ExitCode::SUCCESS
        }
        Command::Admin(command) => admin(&cli.url, &command, &mut out, &mut err)?,
    };
    out.flush()?;
    Ok(code)
}

/// Makes the admin API call for `command` and prints the answer.
fn admin(
    url: &str,
    command: &AdminCommand,
    out: &mut impl Write,
    err: &mut impl Write,
) -> io::Result<ExitCode> {
    let call = AdminCall::of(command);
    let token = std::env::var("FLAGS_TOKEN").unwrap_or_default();
    let answer = base_url::base_url(url).and_then(|base| client::send(&base, &token, &call));
    match answer {
        Ok(answer) if (200..300).contains(&answer.status) => {
            report::success(out, &call.report, &answer.body)?;
            Ok(ExitCode::SUCCESS)
        }
        Ok(answer) => {
            report::failure(err, answer.status, &answer.body)?;
            Ok(ExitCode::FAILURE)
        }
        Err(message) => {
            writeln!(err, "flags: {message}")?;
            Ok(ExitCode::FAILURE)
        }
    }
}
