//! Stale flags, judged at a chosen time (the fake clock) against an audit
//! log with entries of known age; dead code behind flags on for everyone.

use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Duration, Utc};
use flags_middleware::edit::Edit;
use flags_middleware::hygiene::{OneArm, StaleFlag, StaleOptions, StaleReason};
use flags_middleware::{feature_gated, flag, Context, FlagContext, Flags, FlagsLayer};
use tower::ServiceExt;

flag!(STALE_KILLED_LONG_AGO = "stale_killed_long_ago");
flag!(STALE_KILLED_RECENTLY = "stale_killed_recently");
flag!(STALE_FULL = "stale_full");
flag!(STALE_HALF = "stale_half");
flag!(STALE_MARKED = "stale_marked");

#[feature_gated("stale_everyone", variants(blue = pricing_blue), fallback = pricing_legacy)]
async fn pricing(_flags: &FlagContext) -> u32 {
    90
}
async fn pricing_blue(_flags: &FlagContext) -> u32 {
    80
}
async fn pricing_legacy(_flags: &FlagContext) -> u32 {
    100
}

const FLAGS: &str = r#"
[stale_killed_long_ago]
enabled = false
[stale_killed_recently]
enabled = false
[stale_full]
rollout = 100
[stale_half]
rollout = 50
[stale_marked]
rollout = 50
stale = true
[stale_orphan]
rollout = 50
[stale_everyone]
"#;

/// A flags file with an audit log beside it: each flag's last change so
/// many days before `now`.
fn flags_with_history(dir: &tempfile::TempDir, now: DateTime<Utc>) -> Flags {
    let path = dir.path().join("flags.toml");
    std::fs::write(&path, FLAGS).unwrap();
    let changes = [
        ("stale_killed_long_ago", 45),
        ("stale_killed_long_ago", 50), // older: the newest counts
        ("stale_killed_recently", 5),
        ("stale_full", 40),
        ("stale_half", 60),
        ("stale_marked", 1),
        ("stale_orphan", 1),
        ("stale_everyone", 2),
    ];
    // The log is appended to: oldest first.
    let mut lines: Vec<(i64, String)> = changes
        .iter()
        .enumerate()
        .map(|(i, (flag, days))| {
            let entry = serde_json::json!({
                "at": now - Duration::days(*days),
                "actor": "ops",
                "action": "rollout",
                "flag": flag,
                "version": i + 1,
                "before": null,
                "after": null,
            });
            (*days, entry.to_string())
        })
        .collect();
    lines.sort_by_key(|(days, _)| -days);
    let text: String = lines.into_iter().map(|(_, l)| l + "\n").collect();
    std::fs::write(dir.path().join("flags.audit.jsonl"), text).unwrap();
    Flags::from_file(&path).unwrap()
}

fn reasons<'a>(stale: &'a [StaleFlag], name: &str) -> Option<&'a [StaleReason]> {
    stale
        .iter()
        .find(|f| f.name == name)
        .map(|f| &f.reasons[..])
}

#[tokio::test]
async fn one_arm_for_longer_than_the_threshold_since_the_last_audited_change() {
    let dir = tempfile::tempdir().unwrap();
    let now = Utc::now();
    let flags = flags_with_history(&dir, now);
    let stale = flags
        .stale_flags(StaleOptions::new().at(now))
        .await
        .unwrap();

    match reasons(&stale, "stale_killed_long_ago").unwrap() {
        [StaleReason::OneArm {
            arm: OneArm::Off,
            since,
        }] => {
            assert_eq!(since.timestamp(), (now - Duration::days(45)).timestamp());
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        reasons(&stale, "stale_full").unwrap(),
        [StaleReason::OneArm {
            arm: OneArm::On,
            ..
        }]
    ));
    // Killed 5 days ago, 50% for 60 days: not one arm for 30 days.
    assert_eq!(reasons(&stale, "stale_killed_recently"), None);
    assert_eq!(reasons(&stale, "stale_half"), None);
    // Unleash's `stale` field is honoured.
    assert_eq!(
        reasons(&stale, "stale_marked").unwrap(),
        [StaleReason::MarkedStale]
    );
    // No gate or key refers to it.
    assert_eq!(
        reasons(&stale, "stale_orphan").unwrap(),
        [StaleReason::NotInCode]
    );

    // A shorter threshold catches the recent kill too; its call site is given.
    let week = flags
        .stale_flags(StaleOptions::new().threshold_days(3).at(now))
        .await
        .unwrap();
    let recent = week
        .iter()
        .find(|f| f.name == "stale_killed_recently")
        .unwrap();
    assert!(matches!(
        recent.reasons[..],
        [StaleReason::OneArm {
            arm: OneArm::Off,
            ..
        }]
    ));
    assert_eq!(recent.call_sites[0].item, "STALE_KILLED_RECENTLY");

    // A change through the writer is audited now: no longer stale.
    flags
        .writer("ops")
        .commit(Edit::rollout("stale_full", 90))
        .await
        .unwrap();
    flags
        .writer("ops")
        .commit(Edit::rollout("stale_full", 100))
        .await
        .unwrap();
    let after = flags
        .stale_flags(StaleOptions::new().at(Utc::now()))
        .await
        .unwrap();
    assert_eq!(reasons(&after, "stale_full"), None);
}

