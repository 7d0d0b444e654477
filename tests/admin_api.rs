//! The admin API against a real flags file in a temp dir: auth, validation,
//! optimistic concurrency, persistence with comments, the audit log.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use flags_middleware::admin::{AdminConfig, Role};
use flags_middleware::{Context, Flags};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

const WRITE: &str = "write-token-0123456789";
const READ: &str = "read-token-0123456789";

const FILE: &str = r#"# Flags for the shop.

[new_checkout_flow]
description = "New checkout redesign - gradual rollout"
rollout = 20                       # percent of users, sticky per user id

[ai_recommendations]
users = ["user_123", "user_456"]   # try it on staff first

[beta_search]
when = { beta = true }

# Deprecated: keep off.
[legacy_api]
enabled = false
"#;

struct Env {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    flags: Flags,
    app: Router,
}

fn config() -> AdminConfig {
    AdminConfig::new()
        .token("ops", WRITE, Role::Write)
        .token("dashboard", READ, Role::Read)
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flags.toml");
    std::fs::write(&path, FILE).unwrap();
    let flags = Flags::from_file(&path).unwrap();
    let app = Router::new().nest("/admin/flags", flags.admin_router(config()));
    Env {
        _dir: dir,
        path,
        flags,
        app,
    }
}

async fn call(
    app: &Router,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    if_match: Option<&str>,
) -> (StatusCode, Value, Option<String>) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if let Some(v) = if_match {
        req = req.header(header::IF_MATCH, v);
    }
    let body = match body {
        Some(b) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    let resp = app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
    let status = resp.status();
    let etag = resp
        .headers()
        .get(header::ETAG)
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, json, etag)
}

#[tokio::test]
async fn auth_matrix() {
    let e = env();
    let cases = [
        (None, Method::GET, "/admin/flags", StatusCode::UNAUTHORIZED),
        (
            Some("wrong-token-0123456789"),
            Method::GET,
            "/admin/flags",
            StatusCode::UNAUTHORIZED,
        ),
        (Some(READ), Method::GET, "/admin/flags", StatusCode::OK),
        (Some(WRITE), Method::GET, "/admin/flags", StatusCode::OK),
        (
            None,
            Method::POST,
            "/admin/flags/beta_search/kill",
            StatusCode::UNAUTHORIZED,
        ),
        (
            Some("wrong"),
            Method::POST,
            "/admin/flags/beta_search/kill",
            StatusCode::UNAUTHORIZED,
        ),
        (
            Some(READ),
            Method::POST,
            "/admin/flags/beta_search/kill",
            StatusCode::FORBIDDEN,
        ),
        (
            Some(READ),
            Method::GET,
            "/admin/flags/_audit",
            StatusCode::OK,
        ),
        (
            Some(READ),
            Method::DELETE,
            "/admin/flags/beta_search",
            StatusCode::FORBIDDEN,
        ),
    ];
    for (token, method, path, want) in cases {
        let (status, body, _) = call(&e.app, method.clone(), path, token, None, None).await;
        assert_eq!(status, want, "{method} {path} with {token:?}: {body}");
    }
    // Refused requests changed nothing.
    assert_eq!(e.flags.version(), 1);
    let (status, _, _) = call(
        &e.app,
        Method::POST,
        "/admin/flags/beta_search/kill",
        Some(WRITE),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(e.flags.version(), 2);
}

#[tokio::test]
async fn unauthorized_says_how_to_authenticate() {
    let e = env();
    let req = Request::get("/admin/flags").body(Body::empty()).unwrap();
    let resp = e.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        resp.headers()[header::WWW_AUTHENTICATE],
        "Bearer realm=\"flags\""
    );
}

