//! `flags stale`, `flags inventory` and `flags unknown` against a running
//! app: the reasons, the counts and the names, as printed.

use flags_middleware::Context;

use crate::support::{flags_cmd, serve, TOKEN};

#[test]
fn stale_inventory_and_unknown_as_printed() {
    let app = serve("[legacy_api]\nenabled = false\n[new_checkout_flow]\nrollout = 20\n");
    let url = app.url.as_str();
    assert!(!app.flags.is_enabled("new_chekout_flow", &Context::new()));

    // Threshold 0 days: a killed flag is stale from the moment it is served.
    let (code, out, err) = flags_cmd(url, TOKEN, &["stale", "--days", "0"]);
    assert_eq!(code, 0, "{out}{err}");
    let legacy = out.lines().find(|l| l.starts_with("legacy_api: ")).unwrap();
    assert!(legacy.contains("killed (off for everyone) since "), "{out}");
    assert!(
        legacy.contains("never evaluated since the app started"),
        "{out}"
    );
    assert!(out.contains("threshold 0 days"), "{out}");

    // 30 days (the default): nothing yet.
    let (code, out, _) = flags_cmd(url, TOKEN, &["stale"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("(0 potentially stale flags, threshold 30 days)"),
        "{out}"
    );

    // --mark sets Unleash's `stale` field on them, through the admin API.
    let (code, out, err) = flags_cmd(url, TOKEN, &["stale", "--days", "0", "--mark"]);
    assert_eq!(code, 0, "{out}{err}");
    let answer: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        answer["marked"]
            .as_array()
            .unwrap()
            .contains(&"legacy_api".into()),
        "{out}"
    );
    assert!(app.flags.snapshot().feature("legacy_api").unwrap().stale);
    assert!(std::fs::read_to_string(&app.path)
        .unwrap()
        .contains("stale = true"));

    let (code, out, _) = flags_cmd(url, TOKEN, &["inventory"]);
    assert_eq!(code, 0);
    assert!(
        out.contains(
            "legacy_api  (defined)\n  code:      no gate or key refers to it\n  routes:    none\n"
        ),
        "{out}"
    );
    assert!(out.ends_with("(2 flags)\n"), "{out}");

    let (code, out, _) = flags_cmd(url, TOKEN, &["unknown"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("new_chekout_flow  asked 1 times, last "),
        "{out}"
    );
}
