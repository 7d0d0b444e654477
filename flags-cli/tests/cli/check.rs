//! `flags check`: offline, the readable report with line and column.

use crate::support::flags_cmd;

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
