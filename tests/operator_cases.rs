//! Our own conformance cases, in the Unleash client-specification format
//! (`tests/cases/*.json`), for behaviour the official cases leave open
//! (empty and spaced operands of the string and set operators). Each case is
//! evaluated by our engine and by Unleash's own engine (Yggdrasil): both must
//! give the expected result, so a case cannot encode a belief about Unleash
//! that Unleash does not share.

use std::collections::HashMap;
use std::path::Path;

use flags_middleware::{Context, Flags};
use flags_tests::spec_json::scalar;
use serde_json::Value;
use unleash_yggdrasil::{ClientFeatures, EngineState, UpdateMessage};

/// The case's context for both engines.
fn contexts(json: &Value) -> (Context, unleash_yggdrasil::Context) {
    let mut ours = Context::new();
    let mut theirs = unleash_yggdrasil::Context::default();
    let mut props = HashMap::new();
    for (key, value) in json.as_object().into_iter().flatten() {
        if key == "properties" {
            for (k, v) in value.as_object().into_iter().flatten() {
                if let Some(v) = scalar(v) {
                    ours.set(k.as_str(), v.clone());
                    props.insert(k.clone(), v);
                }
            }
            continue;
        }
        let Some(v) = scalar(value) else { continue };
        ours.set(key.as_str(), v.clone());
        match key.as_str() {
            "userId" => theirs.user_id = Some(v),
            "sessionId" => theirs.session_id = Some(v),
            "environment" => theirs.environment = Some(v),
            "appName" => theirs.app_name = Some(v),
            "remoteAddress" => theirs.remote_address = Some(v),
            _ => {
                props.insert(key.clone(), v);
            }
        }
    }
    theirs.properties = Some(props);
    (ours, theirs)
}

fn run(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let state = &doc["state"];
    let ours = Flags::from_unleash_json(&state.to_string()).unwrap();
    let theirs = EngineState::initial_state(chrono::Utc::now());
    let features: ClientFeatures = serde_json::from_value(state.clone()).unwrap();
    let _ = theirs.take_state(UpdateMessage::FullResponse(features));
    let mut failures = Vec::new();
    for case in doc["tests"].as_array().unwrap() {
        let flag = case["toggleName"].as_str().unwrap();
        let want = case["expectedResult"].as_bool().unwrap();
        let (ctx, ygg_ctx) = contexts(&case["context"]);
        let got = ours.is_enabled(flag, &ctx);
        let unleash = theirs.is_enabled(flag, &ygg_ctx, &None);
        if got != want || unleash != want {
            failures.push(format!(
                "{}: {}: expected {want}, ours {got}, Unleash's engine {unleash}",
                path.display(),
                case["description"].as_str().unwrap_or(flag)
            ));
        }
    }
    failures
}

#[test]
fn our_cases_agree_with_unleash() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no cases in {}", dir.display());
    let failures: Vec<String> = files.iter().flat_map(|f| run(f)).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
