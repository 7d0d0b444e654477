//! A short run of every fuzz target, with no nightly and no cargo-fuzz:
//! each file of its checked-in corpus (`fuzz/corpus/<target>/`), then
//! inputs from a fixed seed: random bytes, and corpus files with a few
//! random edits (what a fuzzer tries first). A failure prints the input
//! to reproduce with `cargo fuzz run <target> <file>`.

use std::path::{Path, PathBuf};

use flags_fuzz_targets::TARGETS;

/// Seeded inputs per target.
const GENERATED: usize = 2000;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).expect("a readable corpus file");
            (path, bytes)
        })
        .collect()
}

/// `seed` with up to eight random edits: overwrite, insert, delete or
/// duplicate a run of bytes.
fn mutate(rng: &mut fastrand::Rng, seed: &[u8]) -> Vec<u8> {
    let mut out = seed.to_vec();
    for _ in 0..rng.usize(1..=8) {
        let at = rng.usize(0..=out.len());
        match rng.u8(0..4) {
            0 if at < out.len() => out[at] = rng.u8(..),
            1 => out.insert(at, rng.u8(..)),
            2 if at < out.len() => {
                let end = rng.usize(at..=out.len().min(at + 16));
                out.drain(at..end);
            }
            _ => {
                let end = rng.usize(at..=out.len().min(at + 16));
                let run = out[at..end].to_vec();
                let to = rng.usize(0..=out.len());
                out.splice(to..to, run);
            }
        }
    }
    out
}

fn run_logged(target: &str, run: fn(&[u8]), input: &[u8], what: &str) {
    let result = std::panic::catch_unwind(|| run(input));
    if let Err(panic) = result {
        let file = std::env::temp_dir().join(format!("fuzz-smoke-{target}.bin"));
        let _ = std::fs::write(&file, input);
        eprintln!("{target}: {what} failed; input saved to {}", file.display());
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn every_target_has_a_corpus() {
    for (target, _) in TARGETS {
        assert!(!corpus(target).is_empty(), "no corpus for {target}");
    }
}

#[test]
fn every_target_survives_its_corpus_and_seeded_inputs() {
    for (target, run) in TARGETS {
        let seeds = corpus(target);
        for (path, bytes) in &seeds {
            run_logged(target, *run, bytes, &path.display().to_string());
        }
        let mut rng = fastrand::Rng::with_seed(0x5eed_f1a9);
        for i in 0..GENERATED {
            let input = if i % 2 == 0 {
                let len = rng.usize(0..256);
                std::iter::repeat_with(|| rng.u8(..)).take(len).collect()
            } else {
                let seed = rng.usize(0..seeds.len());
                mutate(&mut rng, &seeds[seed].1)
            };
            run_logged(target, *run, &input, &format!("seeded input {i}"));
        }
    }
}

/// The admin corpus gets past authentication and routing into every
/// handler and through to a successful write, so the fuzzer starts from
/// inputs that reach the code behind the body parsers.
#[test]
fn the_admin_corpus_writes_through_every_endpoint() {
    use flags_fuzz_targets::admin_request::{answer, ENDPOINTS};

    let mut written = vec![false; ENDPOINTS.len()];
    for (_, bytes) in corpus("admin_request") {
        let Some(reply) = answer(&bytes) else {
            continue; // too short to name an endpoint: the fuzzer keeps those too
        };
        written[reply.endpoint] |= reply.status.is_success();
    }
    assert_eq!(written, vec![true; ENDPOINTS.len()]);
}

/// The text corpora hold inputs that load, so the round-trip oracles run
/// from the first input on (a corpus of errors only would test the error
/// paths alone).
#[test]
fn the_text_corpora_reach_the_round_trips() {
    use flags_core::engine::Mode;
    use flags_core::format::toml;
    use flags_core::model::FlagSet;
    use flags_core::Snapshot;

    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    let tomls = corpus("toml_file")
        .iter()
        .filter(|(_, b)| toml::parse(&text(b), "x").is_ok_and(|s| !s.features.is_empty()))
        .count();
    assert!(tomls >= 3, "{tomls} TOML corpus files load");
    let jsons = corpus("unleash_json")
        .iter()
        .filter_map(|(_, b)| FlagSet::from_unleash_json(&text(b)).ok())
        .filter(|set| !set.features.is_empty())
        .filter(|set| Snapshot::compile(set, Mode::Lenient, "x").is_ok())
        .count();
    assert!(jsons >= 3, "{jsons} Unleash corpus files load");
    let segments = &flags_fuzz_targets::mixed::flag_set().segments;
    let bodies = corpus("admin_feature_json")
        .iter()
        .filter(|(_, b)| toml::feature_from_json("f", &text(b), segments, "x").is_ok())
        .count();
    assert!(bodies >= 2, "{bodies} admin body corpus files read");
}
