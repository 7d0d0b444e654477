//! `Evaluation::random` says when an answer came from a random roll (no
//! sticky id), including a roll made for a flag this one depends on: callers
//! rely on it to know that asking again may give another answer.

use flags_core::{engine::Mode, format::toml, Context, Snapshot};

const FLAGS: &str = r#"
[coin]
rollout = { percent = 50, stickiness = "random" }

[follows_coin]
requires = ["coin"]

[sticky]
rollout = 50

[follows_sticky]
requires = ["sticky"]
"#;

fn snapshot() -> Snapshot {
    let set = toml::parse(FLAGS, "flags.toml").unwrap();
    Snapshot::compile(&set, Mode::Strict, "flags.toml").unwrap()
}

#[test]
fn a_parents_random_roll_makes_the_childs_answer_random() {
    let snapshot = snapshot();
    let nobody = Context::new();
    let (mut on, mut off) = (0, 0);
    for _ in 0..200 {
        let child = snapshot.evaluate("follows_coin", &nobody);
        assert!(child.random, "decided by coin's roll, on={}", child.enabled);
        if child.enabled {
            on += 1;
        } else {
            off += 1;
        }
    }
    // The roll really decides both ways.
    assert!(on > 0 && off > 0, "on {on}, off {off}");
}

#[test]
fn sticky_answers_are_not_marked_random() {
    let snapshot = snapshot();
    let user = Context::new().user_id("u-1");
    assert!(!snapshot.evaluate("sticky", &user).random);
    assert!(!snapshot.evaluate("follows_sticky", &user).random);
    // A user id does not make a `stickiness = "random"` parent sticky.
    assert!(snapshot.evaluate("follows_coin", &user).random);
}
