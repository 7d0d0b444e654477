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
