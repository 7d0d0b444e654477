//! `FLAGS_URL` and `--url` as people type them: without a scheme, with a
//! trailing slash; and what the CLI says when no app answers.

use crate::support::{flags_cmd, serve, TOKEN};

#[test]
fn a_url_without_a_scheme_is_taken_as_http() {
    let app = serve("[x]\nrollout = 5\n");
    // The README's walk-through: F=localhost:3000/admin/flags
    let bare = format!("{}/admin/flags", app.addr);
    let (code, out, err) = flags_cmd(&bare, TOKEN, &["kill", "x"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("x: killed (off for everyone), version "),
        "{out}"
    );
    assert!(!app
        .flags
        .is_enabled("x", &flags_middleware::Context::new().user_id("u")));

    // The same from --url, with a trailing slash.
    let (code, out, err) = flags_cmd("", TOKEN, &["--url", &format!("{bare}/"), "enable", "x"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("x: enabled, version "), "{out}");
}

#[test]
fn no_app_at_the_url_is_an_error_naming_it() {
    // Bind and drop a listener: nothing listens on that port now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (code, out, err) = flags_cmd(&format!("127.0.0.1:{port}/admin/flags"), TOKEN, &["list"]);
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert!(
        err.starts_with(&format!(
            "flags: cannot reach http://127.0.0.1:{port}/admin/flags: "
        )),
        "{err}"
    );
}

#[test]
fn an_unsupported_scheme_is_refused_before_connecting() {
    let (code, _, err) = flags_cmd("ftp://127.0.0.1/admin/flags", TOKEN, &["list"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("bad URL `ftp://127.0.0.1/admin/flags`"),
        "{err}"
    );
}
