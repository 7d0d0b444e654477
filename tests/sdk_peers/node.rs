//! Running the drivers in tests/node under Node.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

/// tests/node, with the pinned peers installed (scripts/node-peers.sh).
pub fn node_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node");
    for package in ["unleash-proxy-client", "unleash-client"] {
        assert!(
            dir.join("node_modules").join(package).is_dir(),
            "{package} is not installed in {}: run scripts/node-peers.sh (scripts/test.sh does)",
            dir.display()
        );
    }
    dir
}

/// Runs `script` with `env` and parses the JSON it prints last.
pub async fn run(script: &'static str, env: Vec<(&'static str, String)>) -> Value {
    let dir = node_dir();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .current_dir(&dir)
            .envs(env)
            .output()
            .expect("node runs (scripts/node-peers.sh installs it)")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} failed: {}\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
    let last = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("{script} printed no JSON\nstdout: {stdout}\nstderr: {stderr}"));
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{script}: {e}: {last}"))
}
