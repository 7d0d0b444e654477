//! How the page is served, over plain HTTP: where a browser is sent, the
//! headers that keep other origins and inline script out, no token for the
//! files, and the token's role for the page to read.

use crate::service::{Service, READ_TOKEN, WRITE_TOKEN};

const FILES: &[&str] = &[
    "",
    "index.html",
    "style.css",
    "app.js",
    "api.js",
    "dom.js",
    "summary.js",
    "actions.js",
    "list.js",
    "flag.js",
    "chart.js",
    "audit.js",
];

#[tokio::test]
async fn a_browser_opening_the_admin_root_is_sent_to_the_page() {
    let svc = Service::admin_only("[a]\n").await;
    let html = [("accept", "text/html,application/xhtml+xml,*/*;q=0.8")];
    for path in ["/admin/flags", "/admin/flags/", "/admin/flags/_ui"] {
        let (status, _) = svc.send("GET", path, &html, "").await;
        assert_eq!(status, 303, "{path}");
    }
    let resp = svc.send_raw("GET", "/admin/flags", &html).await;
    assert_eq!(resp.headers()["location"], "flags/_ui/");
    let resp = svc.send_raw("GET", "/admin/flags/", &html).await;
    assert_eq!(resp.headers()["location"], "_ui/");

    // API clients get JSON as before: a token, or no text/html.
    let (status, body) = svc.send("GET", "/admin/flags/", &[], "").await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = svc.admin(READ_TOKEN, "GET", "/", "").await;
    assert_eq!(status, 200);
    assert_eq!(body["flags"][0]["name"], "a");
}

#[tokio::test]
async fn the_page_files_need_no_token_and_carry_a_strict_policy() {
    let svc = Service::admin_only("[a]\n").await;
    let mut total = 0;
    for file in FILES {
        let path = format!("/admin/flags/_ui/{file}");
        let resp = svc.send_raw("GET", &path, &[]).await;
        assert_eq!(resp.status(), 200, "{path}");
        let h = resp.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
        ] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert!(h.get("set-cookie").is_none(), "{path}");
        let kind = h["content-type"].to_str().unwrap();
        let want = match file.rsplit('.').next() {
            Some("js") => "text/javascript",
            Some("css") => "text/css",
            _ => "text/html",
        };
        assert!(kind.starts_with(want), "{path}: {kind}");
        if !file.is_empty() {
            total += svc.send("GET", &path, &[], "").await.1.len();
        }
    }
    assert!(total <= 100 * 1024, "the page's files weigh {total} bytes");
    let (status, _) = svc
        .send("GET", "/admin/flags/_ui/secrets.js", &[], "")
        .await;
    assert_eq!(status, 404);

    // No inline script or handler anywhere in the page's markup.
    let (_, html) = svc.send("GET", "/admin/flags/_ui/", &[], "").await;
    assert!(!html.contains("<script>") && !html.contains("onclick") && !html.contains("onload"));
}

#[tokio::test]
async fn whoami_tells_the_page_what_its_token_may_do() {
    let svc = Service::admin_only("[a]\n").await;
    let (status, me) = svc.admin(WRITE_TOKEN, "GET", "/_whoami", "").await;
    assert_eq!(status, 200);
    assert_eq!(me, serde_json::json!({ "name": "ops", "role": "write" }));
    let (_, me) = svc.admin(READ_TOKEN, "GET", "/_whoami", "").await;
    assert_eq!(me, serde_json::json!({ "name": "viewer", "role": "read" }));
    let (status, _) = svc.admin("not-a-token-at-all", "GET", "/_whoami", "").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn one_flag_comes_with_its_definition_as_toml() {
    let svc = Service::admin_only("[a]\ndescription = \"A\"\nrollout = 20 # why\n").await;
    let (_, one) = svc.admin(READ_TOKEN, "GET", "/a", "").await;
    assert_eq!(
        one["flag"]["toml"],
        "[a]\ndescription = \"A\"\nrollout = 20\n"
    );
}

#[tokio::test]
async fn plan_operations_honour_if_match() {
    let svc = Service::checkout("").await;
    let (status, _) = svc
        .admin(
            WRITE_TOKEN,
            "PUT",
            "/new_checkout_flow/plan",
            r#""gradual""#,
        )
        .await;
    assert_eq!(status, 200);
    crate::workflows::wait_for_plan(&svc, "running").await;
    let version = svc.flags.snapshot().version();
    let stale = format!("\"{}\"", version - 1);
    let auth = format!("Bearer {WRITE_TOKEN}");
    let pause = "/admin/flags/new_checkout_flow/plan/pause";
    let (status, body) = svc
        .send(
            "POST",
            pause,
            &[("authorization", &auth), ("if-match", &stale)],
            "",
        )
        .await;
    assert_eq!(status, 412, "{body}");
    assert!(body.contains("version_mismatch"), "{body}");
    let (_, guard) = svc.admin(WRITE_TOKEN, "GET", "/_guard", "").await;
    assert_eq!(guard["flags"][0]["plan"]["status"], "running");

    let current = format!("\"{version}\"");
    let (status, body) = svc
        .send(
            "POST",
            pause,
            &[("authorization", &auth), ("if-match", &current)],
            "",
        )
        .await;
    assert_eq!(status, 200, "{body}");
}
