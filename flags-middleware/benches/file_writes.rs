//! What an admin write costs with a large flags file.
//!
//! A 10,000-flag TOML file (comments, rollouts, user lists, `when`
//! conditions, variants) in a temporary directory, served by
//! `Flags::from_file`. Each write goes through `Writer::commit` and counts
//! once it returns `Ok`: validated, written to the file (temporary file,
//! fsync, rename, fsync of the directory), swapped in and appended to the
//! synced audit log.
//!
//! - `file_writes/rollout`: a rollout change to one flag (a different flag
//!   each time);
//! - `file_writes/kill`: a kill of one flag (re-enabled, untimed, between
//!   kills);
//! - `file_writes/naive_rollout`: the write as it was done before the file
//!   store kept its document between writes: clone the whole document,
//!   edit it, render it all, re-parse and re-compile it all to check it,
//!   then the same atomic, synced write. A peer for the ratio.
//!
//! Then a summary: writes per second, the kill's median in milliseconds,
//! the ratio to the naive write, and the disk's floor: the same three
//! fsyncs a write needs (the flags file's temporary file, its directory
//! after the rename, the audit log's append) with no flags work at all.
//!
//! Run: `cargo bench -p flags-middleware --bench file_writes`. The file
//! goes to the system's temporary directory; set `FLAGS_BENCH_DIR` to a
//! directory on the disk you want measured (fsync on a RAM disk is free).
//! `FLAGS_BENCH_FLAGS` changes the number of flags (default 10,000).

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::Criterion;
use flags_middleware::edit::Edit;
use flags_middleware::engine::Change;
use flags_middleware::format::toml as toml_format;
use flags_middleware::Flags;
use toml_edit::DocumentMut;

/// A flags file of `n` flags in the shapes people write, with comments.
fn flags_file(n: usize) -> String {
    let mut text = String::from("# Flags for the shop.\n# Owned by the platform team.\n\n");
    for i in 0..n {
        let name = flag_name(i);
        let _ = writeln!(text, "# Flag {i}: why it exists.");
        let _ = writeln!(text, "[{name}]");
        let _ = writeln!(text, "description = \"Flag number {i}\"");
        match i % 5 {
            0 => {
                let _ = writeln!(text, "rollout = {}  # % of users", 10 + i % 80);
            }
            1 => {
                let _ = writeln!(text, "users = [\"user_{i}\", \"user_{}\"]", i + 1);
            }
            2 => {
                let _ = writeln!(
                    text,
                    "rollout = 50\nwhen = {{ country = [\"de\", \"fr\"] }}"
                );
            }
            3 => {
                let _ = writeln!(text, "rollout = 30\nvariants = {{ blue = 50, green = 50 }}");
            }
            _ => {
                let _ = writeln!(text, "enabled = false # off until launch");
            }
        }
        text.push('\n');
    }
    text
}

fn flag_name(i: usize) -> String {
    format!("flag_{i:05}")
}

/// Flags with a plain top-level rollout (shape 0), for rollout writes.
fn rollout_flag(k: usize, n: usize) -> String {
    flag_name((k * 5) % n)
}

struct Bench {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    flags: Flags,
    rt: tokio::runtime::Runtime,
}

fn setup(n: usize) -> Bench {
    let dir = match std::env::var_os("FLAGS_BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d),
        None => tempfile::tempdir(),
    }
    .unwrap();
    let path = dir.path().join("flags.toml");
    std::fs::write(&path, flags_file(n)).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let flags = rt.block_on(async { Flags::from_file(&path).unwrap() });
    Bench {
        _dir: dir,
        path,
        flags,
        rt,
    }
}

impl Bench {
    /// `iters` rollout writes, each to the next flag, each a new value.
    fn rollouts(&self, n: usize, start: &mut usize, iters: u64) -> Duration {
        let writer = self.flags.writer("bench");
        let m = n.div_ceil(5);
        self.rt.block_on(async {
            let t = Instant::now();
            for _ in 0..iters {
                let k = *start;
                *start += 1;
                // A new percent for the flag on each pass over the flags.
                let percent = 1 + ((k / m) % 99) as u32;
                let done = writer
                    .commit(Edit::rollout(rollout_flag(k, n), percent))
                    .await
                    .unwrap();
                assert!(done.changed);
            }
            t.elapsed()
        })
    }

    /// `iters` kills, the flag re-enabled (untimed) before each.
    fn kills(&self, n: usize, start: &mut usize, iters: u64) -> Duration {
        let writer = self.flags.writer("bench");
        self.rt.block_on(async {
            let mut took = Duration::ZERO;
            for _ in 0..iters {
                let name = rollout_flag(*start, n);
                *start += 1;
                writer.commit(Edit::enable(&name)).await.unwrap();
                let t = Instant::now();
                let done = writer.commit(Edit::kill(&name)).await.unwrap();
                took += t.elapsed();
                assert!(done.changed);
            }
            took
        })
    }
}

/// The old write path, outside the store: the whole document cloned,
/// edited, rendered and parsed back, then written atomically with fsyncs.
struct Naive {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    doc: DocumentMut,
    set: flags_middleware::model::FlagSet,
}

