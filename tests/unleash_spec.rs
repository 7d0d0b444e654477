//! Unleash's client-specification conformance cases.
//!
//! Reads `index.json` in `$UNLEASH_SPEC_DIR` (default: `../shared/unleash-spec`
//! relative to the repository root), evaluates every `tests` and
//! `variantTests` case, prints one line per file and a closing
//! `N passed, M failed`, and exits non-zero if anything failed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use flags_middleware::{Context, Flags};
use flags_tests::spec_json::scalar;
use serde_json::Value;

fn spec_dir() -> PathBuf {
    let repo_root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    match std::env::var_os("UNLEASH_SPEC_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            // cargo runs tests from the crate's folder: a relative path given
            // from the repository root is resolved there.
            if dir.is_relative() && !dir.join("index.json").exists() {
                repo_root.join(dir)
            } else {
                dir
            }
        }
        None => repo_root.join("../shared/unleash-spec"),
    }
}

/// Builds our context from a spec case's context object; keys other than the
/// standard fields and `properties` are custom properties too.
fn context(json: &Value) -> Context {
    let mut ctx = Context::new();
    let Some(obj) = json.as_object() else {
        return ctx;
    };
    for (key, value) in obj {
        if key == "properties" {
            for (k, v) in value.as_object().into_iter().flatten() {
                if let Some(v) = scalar(v) {
                    ctx.set(k.as_str(), v);
                }
            }
        } else if let Some(v) = scalar(value) {
            ctx.set(key.as_str(), v);
        }
    }
    ctx
}

struct Tally {
    passed: usize,
    failed: usize,
}

fn run_file(path: &Path, tally: &mut Tally) -> Result<(usize, Vec<String>), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| format!("bad json: {e}"))?;
    let state = serde_json::to_string(&doc["state"]).unwrap_or_default();
    let flags =
        Flags::from_unleash_json(&state).map_err(|e| format!("state does not load: {e}"))?;
    let mut cases = 0;
    let mut failures = Vec::new();
    for case in doc["tests"].as_array().into_iter().flatten() {
        cases += 1;
        let name = case["toggleName"].as_str().unwrap_or_default();
        let want = case["expectedResult"].as_bool().unwrap_or(false);
        let got = flags.is_enabled(name, &context(&case["context"]));
        if got == want {
            tally.passed += 1;
        } else {
            tally.failed += 1;
            failures.push(format!(
                "{}: expected {want}, got {got}",
                case["description"].as_str().unwrap_or(name)
            ));
        }
    }
    for case in doc["variantTests"].as_array().into_iter().flatten() {
        cases += 1;
        let name = case["toggleName"].as_str().unwrap_or_default();
        let want = &case["expectedResult"];
        let v = flags.variant(name, &context(&case["context"]));
        let mut got = serde_json::json!({
            "name": v.name,
            "enabled": v.enabled,
            "feature_enabled": v.feature_enabled,
        });
        if let Some(p) = &v.payload {
            got["payload"] = serde_json::json!({ "type": p.kind, "value": p.value });
        }
        let mut expected = want.clone();
        // Older spec files omit feature_enabled; compare what they state.
        if expected.get("feature_enabled").is_none() {
            got.as_object_mut().map(|o| o.remove("feature_enabled"));
        }
        if let Some(o) = expected.as_object_mut() {
            o.retain(|_, v| !v.is_null());
        }
        if got == expected {
            tally.passed += 1;
        } else {
            tally.failed += 1;
            failures.push(format!(
                "{}: expected {expected}, got {got}",
                case["description"].as_str().unwrap_or(name)
            ));
        }
    }
    Ok((cases, failures))
}

fn main() -> ExitCode {
    let dir = spec_dir();
    let index = dir.join("index.json");
    let files: Vec<String> = match std::fs::read_to_string(&index)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
    {
        Ok(files) => files,
        Err(e) => {
            eprintln!(
                "cannot read {}: {e} (set UNLEASH_SPEC_DIR)",
                index.display()
            );
            return ExitCode::FAILURE;
        }
    };
    let mut tally = Tally {
        passed: 0,
        failed: 0,
    };
    for file in &files {
        match run_file(&dir.join(file), &mut tally) {
            Ok((cases, failures)) if failures.is_empty() => {
                println!("ok    {file} ({cases} cases)")
            }
            Ok((cases, failures)) => {
                println!("FAIL  {file} ({} of {cases} cases failed)", failures.len());
                for f in failures {
                    println!("        {f}");
                }
            }
            Err(e) => {
                tally.failed += 1;
                println!("FAIL  {file}: {e}");
            }
        }
    }
    println!("{} passed, {} failed", tally.passed, tally.failed);
    if tally.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
