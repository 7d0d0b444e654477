//! The `flags` binary against a running app: the seed's day-by-day rollout,
//! a kill, a restart at 5% with the same users, and `flags check`.

use std::process::Command;

use axum::Router;
use flags_middleware::admin::{AdminConfig, Role};
use flags_middleware::{Context, Flags};

const TOKEN: &str = "cli-test-token-0123456789";

fn flags_cmd(url: &str, token: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_flags"))
        .args(args)
        .env("FLAGS_URL", url)
        .env("FLAGS_TOKEN", token)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Which of 2,000 users see the flag.
fn cohort(flags: &Flags) -> Vec<usize> {
    (0..2000)
        .filter(|i| {
            flags.is_enabled(
                "new_checkout_flow",
                &Context::new().user_id(format!("user_{i}")),
            )
        })
        .collect()
}

#[test]
fn day_by_day_rollout_kill_and_restart_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flags.toml");
    std::fs::write(
        &path,
        "[new_checkout_flow]\ndescription = \"New checkout redesign\"\nrollout = 0   # not yet\n",
    )
    .unwrap();
    let flags = Flags::from_file(&path).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = rt.block_on(async {
        let app: Router = Router::new().nest(
            "/admin/flags",
            flags.admin_router(AdminConfig::new().token("release-bot", TOKEN, Role::Write)),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/admin/flags", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    });

    // Day 1, 3, 5, 7.
    let mut previous: Vec<usize> = Vec::new();
    let mut day1 = Vec::new();
    for pct in ["5", "25", "50", "100"] {
        let (code, out, err) = flags_cmd(&url, TOKEN, &["rollout", "new_checkout_flow", pct]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains(&format!("rollout set to {pct}%")), "{out}");
        let now = cohort(&flags);
        // Raising the percentage never turns a user off.
        assert!(previous.iter().all(|u| now.contains(u)));
        let share = now.len() as f64 / 2000.0 * 100.0;
        let want: f64 = pct.parse().unwrap();
        assert!((share - want).abs() < 3.5, "{pct}%: {share}");
        if pct == "5" {
            day1 = now.clone();
        }
        previous = now;
    }

    // Error rate spikes: kill.
    let (code, out, _) = flags_cmd(&url, TOKEN, &["kill", "new_checkout_flow"]);
    assert_eq!(code, 0);
    assert!(out.contains("killed"));
    assert!(cohort(&flags).is_empty());

    // Fixed: start again at 5%, and the same users come back.
    let (code, out, _) = flags_cmd(&url, TOKEN, &["rollout", "new_checkout_flow", "5"]);
    assert_eq!(code, 0);
    assert!(out.contains("is killed"), "{out}");
    let (code, _, _) = flags_cmd(&url, TOKEN, &["enable", "new_checkout_flow"]);
    assert_eq!(code, 0);
    assert_eq!(cohort(&flags), day1);

    let (code, out, _) = flags_cmd(&url, TOKEN, &["list"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("new_checkout_flow  on   {\"rollout\":5}"),
        "{out}"
    );
    let (code, out, _) = flags_cmd(&url, TOKEN, &["audit", "3"]);
    assert_eq!(code, 0);
    assert!(out.contains("release-bot"), "{out}");

    // The file says so too, comment and all.
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text,
        "[new_checkout_flow]\ndescription = \"New checkout redesign\"\nrollout = 5   # not yet\n"
    );

    // Refusals exit non-zero with the server's reason.
    let (code, _, err) = flags_cmd(&url, "", &["kill", "new_checkout_flow"]);
    assert_eq!(code, 1);
    assert!(err.contains("401"), "{err}");
    let (code, _, err) = flags_cmd(&url, TOKEN, &["rollout", "new_checkout_flow", "150"]);
    assert_eq!(code, 1);
    assert!(err.contains("between 0 and 100"), "{err}");
    let (code, _, _) = flags_cmd(&url, TOKEN, &["frobnicate"]);
    assert_eq!(code, 2);
}

#[test]
fn check_prints_every_error_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[a]\nrollout = 150\n[b]\nwhen = { v = { op = \"semver_gt\", value = \"x\" } }\n",
    )
    .unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(&good, "[a]\nusers = [\"u\"]\n").unwrap();

    let (code, out, err) = flags_cmd("", "", &["check", good.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 flags, ok"));

    let (code, _, err) = flags_cmd(
        "",
        "",
        &["check", bad.to_str().unwrap(), good.to_str().unwrap()],
    );
    assert_eq!(code, 1);
    let lines: Vec<&str> = err.lines().collect();
    assert!(lines[0].ends_with("bad.toml:2:11: flag `a`, field `rollout`: a percentage must be between 0 and 100, got 150"), "{err}");
    assert!(
        lines[1].contains("bad.toml:4:42: flag `b`, field `when.v.value`"),
        "{err}"
    );
    assert!(err.contains("2 error(s)"));
}
