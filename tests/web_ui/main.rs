//! The admin web page in a real browser: headless Chromium, driven through
//! chromedriver (WebDriver), against the checkout example's router on a
//! loopback port. What the page did is checked from outside, over HTTP and
//! in the flags file.

mod browser;
#[path = "../loopback.rs"]
mod loopback;
mod pages;
mod screens;
mod served;
mod service;
mod workflows;

use browser::{Browser, Driver};
use service::{Service, READ_TOKEN, WRITE_TOKEN};

/// One browser at a time: the machine is small, and timings stay fair.
pub(crate) static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The usual start: the browser lock, a fresh checkout service, and a light
/// browser signed in with `token`. Bind all four (`let (_one, _driver, svc,
/// b) = ...`): they drop in reverse, the lock last.
pub(crate) async fn signed_in(
    token: &str,
) -> (
    tokio::sync::MutexGuard<'static, ()>,
    Driver,
    Service,
    Browser,
) {
    let one = ONE_BROWSER.lock().await;
    let svc = Service::checkout("").await;
    let driver = Driver::start();
    let b = driver.browser(false).await;
    b.sign_in(&svc.page(), token).await;
    (one, driver, svc, b)
}

const KILL: &str = r#"tr[data-flag="new_checkout_flow"] button[data-action="kill"]"#;

#[tokio::test]
async fn a_write_token_kills_new_checkout_flow_and_the_product_endpoint_serves_legacy() {
    let _one = ONE_BROWSER.lock().await;
    let svc = Service::checkout("").await;
    let mut chosen = Vec::new();
    for i in 0..200 {
        let user = format!("user_{i}");
        if svc.checkout_for(&user).await == "new" {
            chosen.push(user);
        }
    }
    assert!(!chosen.is_empty(), "the 20% rollout picks someone");

    let driver = Driver::start();
    let b = driver.browser(false).await;
    b.sign_in(&svc.page(), WRITE_TOKEN).await;
    b.find(KILL).await.click().await.unwrap();
    let title = b.text("#dialog-title").await;
    assert!(title.contains("new_checkout_flow"), "{title}");
    let confirm = b.text("#dialog-confirm").await;
    assert_eq!(confirm, "Kill new_checkout_flow");
    b.find("#dialog-confirm").await.click().await.unwrap();
    b.until(
        "the row to say killed",
        r#"document.querySelector('tr[data-flag="new_checkout_flow"] .state').textContent === 'killed'"#,
    )
    .await;

    for user in &chosen {
        assert_eq!(svc.checkout_for(user).await, "legacy", "{user}");
    }
    let (_, audit) = svc.admin(WRITE_TOKEN, "GET", "/_audit?limit=1", "").await;
    let newest = &audit["entries"][0];
    assert_eq!(newest["action"], "kill");
    assert_eq!(newest["actor"], "ops");
    assert_eq!(newest["flag"], "new_checkout_flow");
    b.close().await;
}

