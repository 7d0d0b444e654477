//! What a user sees before anything is sent: help per subcommand, clear
//! usage errors (exit 2), shell completions.

use crate::support::flags_cmd;

#[test]
fn each_subcommand_has_its_own_help() {
    let (code, out, err) = flags_cmd("", "", &["rollout", "--help"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("Set the share of users who get a flag"),
        "{out}"
    );
    assert!(
        out.contains("Usage: flags rollout [OPTIONS] <NAME> <PERCENT>"),
        "{out}"
    );
    assert!(out.contains("A whole percentage: `25` or `25%`"), "{out}");

    let (code, out, _) = flags_cmd("", "", &["help", "check"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("Usage: flags check [OPTIONS] <FILE>..."),
        "{out}"
    );

    // The top-level help lists every subcommand and the environment.
    let (code, out, _) = flags_cmd("", "", &["--help"]);
    assert_eq!(code, 0);
    for command in [
        "check",
        "list",
        "get",
        "kill",
        "enable",
        "rollout",
        "users",
        "status",
        "audit",
        "completions",
    ] {
        assert!(out.contains(&format!("\n  {command} ")), "{command}: {out}");
    }
    assert!(out.contains("FLAGS_TOKEN"), "{out}");
}

#[test]
fn usage_errors_say_what_is_wrong_and_exit_2() {
    let cases: [(&[&str], &str); 4] = [
        (&["frobnicate"], "unrecognized subcommand 'frobnicate'"),
        (&["rollout", "x"], "<PERCENT>"),
        (
            &["rollout", "x", "lots"],
            "invalid value 'lots' for '<PERCENT>': expected a whole number, like 25 or 25%",
        ),
        (&["audit", "-3"], "unexpected argument '-3'"),
    ];
    for (args, says) in cases {
        let (code, out, err) = flags_cmd("", "", args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert_eq!(out, "", "{args:?}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(err.contains("--help"), "{args:?}: {err}");
    }
}

#[test]
fn completions_for_each_shell() {
    for (shell, marker) in [
        ("bash", "_flags()"),
        ("zsh", "#compdef flags"),
        ("fish", "complete -c flags"),
    ] {
        let (code, out, err) = flags_cmd("", "", &["completions", shell]);
        assert_eq!(code, 0, "{shell}: {err}");
        assert!(out.contains(marker), "{shell}: {out}");
        assert!(out.contains("rollout"), "{shell}");
    }
    let (code, _, err) = flags_cmd("", "", &["completions", "tcsh"]);
    assert_eq!(code, 2);
    assert!(err.contains("invalid value 'tcsh'"), "{err}");
}