#[tokio::test]
async fn not_evaluated_for_longer_than_the_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let now = Utc::now();
    let flags = flags_with_history(&dir, now);
    async fn half(flags: FlagContext) -> &'static str {
        if flags.is_enabled(STALE_HALF) {
            "on"
        } else {
            "off"
        }
    }
    let app = Router::new()
        .route("/half", get(half))
        .layer(FlagsLayer::new(flags.clone()));
    let req = Request::get("/half").body(Body::empty()).unwrap();
    assert_eq!(app.oneshot(req).await.unwrap().status(), 200);
    let evaluated = flags.evaluations("stale_half").last_evaluated.unwrap();

    // 31 days on, neither has been evaluated since.
    let later = now + Duration::days(31);
    let stale = flags
        .stale_flags(StaleOptions::new().at(later))
        .await
        .unwrap();
    assert_eq!(
        reasons(&stale, "stale_half").unwrap(),
        [StaleReason::NotEvaluated {
            last_evaluated: Some(evaluated)
        }]
    );
    assert!(reasons(&stale, "stale_orphan")
        .unwrap()
        .contains(&StaleReason::NotEvaluated {
            last_evaluated: None
        }));
    // Ten days on, both are within the threshold.
    let sooner = flags
        .stale_flags(StaleOptions::new().at(now + Duration::days(10)))
        .await
        .unwrap();
    assert_eq!(reasons(&sooner, "stale_half"), None);
    assert_eq!(
        reasons(&sooner, "stale_orphan").unwrap(),
        [StaleReason::NotInCode]
    );
}

#[tokio::test]
async fn dead_code_lists_the_fallback_of_a_flag_on_for_everyone() {
    let dir = tempfile::tempdir().unwrap();
    let flags = flags_with_history(&dir, Utc::now());
    let ctx = FlagContext::for_test(&flags, Context::new());
    assert_eq!(pricing(&ctx).await, 90);
    let dead = flags.dead_code();
    let everyone = dead.iter().find(|d| d.name == "stale_everyone").unwrap();
    assert_eq!(everyone.deletable, ["pricing_legacy", "pricing_blue"]);
    assert_eq!(everyone.call_sites[0].item, "pricing");
    // Killed or partial flags keep their fallback; STALE_FULL is a key (no fallback).
    let names: Vec<&str> = dead.iter().map(|d| d.name.as_str()).collect();
    assert!(!names.contains(&"stale_half") && !names.contains(&"stale_killed_long_ago"));
    let full = dead.iter().find(|d| d.name == "stale_full").unwrap();
    assert!(full.deletable.is_empty());
}

#[tokio::test]
async fn a_threshold_longer_than_the_calendar_reports_nothing_one_armed() {
    use flags_middleware::admin::{AdminConfig, Role};
    let dir = tempfile::tempdir().unwrap();
    let flags = flags_with_history(&dir, Utc::now());
    let stale = flags
        .stale_flags(StaleOptions::new().threshold_days(u32::MAX))
        .await
        .unwrap();
    assert!(
        stale
            .iter()
            .flat_map(|f| &f.reasons)
            .all(|r| !matches!(r, StaleReason::OneArm { .. })),
        "{stale:?}"
    );
    // The same through the admin API's query string.
    let app =
        flags.admin_router::<()>(AdminConfig::new().token("ops", "stale-read-token-0", Role::Read));
    let res = app
        .oneshot(
            Request::get("/_stale?days=4294967295")
                .header("authorization", "Bearer stale-read-token-0")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(report["threshold_days"], 4294967295u64);
    assert!(report["flags"].is_array(), "{report}");
}

#[tokio::test]
async fn marking_stale_sets_only_the_mark_and_is_audited_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let now = Utc::now();
    let flags = flags_with_history(&dir, now);
    let before = flags.snapshot().feature("stale_killed_long_ago").unwrap();
    let marked = flags
        .mark_stale("ops", StaleOptions::new().at(now))
        .await
        .unwrap();
    // Already marked flags are left alone; the others reported are marked.
    assert!(
        marked.contains(&"stale_killed_long_ago".to_owned()),
        "{marked:?}"
    );
    assert!(!marked.contains(&"stale_marked".to_owned()), "{marked:?}");
    let after = flags.snapshot().feature("stale_killed_long_ago").unwrap();
    assert!(after.stale);
    assert_eq!(
        serde_json::to_value(flags_middleware::model::Feature {
            stale: false,
            ..after
        })
        .unwrap(),
        serde_json::to_value(before).unwrap(),
        "nothing else changed"
    );
    let log = flags
        .audit_page_of("stale_killed_long_ago", 0, 1)
        .await
        .unwrap();
    assert_eq!(
        (log[0].actor.as_str(), log[0].action.as_str()),
        ("ops", "mark stale")
    );
    // And in the file: the mark is there, the kill still is.
    let text = std::fs::read_to_string(dir.path().join("flags.toml")).unwrap();
    assert!(
        text.contains("[stale_killed_long_ago]\nenabled = false\nstale = true\n"),
        "{text}"
    );
}