#[tokio::test]
async fn a_rollout_set_on_the_page_reaches_the_file_and_the_audit_log() {
    let (_one, _driver, svc, b) = signed_in(WRITE_TOKEN).await;
    b.find(r#"tr[data-flag="new_checkout_flow"] button[data-action="rollout"]"#)
        .await
        .click()
        .await
        .unwrap();

    // A bad value: the API's field error shows in the dialog, which stays.
    let input = b.find("#rollout-percent").await;
    input.clear().await.unwrap();
    input.send_keys("150").await.unwrap();
    b.find("#dialog-confirm").await.click().await.unwrap();
    let error = b
        .until(
            "the field error",
            "document.getElementById('dialog-error').textContent",
        )
        .await;
    let error = error.as_str().unwrap();
    assert!(
        error.contains("percent") && error.contains("between 0 and 100"),
        "{error}"
    );
    assert_eq!(
        b.js("return document.getElementById('dialog').open").await,
        true
    );
    assert!(std::fs::read_to_string(&svc.file)
        .unwrap()
        .contains("rollout = 20"));

    input.clear().await.unwrap();
    input.send_keys("25").await.unwrap();
    b.find("#dialog-confirm").await.click().await.unwrap();
    b.until(
        "the row to show 25%",
        r#"!document.getElementById('dialog').open && document.querySelector('tr[data-flag="new_checkout_flow"] td[data-label="Rollout"]').textContent === '25%'"#,
    )
    .await;

    let file = std::fs::read_to_string(&svc.file).unwrap();
    let table = file.split("[new_checkout_flow]").nth(1).unwrap();
    assert!(table.contains("rollout = 25"), "{file}");
    let (_, audit) = svc.admin(WRITE_TOKEN, "GET", "/_audit?limit=1", "").await;
    let newest = &audit["entries"][0];
    assert_eq!(newest["action"], "rollout 25%");
    assert_eq!(newest["actor"], "ops");
    assert_eq!(newest["flag"], "new_checkout_flow");
    assert_eq!(
        newest["after"]["strategies"][0]["parameters"]["rollout"],
        "25"
    );
    b.close().await;
}

#[tokio::test]
async fn a_read_token_sees_every_write_control_disabled_and_a_direct_write_is_forbidden() {
    let (_one, _driver, svc, b) = signed_in(READ_TOKEN).await;
    b.find(KILL).await;
    pages::assert_write_controls_disabled(&b, "#flag-rows button", 15).await;

    b.goto(&format!("{}_ui/#/flag/new_checkout_flow", svc.page()))
        .await;
    b.find("#toml").await;
    pages::assert_write_controls_disabled(&b, "main .toolbar button", 3).await;

    let (status, body) = svc
        .admin(READ_TOKEN, "POST", "/new_checkout_flow/kill", "")
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        svc.flags
            .snapshot()
            .feature("new_checkout_flow")
            .unwrap()
            .enabled
    );
    b.close().await;
}