#[tokio::test]
async fn no_tokens_means_no_access_unless_opted_out() {
    let flags = Flags::from_toml_str("[a]\n", "x").unwrap();
    let closed: Router = Router::new().nest("/f", flags.admin_router(AdminConfig::new()));
    let (status, body, _) = call(&closed, Method::GET, "/f", Some("anything"), None, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"], "disabled");

    let open: Router = Router::new().nest(
        "/f",
        flags.admin_router(AdminConfig::new().allow_without_auth()),
    );
    // A page of another site, posting through a visitor's browser (a form
    // needs no preflight): refused, whatever the browser says it by.
    let from = |headers: &[(&str, &str)]| {
        let mut req = Request::post("/f/a/kill").header("host", "127.0.0.1:3000");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        open.clone().oneshot(req.body(Body::empty()).unwrap())
    };
    for headers in [
        &[("sec-fetch-site", "cross-site")][..],
        &[("sec-fetch-site", "same-site")],
        &[("origin", "https://attacker.example")],
        &[("origin", "null")],
    ] {
        let res = from(headers).await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{headers:?}");
    }
    assert!(
        flags.is_enabled("a", &Context::new()),
        "nothing was changed"
    );
    // Its own pages, and clients that are not browsers, are served.
    let own = from(&[
        ("origin", "http://127.0.0.1:3000"),
        ("sec-fetch-site", "same-origin"),
    ]);
    assert_eq!(own.await.unwrap().status(), StatusCode::OK);
    assert!(!flags.is_enabled("a", &Context::new()));
    let (status, _, _) = call(&open, Method::POST, "/f/a/enable", None, None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(flags.audit_log(0, 1).unwrap()[0].actor, "anonymous");
}

#[tokio::test]
async fn answers_are_not_kept_by_caches() {
    let e = env();
    for (token, path) in [(Some(READ), "/admin/flags"), (None, "/admin/flags/_status")] {
        let mut req = Request::get(path);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let res = e
            .app
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store", "{path}");
    }
}

#[tokio::test]
async fn a_created_flag_is_at_its_location() {
    let e = env();
    // Creates `name`; the 201's `Location`, then what a read of it finds.
    let create = |name: &str| {
        let req = Request::post("/admin/flags")
            .header(header::AUTHORIZATION, format!("Bearer {WRITE}"))
            .body(Body::from(json!({ "name": name }).to_string()))
            .unwrap();
        let app = e.app.clone();
        async move {
            let res = app.clone().oneshot(req).await.unwrap();
            assert_eq!(res.status(), StatusCode::CREATED);
            let location = res.headers()[header::LOCATION].to_str().unwrap().to_owned();
            let (status, body, _) =
                call(&app, Method::GET, &location, Some(READ), None, None).await;
            assert_eq!(status, StatusCode::OK, "{location}");
            (location, body["flag"]["name"].clone())
        }
    };
    assert_eq!(
        create("dark_mode").await,
        ("/admin/flags/dark_mode".to_owned(), json!("dark_mode"))
    );
    // A name in any script: percent-encoded, and found again.
    assert_eq!(
        create("sidebar_ø").await,
        ("/admin/flags/sidebar_%C3%B8".to_owned(), json!("sidebar_ø"))
    );
}

#[tokio::test]
async fn bad_bodies_are_400_and_change_nothing() {
    let e = env();
    let cases = [
        (
            Method::PUT,
            "/admin/flags/new_checkout_flow/rollout",
            json!({"percent": 150}),
            "percent",
        ),
        (
            Method::PUT,
            "/admin/flags/new_checkout_flow",
            json!({"rollout": 20, "requires": "no_such_flag"}),
            "requires",
        ),
        (
            Method::PUT,
            "/admin/flags/beta_search",
            json!({"when": {"email": {"op": "regex", "value": "(unclosed"}}}),
            "when.email.value",
        ),
        (
            Method::PUT,
            "/admin/flags/beta_search",
            json!({"rolout": 5}),
            "rolout",
        ),
        (
            Method::POST,
            "/admin/flags",
            json!({"name": "fresh", "rollout": -3}),
            "rollout",
        ),
        (
            Method::PUT,
            "/admin/flags/ai_recommendations/users",
            json!({"users": ["a,b"]}),
            "users[0]",
        ),
        (
            Method::PUT,
            "/admin/flags/beta_search",
            json!({"name": "beta_search", "enabled": true, "strategies": [{"name": "flexibleRollout", "parameters": {"rollout": "150"}}]}),
            "strategies[0].parameters.rollout",
        ),
        // Unleash's shape without `enabled` (a typo, or left out): not
        // taken as a flag that is off for everyone.
        (
            Method::PUT,
            "/admin/flags/beta_search",
            json!({"strategies": [{"name": "default"}], "enable": true}),
            "enabled",
        ),
    ];
    for (method, path, body, field) in cases {
        let (status, got, _) = call(
            &e.app,
            method.clone(),
            path,
            Some(WRITE),
            Some(body.clone()),
            None,
        )
        .await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{method} {path} {body}: {got}"
        );
        assert_eq!(got["error"], "invalid", "{got}");
        let fields: Vec<&str> = got["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert!(
            fields.contains(&field),
            "{method} {path}: want field {field}, got {got}"
        );
    }
    let (status, got, _) = call(
        &e.app,
        Method::PUT,
        "/admin/flags/beta_search",
        Some(WRITE),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{got}");
    let (status, _, _) = call(
        &e.app,
        Method::POST,
        "/admin/flags/no_such_flag/kill",
        Some(WRITE),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    assert_eq!(e.flags.version(), 1);
    assert_eq!(std::fs::read_to_string(&e.path).unwrap(), FILE);
    assert!(e.flags.audit_log(0, 10).unwrap().is_empty());
}

#[tokio::test]
async fn writes_persist_with_comments_and_survive_a_restart() {
    let e = env();
    let (s, body, etag) = call(
        &e.app,
        Method::PUT,
        "/admin/flags/new_checkout_flow/rollout",
        Some(WRITE),
        Some(json!({"percent": 25})),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(etag.as_deref(), Some("\"2\""));
    assert_eq!(body["flag"]["definition"]["rollout"], 25);
    let (s, _, _) = call(
        &e.app,
        Method::POST,
        "/admin/flags/legacy_api/enable",
        Some(WRITE),
        None,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = call(
        &e.app,
        Method::PUT,
        "/admin/flags/ai_recommendations/users",
        Some(WRITE),
        Some(json!({"users": ["user_123", "user_789"]})),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, body, _) = call(
        &e.app,
        Method::POST,
        "/admin/flags",
        Some(WRITE),
        Some(json!({"name": "dark_mode", "variants": {"dark": 50, "light": 50}})),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, _, _) = call(
        &e.app,
        Method::DELETE,
        "/admin/flags/beta_search",
        Some(WRITE),
        None,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);

    let text = std::fs::read_to_string(&e.path).unwrap();
    let expected = FILE
        .replace("rollout = 20     ", "rollout = 25     ")
        // A bare `enabled = false` goes when the flag is enabled again.
        .replace("[legacy_api]\nenabled = false\n", "[legacy_api]\n")
        .replace("\"user_456\"]", "\"user_789\"]")
        .replace("[beta_search]\nwhen = { beta = true }\n\n", "")
        + "\n[dark_mode]\nvariants = { dark = 50, light = 50 }\n";
    assert_eq!(text, expected);

    // A fresh process reads the same flags.
    let live = e.flags.snapshot().to_flag_set();
    drop(e.app);
    drop(e.flags);
    let again = Flags::from_file(&e.path).unwrap();
    assert_eq!(again.snapshot().to_flag_set(), live);
    assert!(again.is_enabled("legacy_api", &Context::new()));

    // Every change is in the audit log beside the file, newest first.
    let entries = again.audit_log(0, 10).unwrap();
    let actions: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e.action.as_str(), e.flag.as_str()))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("delete", "beta_search"),
            ("create", "dark_mode"),
            ("users", "ai_recommendations"),
            ("enable", "legacy_api"),
            ("rollout 25%", "new_checkout_flow"),
        ]
    );
    assert!(entries.iter().all(|e| e.actor == "ops"));
    assert_eq!(entries[3].before.as_ref().unwrap()["enabled"], false);
    assert_eq!(entries[3].after.as_ref().unwrap()["enabled"], true);
    assert!(entries[0].after.is_none());
    assert!(e.path.with_file_name("flags.audit.jsonl").exists());
}

/// Stops the app, runs `while_down` on the flags file, and starts it again.
fn restart(e: Env, while_down: impl FnOnce(&std::path::Path)) -> Env {
    let Env {
        _dir,
        path,
        flags,
        app,
    } = e;
    drop((app, flags));
    while_down(&path);
    let flags = Flags::from_file(&path).unwrap();
    let app = Router::new().nest("/admin/flags", flags.admin_router(config()));
    Env {
        _dir,
        path,
        flags,
        app,
    }
}

#[tokio::test]
async fn an_if_match_from_before_a_restart_is_412() {
    let e = env();
    let rollout = |pct: u32| Some(json!({ "percent": pct }));
    let path = "/admin/flags/new_checkout_flow/rollout";
    let (_, _, etag) = call(
        &e.app,
        Method::GET,
        path.trim_end_matches("/rollout"),
        Some(READ),
        None,
        None,
    )
    .await;
    assert_eq!(etag.as_deref(), Some("\"1\""));
    let (s, _, etag) = call(
        &e.app,
        Method::PUT,
        path,
        Some(WRITE),
        rollout(25),
        Some("\"1\""),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(etag.as_deref(), Some("\"2\""));

    // After a restart the version counts on from where it was, so a client
    // still holding "1" cannot overwrite the 25% it never saw.
    let e = restart(e, |_| {});
    assert_eq!(e.flags.version(), 2);
    let text = std::fs::read_to_string(&e.path).unwrap();
    let (s, body, _) = call(
        &e.app,
        Method::PUT,
        path,
        Some(WRITE),
        rollout(5),
        Some("\"1\""),
    )
    .await;
    assert_eq!(s, StatusCode::PRECONDITION_FAILED, "{body}");
    assert_eq!(body["current_version"], 2);
    assert_eq!(std::fs::read_to_string(&e.path).unwrap(), text);

    // Edited while the app was down: a new version at startup.
    let e = restart(e, |path| {
        std::fs::write(path, text.replace("rollout = 25", "rollout = 30")).unwrap();
    });
    assert_eq!(e.flags.version(), 3);
    let (s, _, _) = call(
        &e.app,
        Method::PUT,
        path,
        Some(WRITE),
        rollout(5),
        Some("\"2\""),
    )
    .await;
    assert_eq!(s, StatusCode::PRECONDITION_FAILED);
    let (s, _, etag) = call(
        &e.app,
        Method::PUT,
        path,
        Some(WRITE),
        rollout(5),
        Some("\"3\""),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(etag.as_deref(), Some("\"4\""));

    // The audit log never repeats a version.
    let versions: Vec<u64> = e
        .flags
        .audit_log(0, 10)
        .unwrap()
        .iter()
        .map(|a| a.version)
        .collect();
    assert_eq!(versions, vec![4, 2]);
}

#[tokio::test]
async fn stale_if_match_is_412_and_changes_nothing() {
    let e = env();
    let (_, _, etag) = call(
        &e.app,
        Method::GET,
        "/admin/flags/legacy_api",
        Some(READ),
        None,
        None,
    )
    .await;
    let etag = etag.unwrap();
    let (s, _, _) = call(
        &e.app,
        Method::POST,
        "/admin/flags/legacy_api/enable",
        Some(WRITE),
        None,
        Some(&etag),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    // Someone else's write moved the version on: the same ETag is stale now.
    let text = std::fs::read_to_string(&e.path).unwrap();
    let (s, body, _) = call(
        &e.app,
        Method::POST,
        "/admin/flags/legacy_api/kill",
        Some(WRITE),
        None,
        Some(&etag),
    )
    .await;
    assert_eq!(s, StatusCode::PRECONDITION_FAILED, "{body}");
    assert_eq!(body["current_version"], 2);
    let (s, _, _) = call(
        &e.app,
        Method::PUT,
        "/admin/flags/legacy_api",
        Some(WRITE),
        Some(json!({"enabled": false})),
        Some(&etag),
    )
    .await;
    assert_eq!(s, StatusCode::PRECONDITION_FAILED);
    assert!(e.flags.is_enabled("legacy_api", &Context::new()));
    assert_eq!(std::fs::read_to_string(&e.path).unwrap(), text);
}

/// `GET /_audit?flag=name` finds a flag's entries anywhere in the log, not
/// only among the newest page.
#[tokio::test]
async fn one_flags_audit_entries_come_from_the_whole_log() {
    let e = env();
    let ops = e.flags.writer("ops");
    ops.commit(flags_middleware::edit::Edit::kill("beta_search"))
        .await
        .unwrap();
    // 600 later changes to another flag bury it past a page of 500.
    for i in 0..600u32 {
        ops.commit(flags_middleware::edit::Edit::rollout(
            "new_checkout_flow",
            i % 100,
        ))
        .await
        .unwrap();
    }
    let get = |path: &'static str| call(&e.app, Method::GET, path, Some(READ), None, None);
    let (status, newest, _) = get("/admin/flags/_audit?limit=500").await;
    assert_eq!(status, StatusCode::OK);
    let entries = newest["entries"].as_array().unwrap();
    assert!(entries.iter().all(|x| x["flag"] == "new_checkout_flow"));
    let (status, mine, _) = get("/admin/flags/_audit?flag=beta_search").await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["flag"], "beta_search");
    let entries = mine["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{mine}");
    assert_eq!(entries[0]["action"], "kill");
    let (_, paged, _) = get("/admin/flags/_audit?flag=new_checkout_flow&offset=10&limit=3").await;
    let entries = paged["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    assert!(entries.iter().all(|x| x["flag"] == "new_checkout_flow"));
    let (_, none, _) = get("/admin/flags/_audit?flag=no_such_flag").await;
    assert_eq!(none["entries"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_are_serialized() {
    let e = env();
    let mut tasks = Vec::new();
    for i in 0..24u32 {
        let app = e.app.clone();
        tasks.push(tokio::spawn(async move {
            let (path, body) = match i % 3 {
                0 => (
                    "/admin/flags/new_checkout_flow/rollout".to_owned(),
                    Some(json!({"percent": i})),
                ),
                1 => (
                    "/admin/flags/ai_recommendations/users".to_owned(),
                    Some(json!({"users": [format!("u{i}")]})),
                ),
                _ => ("/admin/flags/legacy_api/enable".to_owned(), None),
            };
            let method = if body.is_some() {
                Method::PUT
            } else {
                Method::POST
            };
            call(&app, method, &path, Some(WRITE), body, None).await
        }));
    }
    let mut versions = Vec::new();
    for t in tasks {
        let (s, body, _) = t.await.unwrap();
        assert_eq!(s, StatusCode::OK, "{body}");
        if body["changed"] == true {
            versions.push(body["version"].as_u64().unwrap());
        }
    }
    versions.sort_unstable();
    // Each accepted write got its own version, with no gaps.
    let expect: Vec<u64> = (2..2 + versions.len() as u64).collect();
    assert_eq!(versions, expect);
    // What is live is what is on disk.
    let on_disk =
        flags_middleware::format::toml::parse(&std::fs::read_to_string(&e.path).unwrap(), "x")
            .unwrap();
    let mut live = e.flags.snapshot().to_flag_set();
    let mut disk = on_disk.clone();
    live.features.sort_by(|a, b| a.name.cmp(&b.name));
    disk.features.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(live, disk);
    assert!(std::fs::read_to_string(&e.path)
        .unwrap()
        .contains("# Deprecated: keep off."));
}

/// A broken hand edit is shown at `/_status` (file, flag, field, line,
/// column) while the last good flags keep serving, until a good edit.
#[tokio::test]
async fn a_broken_hand_edit_is_shown_at_status() {
    let e = env();
    let text = std::fs::read_to_string(&e.path).unwrap();
    std::fs::write(&e.path, text.replace("rollout = 20", "rollout = 150")).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let body = loop {
        let body = status(&e.app).await;
        if !body["last_error"].is_null() {
            break body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no error shown: {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    let err = &body["last_error"]["errors"][0];
    assert!(
        err["source"].as_str().unwrap().ends_with("flags.toml"),
        "{err}"
    );
    assert_eq!(err["flag"], "new_checkout_flow", "{err}");
    assert_eq!(err["field"], "rollout", "{err}");
    let line = text
        .lines()
        .position(|l| l.starts_with("rollout = 20"))
        .unwrap()
        + 1;
    assert_eq!(
        (err["line"].as_u64(), err["column"].as_u64()),
        (Some(line as u64), Some(11))
    );
    assert!(err["message"].as_str().unwrap().contains("150"), "{err}");
    assert_eq!(body["version"], 1, "the last good flags keep serving");

    std::fs::write(&e.path, &text).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !status(&e.app).await["last_error"].is_null() {
        assert!(
            std::time::Instant::now() < deadline,
            "the error outlived the fix"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// `GET /_status` with the read token: 200 and its body.
async fn status(app: &Router) -> Value {
    let (s, body, _) = call(
        app,
        Method::GET,
        "/admin/flags/_status",
        Some(READ),
        None,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn status_and_definitions() {
    let e = env();
    let body = status(&e.app).await;
    assert_eq!(body["version"], 1);
    assert!(body["source"].as_str().unwrap().ends_with("flags.toml"));
    assert!(body["last_error"].is_null());

    let (s, body, _) = call(&e.app, Method::GET, "/admin/flags", Some(READ), None, None).await;
    assert_eq!(s, StatusCode::OK);
    let names: Vec<&str> = body["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "ai_recommendations",
            "beta_search",
            "legacy_api",
            "new_checkout_flow"
        ]
    );
    assert_eq!(
        body["flags"][1]["definition"],
        json!({"when": {"beta": true}})
    );
    assert_eq!(
        body["flags"][3]["unleash"]["strategies"][0]["name"],
        "flexibleRollout"
    );
    assert!(body["flags"][0]["counters"].is_object());

    // Unleash's shape is accepted for a replace too.
    let unleash = json!({"name": "beta_search", "enabled": true, "strategies": [
        {"name": "userWithId", "parameters": {"userIds": "ann"}}]});
    let (s, body, _) = call(
        &e.app,
        Method::PUT,
        "/admin/flags/beta_search",
        Some(WRITE),
        Some(unleash),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["flag"]["definition"], json!({"users": ["ann"]}));
    assert!(e
        .flags
        .is_enabled("beta_search", &Context::new().user_id("ann")));

    let (s, _, _) = call(
        &e.app,
        Method::POST,
        "/admin/flags",
        Some(WRITE),
        Some(json!({"name": "beta_search"})),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
}

mod guard {
    //! `GET /_guard` and `POST /{name}/plan/{op}`, with a guard on a fake
    //! clock and hand-fed counts, over the same file-backed flags.

    use std::time::Duration;

    use flags_middleware::guard::{
        FlagsApplier, Guard, GuardConfig, ManualClock, ManualCounts, Plan, PlanStatus, Side,
    };

    use super::*;

    const FLAG: &str = "new_checkout_flow";

    struct GuardEnv {
        env: Env,
        guard: Guard,
        counts: ManualCounts,
        clock: ManualClock,
    }

    async fn guard_env() -> GuardEnv {
        let env = env();
        let counts = ManualCounts::new();
        let clock = ManualClock::new();
        let guard = Guard::builder(counts.clone(), FlagsApplier::new(env.flags.clone()))
            .clock(clock.clone())
            .plan(FLAG, GuardConfig::new(), Plan::gradual())
            .build();
        // The first check applies the plan's first step (5%).
        guard.check().await;
        let app = Router::new().nest(
            "/admin/flags",
            env.flags.admin_router(config().guard(guard.clone())),
        );
        GuardEnv {
            env: Env { app, ..env },
            guard,
            counts,
            clock,
        }
    }

    async fn plan_op(g: &GuardEnv, flag: &str, op: &str, token: &str) -> (StatusCode, Value) {
        let path = format!("/admin/flags/{flag}/plan/{op}");
        let (status, body, _) =
            call(&g.env.app, Method::POST, &path, Some(token), None, None).await;
        (status, body)
    }

    async fn state(g: &GuardEnv, token: &str) -> (StatusCode, Value) {
        let (status, body, _) = call(
            &g.env.app,
            Method::GET,
            "/admin/flags/_guard",
            Some(token),
            None,
            None,
        )
        .await;
        (status, body)
    }

    #[tokio::test]
    async fn guard_state_shows_window_verdict_and_plan() {
        let g = guard_env().await;
        g.counts.add(FLAG, Side::New, 80, 1);
        g.counts.add(FLAG, Side::Old, 1520, 8);
        g.clock.advance(Duration::from_secs(5));
        g.guard.check().await;

        assert_eq!(state(&g, "nope").await.0, StatusCode::UNAUTHORIZED);
        let (status, body) = state(&g, READ).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let flags = body["flags"].as_array().unwrap();
        assert_eq!(flags.len(), 1);
        let f = &flags[0];
        assert_eq!(f["flag"], FLAG);
        assert_eq!(f["window"]["new"]["requests"], 80);
        assert_eq!(f["window"]["new"]["bad"], 1);
        assert_eq!(f["window"]["old"]["requests"], 1520);
        assert_eq!(f["last"]["status"], json!("healthy"), "{f}");
        assert_eq!(f["plan"]["status"], "running");
        assert_eq!(f["plan"]["percent"], 5);
        assert_eq!(f["plan"]["step"], 0);
        assert_eq!(body["checks"], 2);
        assert!(body["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "advanced" && e["to"] == 5));
    }

    #[tokio::test]
    async fn plan_control_needs_a_write_token_and_a_plan_in_the_right_state() {
        let g = guard_env().await;
        let (status, _) = plan_op(&g, FLAG, "pause", READ).await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        let (status, body) = plan_op(&g, FLAG, "pause", WRITE).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["event"]["kind"], "paused");
        assert_eq!(body["plan"]["status"], "paused");
        // A paused plan does not advance, however long it waits.
        g.clock.advance(Duration::from_secs(10 * 86_400));
        g.counts.add(FLAG, Side::New, 5000, 0);
        g.counts.add(FLAG, Side::Old, 5000, 0);
        g.guard.check().await;
        assert_eq!(state(&g, READ).await.1["flags"][0]["plan"]["percent"], 5);

        let (status, body) = plan_op(&g, FLAG, "resume", WRITE).await;
        assert_eq!(
            (status, body["plan"]["status"].clone()),
            (StatusCode::OK, json!("running"))
        );
        let (status, body) = plan_op(&g, FLAG, "resume", WRITE).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");

        let (status, body) = plan_op(&g, "legacy_api", "pause", WRITE).await;
        assert_eq!(
            (status, body["error"].clone()),
            (StatusCode::NOT_FOUND, json!("not_guarded"))
        );
        let (status, _) = plan_op(&g, FLAG, "explode", WRITE).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        let (status, body) = plan_op(&g, FLAG, "abandon", WRITE).await;
        assert_eq!(
            (status, body["plan"]["status"].clone()),
            (StatusCode::OK, json!("abandoned"))
        );
        let (status, _) = plan_op(&g, FLAG, "pause", WRITE).await;
        assert_eq!(status, StatusCode::CONFLICT);
    }

    /// The incident path: the guard kills (through the store, so the file
    /// says so and the audit log has the figures), the plan halts, and a
    /// restart through the API brings the flag back at the first step.
    #[tokio::test]
    async fn a_kill_halts_the_plan_and_a_restart_brings_the_first_step_back() {
        let g = guard_env().await;
        let mut killed = false;
        for _ in 0..30 {
            g.counts.add(FLAG, Side::New, 10, 3);
            g.counts.add(FLAG, Side::Old, 190, 1);
            g.clock.advance(Duration::from_secs(1));
            g.guard.check().await;
            if !g.env.flags.snapshot().feature(FLAG).unwrap().enabled {
                killed = true;
                break;
            }
        }
        assert!(killed, "the guard kills the flag");
        let (_, body) = state(&g, READ).await;
        assert_eq!(body["flags"][0]["plan"]["status"], "halted");
        assert_eq!(body["flags"][0]["kills"], 1);
        assert_eq!(body["flags"][0]["last"]["status"], "kill");
        let on_disk = std::fs::read_to_string(&g.env.path).unwrap();
        assert!(on_disk.contains("enabled = false"), "{on_disk}");

        let (_, audit, _) = call(
            &g.env.app,
            Method::GET,
            "/admin/flags/_audit",
            Some(READ),
            None,
            None,
        )
        .await;
        let kill = &audit["entries"][0];
        assert_eq!(
            (kill["actor"].clone(), kill["action"].clone()),
            (json!("guard"), json!("kill"))
        );
        let message = kill["message"].as_str().unwrap();
        assert!(
            message.starts_with("guard: new arm 30.0% errors over "),
            "{message}"
        );

        let (status, body) = plan_op(&g, FLAG, "restart", WRITE).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["plan"]["status"], "running");
        assert_eq!(body["plan"]["percent"], 5);
        let snap = g.env.flags.snapshot();
        let f = snap.feature(FLAG).unwrap();
        assert!(f.enabled);
        let (_, audit, _) = call(
            &g.env.app,
            Method::GET,
            "/admin/flags/_audit",
            Some(READ),
            None,
            None,
        )
        .await;
        assert_eq!(audit["entries"][0]["action"], "rollout");
        // The operator restarted it: theirs, not the guard's.
        assert_eq!(audit["entries"][0]["actor"], "ops");
    }

    /// Opting in at run time: the settings and the plan go into the flag's
    /// definition (the file, the audit log), and a guard following the
    /// flags picks them up; bad settings are a 400 naming the field.
    #[tokio::test]
    async fn a_flag_opts_in_through_the_api_and_the_guard_follows() {
        let e = env();
        let counts = ManualCounts::new();
        let clock = ManualClock::new();
        let guard = Guard::builder(counts.clone(), FlagsApplier::new(e.flags.clone()))
            .clock(clock.clone())
            .follow(&e.flags)
            .build();
        let app = Router::new().nest(
            "/admin/flags",
            e.flags.admin_router(config().guard(guard.clone())),
        );
        let put = |path: &str, body: Value| {
            let (app, path) = (app.clone(), format!("/admin/flags/{FLAG}/{path}"));
            async move { call(&app, Method::PUT, &path, Some(WRITE), Some(body), None).await }
        };
        let watched = |guard: &Guard| guard.snapshot().flag(FLAG).map(|f| f.config.clone());
        assert!(watched(&guard).is_none());

        let (status, body, _) =
            put("guard", json!({"min_difference": "2%", "window": "10m"})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let config = watched(&guard).expect("watched once its definition asks");
        assert_eq!(config.settings().min_difference, 0.02);
        assert_eq!(config.settings().window, Duration::from_secs(600));
        let on_disk = std::fs::read_to_string(&e.path).unwrap();
        assert!(
            on_disk.contains(r#"guard = { min_difference = "2%", window = "10m" }"#),
            "{on_disk}"
        );

        let (status, body, _) = put("guard", json!({"window": "forever"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["errors"][0]["field"], "guard.window", "{body}");
        let (status, body, _) = put("guard", json!({"max_error_rate": 2})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let (status, body, _) = put("plan", json!([{"percent": 50}, {"percent": 10}])).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["errors"][0]["field"], "plan", "{body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("steps must go up"),
            "{body}"
        );

        // The flag is at 20%: the plan picks up there, and goes on.
        let plan = json!([{"percent": 20, "for": "1d"}, {"percent": 100}]);
        let (status, body, _) = put("plan", plan).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        guard.check().await;
        let position = |guard: &Guard| {
            let plan = guard.snapshot().flag(FLAG).unwrap().plan.clone().unwrap();
            (plan.status, plan.percent)
        };
        assert_eq!(position(&guard), (PlanStatus::Running, Some(20)));
        // With an `If-Match` the flags have moved past: refused, nothing done.
        let pause = format!("/admin/flags/{FLAG}/plan/pause");
        let seen = format!("\"{}\"", e.flags.version() - 1);
        let (status, body, _) =
            call(&app, Method::POST, &pause, Some(WRITE), None, Some(&seen)).await;
        assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");
        assert_eq!(body["current_version"], e.flags.version(), "{body}");
        assert_eq!(position(&guard), (PlanStatus::Running, Some(20)));
        let now = format!("\"{}\"", e.flags.version());
        let (status, body, etag) =
            call(&app, Method::POST, &pause, Some(WRITE), None, Some(&now)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // Like every flag write's answer, it carries the new version.
        assert_eq!(etag, Some(format!("\"{}\"", e.flags.version())));
        let (_, audit, _) = call(
            &app,
            Method::GET,
            "/admin/flags/_audit",
            Some(READ),
            None,
            None,
        )
        .await;
        let entry = &audit["entries"][0];
        assert_eq!(entry["action"], "plan pause");
        // The operator made it, not the guard.
        assert_eq!(entry["actor"], "ops");
        assert_eq!(entry["message"], "plan: paused by ops");
        assert_eq!(entry["after"]["plan"]["paused"], true);
        let on_disk = std::fs::read_to_string(&e.path).unwrap();
        assert!(on_disk.contains("paused = true"), "{on_disk}");
        guard.resume(FLAG).await.unwrap();

        counts.add(FLAG, Side::New, 500, 1);
        counts.add(FLAG, Side::Old, 2000, 4);
        clock.advance(Duration::from_secs(86_400));
        guard.check().await;
        assert_eq!(position(&guard), (PlanStatus::Running, Some(100)));
        let on_disk = std::fs::read_to_string(&e.path).unwrap();
        assert!(on_disk.contains("rollout = 100"), "{on_disk}");

        let (status, _, _) = call(
            &app,
            Method::DELETE,
            &format!("/admin/flags/{FLAG}/guard"),
            Some(WRITE),
            None,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        guard.check().await;
        assert!(watched(&guard).is_none());
        let f = e.flags.snapshot().feature(FLAG).unwrap();
        assert!(f.guard.is_none() && f.plan.is_none());
    }

    #[tokio::test]
    async fn without_a_guard_the_endpoints_say_so() {
        let e = env();
        let (status, body, _) = call(
            &e.app,
            Method::GET,
            "/admin/flags/_guard",
            Some(READ),
            None,
            None,
        )
        .await;
        assert_eq!(
            (status, body["error"].clone()),
            (StatusCode::NOT_FOUND, json!("no_guard"))
        );
        let (status, body, _) = call(
            &e.app,
            Method::POST,
            &format!("/admin/flags/{FLAG}/plan/pause"),
            Some(WRITE),
            None,
            None,
        )
        .await;
        assert_eq!(
            (status, body["error"].clone()),
            (StatusCode::NOT_FOUND, json!("no_guard"))
        );
    }
}

/// Each arm's counters carry the latency histogram's cumulative counts and
/// their bounds, so a client can take the latency between two reads (the
/// web page's per-interval p95).
#[tokio::test]
async fn counters_carry_the_latency_histogram() {
    use axum::routing::get;
    use flags_middleware::{FlagContext, FlagsLayer};

    let e = env();
    let app = Router::new()
        .route(
            "/p",
            get(|f: FlagContext| async move { f.is_enabled("ai_recommendations").to_string() }),
        )
        .layer(
            FlagsLayer::new(e.flags.clone())
                .user_header("x-user-id")
                .unwrap(),
        )
        .merge(e.app.clone());
    let read = |app: Router| async move {
        let (s, body, _) = call(
            &app,
            Method::GET,
            "/admin/flags/ai_recommendations",
            Some(READ),
            None,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        body["flag"]["counters"].clone()
    };
    for user in ["user_123", "user_456", "ann"] {
        let req = Request::get("/p").header("x-user-id", user);
        app.clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
    }
    let counters = read(app.clone()).await;
    for (arm, want) in [("on", 2), ("off", 1)] {
        let c = &counters[arm];
        assert_eq!(c["requests"], want, "{counters}");
        let buckets: Vec<u64> = serde_json::from_value(c["latency_buckets"].clone()).unwrap();
        let bounds: Vec<u64> = serde_json::from_value(c["latency_bounds_ms"].clone()).unwrap();
        assert_eq!(buckets.len(), bounds.len() + 1, "one overflow bucket");
        assert_eq!(buckets.iter().sum::<u64>(), want, "{arm}: {buckets:?}");
        assert!(bounds.windows(2).all(|w| w[0] < w[1]), "{bounds:?}");
    }
}