impl Naive {
    fn new(n: usize) -> Naive {
        let dir = match std::env::var_os("FLAGS_BENCH_DIR") {
            Some(d) => tempfile::tempdir_in(d),
            None => tempfile::tempdir(),
        }
        .unwrap();
        let path = dir.path().join("flags.toml");
        let text = flags_file(n);
        std::fs::write(&path, &text).unwrap();
        Naive {
            _dir: dir,
            path,
            doc: text.parse().unwrap(),
            set: toml_format::parse(&text, "bench").unwrap(),
        }
    }

    fn rollout(&mut self, name: &str, percent: u32) {
        // The check for a hand edit: the file read whole, as the store does.
        let _ = std::fs::read_to_string(&self.path).unwrap();
        let mut f = self.set.feature(name).unwrap().clone();
        f.strategies[0]
            .parameters
            .insert("rollout", percent.to_string());
        let changes = [Change::Upsert(f.clone())];
        let mut after = self.set.clone();
        let at = after.features.iter().position(|x| x.name == name).unwrap();
        after.features[at] = f;
        let mut doc = self.doc.clone();
        toml_format::edit_document(&mut doc, &self.set, &after, &changes).unwrap();
        let text = doc.to_string();
        let (set, _) = toml_format::parse_compiled(&text, "bench").unwrap();
        write_synced(&self.path, text.as_bytes());
        self.doc = doc;
        self.set = set;
    }
}

fn write_synced(path: &Path, bytes: &[u8]) {
    use std::io::Write as _;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp).unwrap();
    file.write_all(bytes).unwrap();
    file.sync_all().unwrap();
    std::fs::rename(&tmp, path).unwrap();
    std::fs::File::open(path.parent().unwrap())
        .unwrap()
        .sync_all()
        .unwrap();
}

/// The I/O of one acknowledged write and nothing else: the file written
/// atomically (two fsyncs) and a line appended to a log, synced.
fn floor(path: &Path, text: &[u8]) -> Duration {
    use std::io::Write as _;
    let t = Instant::now();
    write_synced(path, text);
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path.with_extension("log"))
        .unwrap();
    log.write_all(&[b'x'; 600]).unwrap();
    log.sync_data().unwrap();
    t.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let n: usize = std::env::var("FLAGS_BENCH_FLAGS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));

    let bench = setup(n);
    let mut next = 0;
    {
        let mut group = c.benchmark_group("file_writes");
        group.bench_function("rollout", |b| {
            b.iter_custom(|iters| bench.rollouts(n, &mut next, iters));
        });
        group.bench_function("kill", |b| {
            b.iter_custom(|iters| bench.kills(n, &mut next, iters));
        });
        let mut naive = Naive::new(n);
        let mut k = 0;
        group.sample_size(10);
        group.bench_function("naive_rollout", |b| {
            b.iter_custom(|iters| {
                let t = Instant::now();
                for _ in 0..iters {
                    naive.rollout(&rollout_flag(k, n), 1 + (k % 99) as u32);
                    k += 1;
                }
                t.elapsed()
            });
        });
        group.finish();
    }

    // The summary: one write at a time, as a client waiting for each
    // answer, interleaved with the disk's floor so both see the same disk
    // (shared disks are noisy).
    let text = std::fs::read(&bench.path).unwrap();
    let floor_path = bench.path.with_file_name("floor.toml");
    let (mut rollouts, mut kills, mut floors) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..200 {
        rollouts.push(bench.rollouts(n, &mut next, 1));
        floors.push(floor(&floor_path, &text));
        if i % 2 == 0 {
            kills.push(bench.kills(n, &mut next, 1));
        }
    }
    let mut naive = Naive::new(n);
    let naives: Vec<Duration> = (0..20)
        .map(|k| {
            let t = Instant::now();
            naive.rollout(&rollout_flag(k, n), 1 + (k % 99) as u32);
            t.elapsed()
        })
        .collect();
    let total: Duration = rollouts.iter().sum();
    let per_s = rollouts.len() as f64 / total.as_secs_f64();
    let (write, kill, old, disk) = (
        median(rollouts),
        median(kills),
        median(naives),
        median(floors),
    );
    let size = std::fs::metadata(&bench.path).map(|m| m.len()).unwrap_or(0);
    println!(
        "\n{n} flags ({} KiB): rollout write median {:.2} ms ({per_s:.0} acknowledged writes/s); \
         kill median {:.2} ms; naive re-render + re-parse write median {:.2} ms \
         ({:.0}x the rollout write); the disk's floor (the same fsyncs, no flags work) \
         median {:.2} ms ({:.0} writes/s)",
        size / 1024,
        write.as_secs_f64() * 1e3,
        kill.as_secs_f64() * 1e3,
        old.as_secs_f64() * 1e3,
        old.as_secs_f64() / write.as_secs_f64(),
        disk.as_secs_f64() * 1e3,
        1.0 / disk.as_secs_f64(),
    );
}
