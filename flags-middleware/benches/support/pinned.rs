//! Servers for the loopback HTTP benches: this bench binary run again as a
//! child process pinned to one core, and the CPU time a process has used.

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use tokio::net::TcpListener;

/// Runs this bench binary again under `taskset -c core`, with `env` set so
/// it serves instead of measuring; the child prints `port <n>` on its first
/// line once it listens on 127.0.0.1.
pub(crate) fn spawn_self(core: &str, env: (&str, &str)) -> (Child, SocketAddr) {
    let exe = std::env::current_exe().expect("own path");
    let mut child = Command::new("taskset")
        .args(["-c", core])
        .arg(exe)
        .env(env.0, env.1)
        .stdout(Stdio::piped())
        .spawn()
        .expect("taskset (util-linux) starts the server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("port line");
    let port: u16 = line
        .trim()
        .strip_prefix("port ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("the server said {line:?}"));
    (child, SocketAddr::from(([127, 0, 0, 1], port)))
}

/// The child's side of [`spawn_self`]: binds a loopback port, says it, and
/// runs `serve` on it on a current-thread runtime (the process is pinned to
/// one core).
pub(crate) fn serve_here<F>(serve: impl FnOnce(TcpListener) -> F)
where
    F: Future<Output = ()>,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("server runtime");
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        println!("port {}", listener.local_addr().expect("addr").port());
        serve(listener).await;
    });
}

/// CPU time the process `pid` (all its threads) has used so far, in seconds.
pub(crate) fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc stat");
    // Fields after the parenthesized name; utime and stime are 14 and 15.
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    // Linux reports clock ticks of 1/100 s.
    ticks as f64 / 100.0
}
