//! The two servers under load, each a child process pinned to core 0 with
//! `taskset`, so neither shares its core with the load generator (core 1)
//! and both get the same one core. Dropping a [`Server`] kills it, also when
//! the bench panics.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The environment variable that makes the bench binary serve our Frontend
/// API instead of benchmarking.
pub(crate) const SERVE_ENV: &str = "FLAGS_BENCH_SERVE";

/// The core both servers are pinned to; the load generator takes the other.
const SERVER_CORE: &str = "0";

/// A server process, killed when dropped.
pub(crate) struct Server {
    child: Child,
    pub(crate) addr: SocketAddr,
}

impl Server {
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Our Frontend API: this bench binary again, under `taskset`, serving on a
/// current-thread runtime (see `serve_ours` in frontend.rs) and saying its
/// port on its first line.
pub(crate) fn start_ours() -> Server {
    let (child, addr) = crate::pinned::spawn_self(SERVER_CORE, (SERVE_ENV, "1"));
    Server { child, addr }
}

/// Where `scripts/unleash-edge.sh` installs Edge.
pub(crate) fn edge_binary() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .join("target/edge/bin/unleash-edge")
}

/// Unleash Edge in offline mode, serving `bootstrap` to `token` (a frontend
/// token), on one core. Waits until it listens.
pub(crate) fn start_edge(binary: &Path, bootstrap: &Path, token: &str) -> Server {
    // A free port: Edge takes a port number, not a listener.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut child = Command::new("taskset")
        .args(["-c", SERVER_CORE])
        .arg(binary)
        .args(["--interface", "127.0.0.1", "--port", &port.to_string()])
        .args(["offline", "--bootstrap-file"])
        .arg(bootstrap)
        .args(["--frontend-tokens", token])
        // Edge 20.1.0 refuses offline mode without a client token ("No
        // tokens provided"), even with frontend tokens; this one is unused.
        .args(["--client-tokens", "*:development.bench-edge-client-token"])
        // Only Edge's warnings: the bench measures serving, not logging.
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("taskset (util-linux) starts unleash-edge");
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let start = Instant::now();
    while std::net::TcpStream::connect(addr).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("unleash-edge exited ({status}) before listening; its stderr is above");
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("unleash-edge not listening on {addr} after 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Server { child, addr }
}
