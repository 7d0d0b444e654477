//! The seed's day-by-day rollout through the CLI: a kill, a restart at 5%
//! with the same users, the list and the audit, and the server's refusals.

use flags_middleware::{Context, Flags};

use crate::support::{flags_cmd, serve, TOKEN};

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
    let app = serve(
        "[new_checkout_flow]\ndescription = \"New checkout redesign\"\nrollout = 0   # not yet\n",
    );
    let (flags, url) = (&app.flags, app.url.as_str());

    // Day 1, 3, 5, 7.
    let mut previous: Vec<usize> = Vec::new();
    let mut day1 = Vec::new();
    for pct in ["5", "25", "50", "100"] {
        let (code, out, err) = flags_cmd(url, TOKEN, &["rollout", "new_checkout_flow", pct]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains(&format!("rollout set to {pct}%")), "{out}");
        let now = cohort(flags);
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
    let (code, out, _) = flags_cmd(url, TOKEN, &["kill", "new_checkout_flow"]);
    assert_eq!(code, 0);
    assert!(out.contains("killed"));
    assert!(cohort(flags).is_empty());

    // Fixed: start again at 5%, and the same users come back.
    let (code, out, _) = flags_cmd(url, TOKEN, &["rollout", "new_checkout_flow", "5"]);
    assert_eq!(code, 0);
    assert!(out.contains("is killed"), "{out}");
    let (code, _, _) = flags_cmd(url, TOKEN, &["enable", "new_checkout_flow"]);
    assert_eq!(code, 0);
    assert_eq!(cohort(flags), day1);

    let (code, out, _) = flags_cmd(url, TOKEN, &["list"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("new_checkout_flow  on   {\"rollout\":5}"),
        "{out}"
    );
    let (code, out, _) = flags_cmd(url, TOKEN, &["audit", "3"]);
    assert_eq!(code, 0);
    assert!(out.contains("release-bot"), "{out}");

    // The file says so too, comment and all.
    let text = std::fs::read_to_string(&app.path).unwrap();
    assert_eq!(
        text,
        "[new_checkout_flow]\ndescription = \"New checkout redesign\"\nrollout = 5   # not yet\n"
    );

    // Refusals exit non-zero with the server's reason.
    let (code, _, err) = flags_cmd(url, "", &["kill", "new_checkout_flow"]);
    assert_eq!(code, 1);
    assert!(err.contains("401"), "{err}");
    let (code, _, err) = flags_cmd(url, TOKEN, &["rollout", "new_checkout_flow", "150"]);
    assert_eq!(code, 1);
    assert!(err.contains("between 0 and 100"), "{err}");
    let (code, _, _) = flags_cmd(url, TOKEN, &["frobnicate"]);
    assert_eq!(code, 2);
}

/// `flags rollout NAME 25` writes exactly what the edit vocabulary's one
/// rollout rule writes, and what a guard plan's step to 25% writes: one
/// rule, whichever writer asks (issue: "25%" from an operator and from a
/// plan once gave different definitions).
#[test]
fn the_cli_rollout_writes_what_the_one_rollout_rule_and_a_plan_step_write() {
    use flags_middleware::edit::Edit;
    use flags_middleware::engine::Change;

    let shapes = [
        // A rollout narrowed by a constraint.
        "[f]\nrollout = 20\nwhen = { beta = true }\n",
        // Two rollout rules at one percentage.
        "[f]\n[[f.rules]]\nrollout = 10\nwhen = { country = [\"NO\"] }\n[[f.rules]]\nrollout = 10\n",
        // No rollout at all: a user list and everyone else.
        "[f]\nusers = [\"ann\"]\n",
    ];
    for toml in shapes {
        let app = serve(toml);
        let before = app.flags.snapshot().feature("f").unwrap();
        let by_rule = match Edit::rollout("f", 25).apply(Some(&before)).unwrap() {
            Some(Change::Upsert(f)) => f,
            other => panic!("{toml}: the rule changed nothing: {other:?}"),
        };
        let by_plan = match Edit::plan_step("f", 25, 0).apply(Some(&before)).unwrap() {
            Some(Change::Upsert(f)) => f,
            other => panic!("{toml}: the plan step changed nothing: {other:?}"),
        };
        let (code, out, err) = flags_cmd(&app.url, TOKEN, &["rollout", "f", "25"]);
        assert_eq!(code, 0, "{toml}: {out}{err}");
        let by_cli = app.flags.snapshot().feature("f").unwrap();
        assert_eq!(by_cli, by_rule, "{toml}");
        assert_eq!(by_cli, by_plan, "{toml}");
    }

    // Rules at different percentages: the CLI gets the rule's refusal, and
    // the flag is unchanged.
    let app = serve(
        "[f]\n[[f.rules]]\nrollout = 5\nwhen = { beta = true }\n[[f.rules]]\nrollout = 100\n",
    );
    let before = app.flags.snapshot().feature("f").unwrap();
    let refusal = Edit::rollout("f", 25).apply(Some(&before)).unwrap_err();
    let (code, out, err) = flags_cmd(&app.url, TOKEN, &["rollout", "f", "25"]);
    assert_ne!(code, 0);
    assert!(
        format!("{out}{err}").contains(refusal.message()),
        "{out}{err} vs {refusal}"
    );
    assert_eq!(app.flags.snapshot().feature("f").unwrap(), before);
}
