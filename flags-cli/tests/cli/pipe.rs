//! A reader that goes away (`flags get x | head -1`): the CLI ends quietly
//! with the status of a program killed by SIGPIPE, and no panic.

use std::process::Stdio;
use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::support::{decode, flags_command, serve_gated, TOKEN};

/// Runs `flags ARGS` with its stdout closed by the reader before the
/// answer arrives: the server holds the answer until the pipe is closed.
fn with_stdout_closed_early(toml: &str, args: &[&str]) -> (i32, String, String) {
    let gate = Arc::new(Semaphore::new(0));
    let app = serve_gated(toml, Some(gate.clone()));
    let mut child = flags_command(&app.url, TOKEN)
        .args(args)
        // A panic would print its backtrace: the test would show it.
        .env("RUST_BACKTRACE", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    gate.add_permits(1);
    decode(&child.wait_with_output().unwrap())
}

#[test]
fn get_into_a_closed_pipe_exits_quietly() {
    let (code, _, err) = with_stdout_closed_early("[x]\nrollout = 5\n", &["get", "x"]);
    assert_eq!(code, 141, "{err}");
    assert_eq!(err, "");
}

#[test]
fn a_long_list_into_a_closed_pipe_exits_quietly() {
    let toml: String = (0..500).map(|i| format!("[flag_{i}]\n")).collect();
    let (code, _, err) = with_stdout_closed_early(&toml, &["list"]);
    assert_eq!(code, 141, "{err}");
    assert_eq!(err, "");
}