#[tokio::test]
async fn markup_in_a_description_shows_as_text_and_runs_nothing() {
    let _one = ONE_BROWSER.lock().await;
    let payload = "<img src=x onerror=alert(1)>";
    let svc = Service::checkout("").await;
    let body = serde_json::json!({ "name": "xss_probe", "description": payload, "rollout": 5 });
    let (status, resp) = svc.admin(WRITE_TOKEN, "POST", "/", &body.to_string()).await;
    assert_eq!(status, 201, "{resp}");

    let driver = Driver::start();
    let b = driver.browser(false).await;
    b.sign_in(&svc.page(), WRITE_TOKEN).await;
    let desc = b.text(r#"tr[data-flag="xss_probe"] .desc"#).await;
    assert_eq!(desc, payload);
    pages::assert_no_markup_ran(&b).await;

    b.goto(&format!("{}_ui/#/flag/xss_probe", svc.page())).await;
    b.until(
        "the definition",
        "document.getElementById('toml').textContent",
    )
    .await;
    assert_eq!(b.text("main .desc").await, payload);
    assert!(b.text("#toml").await.contains(payload));
    pages::assert_no_markup_ran(&b).await;
    b.close().await;
}

/// Opens the kill dialog of `new_checkout_flow`, has someone else `PUT`
/// `body` to `path` while it is open, then confirms.
async fn confirm_kill_after(svc: &Service, b: &browser::Browser, path: &str, body: &str) {
    b.find(KILL).await.click().await.unwrap();
    b.find("#dialog-confirm").await;
    let (status, _) = svc.admin(WRITE_TOKEN, "PUT", path, body).await;
    assert_eq!(status, 200);
    b.find("#dialog-confirm").await.click().await.unwrap();
}

/// Another flag's change while a dialog is open is no conflict: the write
/// goes through against the newer version, with no notice.
#[tokio::test]
async fn another_flags_change_while_a_dialog_is_open_does_not_stop_the_write() {
    let (_one, _driver, svc, b) = signed_in(WRITE_TOKEN).await;
    // Someone else changes another flag while the dialog is open.
    confirm_kill_after(
        &svc,
        &b,
        "/ai_recommendations/users",
        r#"{"users": ["user_9"]}"#,
    )
    .await;
    b.until(
        "the kill",
        r#"document.querySelector('tr[data-flag="new_checkout_flow"] .state').textContent === 'killed'"#,
    )
    .await;
    assert!(
        !svc.flags
            .snapshot()
            .feature("new_checkout_flow")
            .unwrap()
            .enabled
    );
    let notice = b
        .js("return document.getElementById('notice').textContent")
        .await;
    assert!(
        !notice
            .as_str()
            .unwrap_or("")
            .contains("changed by someone else"),
        "{notice}"
    );
    b.close().await;
}

#[tokio::test]
async fn a_change_by_someone_else_while_a_dialog_is_open_is_reported_and_reloaded() {
    let (_one, _driver, svc, b) = signed_in(WRITE_TOKEN).await;
    // Someone else moves the same flag on while the dialog is open.
    confirm_kill_after(&svc, &b, "/new_checkout_flow/rollout", r#"{"percent": 30}"#).await;
    let notice = b
        .until(
            "the 412 notice",
            "document.getElementById('notice').textContent",
        )
        .await;
    assert!(
        notice.as_str().unwrap().contains("changed by someone else"),
        "{notice}"
    );
    assert!(
        svc.flags
            .snapshot()
            .feature("new_checkout_flow")
            .unwrap()
            .enabled
    );
    // The flag was reloaded: it shows the other change, and a retry works.
    b.until(
        "the reloaded rollout",
        r#"document.querySelector('tr[data-flag="new_checkout_flow"] td[data-label="Rollout"]').textContent === '30%'"#,
    )
    .await;
    b.find(KILL).await.click().await.unwrap();
    b.find("#dialog-confirm").await.click().await.unwrap();
    b.until(
        "the kill on retry",
        r#"document.querySelector('tr[data-flag="new_checkout_flow"] .state').textContent === 'killed'"#,
    )
    .await;
    assert!(
        !svc.flags
            .snapshot()
            .feature("new_checkout_flow")
            .unwrap()
            .enabled
    );
    b.close().await;
}

#[tokio::test]
async fn a_thousand_flags_render_and_the_page_weighs_under_100_kb() {
    let _one = ONE_BROWSER.lock().await;
    let mut toml = String::new();
    for i in 0..1000 {
        toml.push_str(&format!(
            "[flag_{i:04}]\ndescription = \"Flag number {i}\"\nrollout = {}\n\n",
            i % 101
        ));
    }
    let svc = Service::admin_only(&toml).await;
    let driver = Driver::start();
    let b = driver.browser(false).await;
    b.sign_in(&svc.page(), WRITE_TOKEN).await;
    b.until(
        "1,000 rows",
        "document.querySelectorAll('#flag-rows tr').length === 1000",
    )
    .await;
    let ms = b
        .until("the render figure", "document.body.dataset.listRenderMs")
        .await;
    let built = b.js("return document.body.dataset.listBuildMs").await;
    eprintln!(
        "web ui: the list rendered 1,000 flags in {} ms (DOM built in {} ms, the rest is layout; headless Chromium)",
        ms.as_str().unwrap(),
        built.as_str().unwrap_or("?")
    );

    let weight = pages::static_transfer(&b).await;
    eprintln!(
        "web ui: the page's files weigh {} bytes uncompressed, in {} responses",
        weight.bytes, weight.files
    );
    assert!(weight.files >= 10, "{weight:?}");
    assert!(weight.bytes <= 100 * 1024, "{weight:?}");

    b.find("#filter").await.send_keys("flag_099").await.unwrap();
    b.until(
        "the filter",
        "document.querySelectorAll('#flag-rows tr:not([hidden])').length === 10",
    )
    .await;
    b.close().await;
}
